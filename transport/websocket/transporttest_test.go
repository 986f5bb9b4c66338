package websocket_test

import (
	"testing"

	"github.com/bayeux-go/sdk/bayeux"
	"github.com/bayeux-go/sdk/transport/transporttest"
	"github.com/bayeux-go/sdk/transport/websocket"
)

// The transport keeps the contract of bayeux.Transport.
func TestTransportContract(t *testing.T) {
	transporttest.Run(t, func() bayeux.Transport { return websocket.New() })
}

// It keeps it too when it hands whole frames, replies included, to
// Receive, as it does for the session Client.
func TestTransportContractReceiveReplies(t *testing.T) {
	transporttest.Run(t, func() bayeux.Transport { return websocket.New() }, transporttest.WithReceiveReplies())
}
