package bayeux_test

import (
	"errors"
	"fmt"

	"github.com/bayeux-go/sdk/bayeux"
)

// Telling Salesforce's denials apart: the real reason of a
// "403::Handshake denied" is in ext.sfdc.failureReason, which the
// *ServerError keeps and matches against ErrAuthentication,
// ErrConcurrentClientLimit and ErrDailyLimit.
func ExampleServerError_salesforce() {
	reply := bayeux.Message{Channel: bayeux.MetaHandshake, Error: "403::Handshake denied",
		Advice: &bayeux.Advice{Reconnect: bayeux.ReconnectNone},
		Ext:    map[string]any{"sfdc": map[string]any{"failureReason": "403::Organization concurrent user limit exceeded"}}}
	reply.SetSuccessful(false)
	var err error = bayeux.NewServerError(bayeux.ErrHandshakeDenied, reply)

	fmt.Println(err)
	fmt.Println(errors.Is(err, bayeux.ErrConcurrentClientLimit), errors.Is(err, bayeux.ErrAuthentication))
	fmt.Println(bayeux.IsAuthenticationFailure(reply))
	// Output:
	// bayeux: handshake denied on /meta/handshake: "403::Handshake denied" (failure reason "403::Organization concurrent user limit exceeded") (advice reconnect=none)
	// true false
	// false
}

// A Salesforce filtered PushTopic channel may be subscribed to; a query on
// another channel is refused before anything is sent.
func ExampleChannel_ValidateSubscription() {
	fmt.Println(bayeux.Channel("/topic/Orders?Status__c=Open").ValidateSubscription())
	fmt.Println(bayeux.Channel("/topic/Orders?Status__c=Open").Base())
	fmt.Println(bayeux.Channel("/event/Order__e?Status__c=Open").ValidateSubscription())
	// Output:
	// <nil>
	// /topic/Orders
	// bayeux: invalid channel "/event/Order__e?Status__c=Open": a query (?...) is allowed only on a /topic/ channel (a Salesforce filtered PushTopic channel)
}
