package callbackpoll_test

import (
	"testing"

	"github.com/bayeux-go/sdk/bayeux"
	"github.com/bayeux-go/sdk/transport/callbackpoll"
	"github.com/bayeux-go/sdk/transport/transporttest"
)

// The transport keeps the contract of bayeux.Transport.
func TestTransportContract(t *testing.T) {
	transporttest.Run(t, func() bayeux.Transport { return callbackpoll.New() })
}
