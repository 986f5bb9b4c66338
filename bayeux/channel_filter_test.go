package bayeux_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/bayeux-go/sdk/bayeux"
	"github.com/bayeux-go/sdk/bayeux/bayeuxtest"
)

// ValidateSubscription accepts Salesforce's filtered PushTopic channels
// and refuses a query anywhere else, with a reason; Validate, the Bayeux
// grammar, refuses every query.
func TestValidateSubscriptionFilteredTopics(t *testing.T) {
	for ch, reason := range map[bayeux.Channel]string{
		"/topic/Orders?Status__c=Open":          "",
		"/topic/Orders?Status__c=Open&Type=New": "",
		"/topic/Orders":                         "",
		"/event/Order__e":                       "",
		"/a/**":                                 "",
		"/event/Order__e?Status__c=Open":        "only on a /topic/ channel",
		"/topic/*?Status__c=Open":               "wildcard",
		"/topic/Orders?":                        "empty query",
		"/topic/Orders?a=\x01":                  "invalid character 0x01",
		"/topic//Orders?a=b":                    "empty segment",
	} {
		err := ch.ValidateSubscription()
		switch {
		case reason == "" && err != nil:
			t.Errorf("ValidateSubscription(%q) = %v, want nil", ch, err)
		case reason != "" && (!errors.Is(err, bayeux.ErrBadChannel) || !strings.Contains(err.Error(), reason)):
			t.Errorf("ValidateSubscription(%q) = %v, want an ErrBadChannel saying %q", ch, err, reason)
		}
		if strings.Contains(string(ch), "?") && ch.Validate() == nil {
			t.Errorf("Validate(%q) accepted a query", ch)
		}
	}
	if b := bayeux.Channel("/topic/Orders?Status__c=Open").Base(); b != "/topic/Orders" {
		t.Errorf("Base = %q", b)
	}
}

// Subscribe sends a filtered PushTopic channel as it is: a server that is
// not Salesforce-like refuses it (bayeuxtest by default: 405 Invalid
// channel); a Salesforce-like one (bayeuxtest with bearer auth) accepts it
// and delivers the matching events on it. A query on another channel
// never leaves the client.
func TestSubscribeFilteredTopic(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	const filtered bayeux.Channel = "/topic/Orders?Status__c=Open"
	connect := func(srv *bayeuxtest.Server, opts ...bayeux.Option) *bayeux.Client {
		c, err := bayeux.NewClient(srv.URL, opts...)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Connect(ctx); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.Disconnect(context.Background()) })
		return c
	}

	plain := bayeuxtest.NewServer()
	defer plain.Close()
	c := connect(plain)
	if _, err := c.Subscribe(ctx, filtered, nil); !errors.Is(err, bayeux.ErrSubscriptionDenied) {
		t.Errorf("a plain Bayeux server: Subscribe = %v, want its denial", err)
	}
	if _, err := c.Subscribe(ctx, "/event/Order__e?Status__c=Open", nil); !errors.Is(err, bayeux.ErrBadChannel) {
		t.Errorf("a query on an /event/ channel: Subscribe = %v, want ErrBadChannel", err)
	}

	tokens := bayeuxtest.NewTokens()
	tok := tokens.Issue(0)
	sf := bayeuxtest.NewServer(bayeuxtest.WithBearerAuth(tokens.Valid, bayeuxtest.AuthBayeuxError))
	defer sf.Close()
	c = connect(sf, bayeux.WithHeader("Authorization", "Bearer "+tok))
	got := make(chan bayeux.Message, 4)
	if _, err := c.Subscribe(ctx, filtered, func(m bayeux.Message) { got <- m }); err != nil {
		t.Fatalf("a Salesforce-like server: Subscribe = %v", err)
	}
	for _, status := range []string{"Closed", "Open"} {
		if err := sf.Publish("/topic/Orders", map[string]any{"sobject": map[string]any{"Status__c": status}}); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case m := <-got:
		if m.Channel != filtered || !strings.Contains(string(m.Data), `"Open"`) {
			t.Fatalf("got %s on %s, want the Open order on %s", m.Data, m.Channel, filtered)
		}
	case <-ctx.Done():
		t.Fatal("no event on the filtered channel")
	}
}

// FuzzValidateSubscription: ValidateSubscription never panics, fails with
// an *InvalidChannelError for c, agrees with Validate on channels without
// a query, and accepts a query only after a valid /topic/ name.
func FuzzValidateSubscription(f *testing.F) {
	for _, s := range []string{"/topic/Orders?Status__c=Open", "/topic/A?a=b&c=d", "/topic/A?", "/topic/*?a=b",
		"/event/A?a=b", "/a/b", "?", "/topic/?a", "/topic/A??", "/topic/A?\x00", "/topic/A/B?x=y"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c := bayeux.Channel(s)
		err := c.ValidateSubscription()
		if err != nil {
			var ice *bayeux.InvalidChannelError
			if !errors.As(err, &ice) || !errors.Is(err, bayeux.ErrBadChannel) || ice.Channel != c {
				t.Fatalf("ValidateSubscription(%q) = %#v, want an *InvalidChannelError", s, err)
			}
		}
		base := c.Base()
		if base == c {
			if (err == nil) != (c.Validate() == nil) {
				t.Fatalf("%q without a query: ValidateSubscription %v, Validate %v", s, err, c.Validate())
			}
			return
		}
		if err == nil && (!strings.HasPrefix(string(base), bayeux.TopicPrefix) || base.Validate() != nil || base.HasWildcard()) {
			t.Fatalf("ValidateSubscription accepted %q, whose base %q is no /topic/ channel name", s, base)
		}
	})
}
