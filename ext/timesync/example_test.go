package timesync_test

import (
	"context"
	"fmt"
	"time"

	"github.com/bayeux-go/sdk/bayeux"
	"github.com/bayeux-go/sdk/bayeux/bayeuxtest"
	"github.com/bayeux-go/sdk/ext/timesync"
	"github.com/bayeux-go/sdk/transport/longpoll"
)

// Estimating the clock offset of a server that runs one hour ahead.
func Example() {
	srv := bayeuxtest.NewServer(
		bayeuxtest.WithExtension(bayeuxtest.NewTimesync(time.Hour)),
		bayeuxtest.WithTimeout(20*time.Millisecond))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	ts := timesync.New()
	c, err := bayeux.NewClient(srv.URL, bayeux.WithHTTPClient(srv.Client()),
		bayeux.WithTransports(longpoll.New()), bayeux.WithExtensions(ts))
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := c.Connect(ctx); err != nil {
		fmt.Println(err)
		return
	}
	defer func() { _ = c.Disconnect(ctx) }()
	for ts.Samples() < 3 && ctx.Err() == nil {
		time.Sleep(10 * time.Millisecond)
	}
	fmt.Println("offset:", ts.Offset().Round(time.Minute))
	// Output:
	// offset: 1h0m0s
}
