package longpoll_test

import (
	"testing"

	"github.com/bayeux-go/sdk/bayeux"
	"github.com/bayeux-go/sdk/transport/longpoll"
	"github.com/bayeux-go/sdk/transport/transporttest"
)

// The transport keeps the contract of bayeux.Transport.
func TestTransportContract(t *testing.T) {
	transporttest.Run(t, func() bayeux.Transport { return longpoll.New() })
}
