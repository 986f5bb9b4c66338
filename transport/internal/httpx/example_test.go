package httpx_test

import (
	"fmt"

	"github.com/bayeux-go/sdk/bayeux"
	"github.com/bayeux-go/sdk/transport/internal/httpx"
)

func ExampleRetryable() {
	connect := []bayeux.Message{{Channel: bayeux.MetaConnect}}
	publish := []bayeux.Message{{Channel: bayeux.MetaSubscribe}, {Channel: "/chat"}}
	fmt.Println(httpx.Retryable(connect), httpx.LaneOf(connect))
	fmt.Println(httpx.Retryable(publish), httpx.LaneOf(publish))
	// Output:
	// true 1
	// false 0
}
