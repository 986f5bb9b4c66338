package loadgen_test

import (
	"context"
	"fmt"
	"time"

	"github.com/bayeux-go/sdk/bayeux/bayeuxtest"
	"github.com/bayeux-go/sdk/bench/loadgen"
)

// Run a small load against an in-process bayeuxtest server: 4 clients in
// 2 rooms, 100 messages per second for half a second.
func ExampleRun() {
	srv := bayeuxtest.NewServer(bayeuxtest.WithReceivedLimit(-1))
	defer srv.Close()
	res, err := loadgen.Run(context.Background(), loadgen.Config{
		URL: srv.URL, Transport: loadgen.LongPolling, Clients: 4, Rooms: 2,
		Rate: 100, Duration: 500 * time.Millisecond,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("every message delivered:", res.OK(), res.Received == 2*res.Sent)
	// Output: every message delivered: true true
}
