package ack_test

import (
	"context"
	"fmt"
	"time"

	"github.com/bayeux-go/sdk/bayeux"
	"github.com/bayeux-go/sdk/bayeux/bayeuxtest"
	"github.com/bayeux-go/sdk/ext/ack"
	"github.com/bayeux-go/sdk/transport/longpoll"
)

// A client with the acknowledgement extension, against a server that
// supports it: the response carrying a message is torn on the way, and the
// server sends the message again.
func Example() {
	srv := bayeuxtest.NewServer(bayeuxtest.WithAckExtension(true))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	ext := ack.New()
	c, err := bayeux.NewClient(srv.URL,
		bayeux.WithHTTPClient(srv.Client()),
		bayeux.WithTransports(longpoll.New()),
		bayeux.WithBackoff(10*time.Millisecond, 100*time.Millisecond),
		bayeux.WithExtensions(ext))
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := c.Connect(ctx); err != nil {
		fmt.Println(err)
		return
	}
	defer func() { _ = c.Disconnect(ctx) }()
	got := make(chan string, 1)
	if _, err := c.Subscribe(ctx, "/news", func(m bayeux.Message) { got <- string(m.Data) }); err != nil {
		fmt.Println(err)
		return
	}
	// The next /meta/connect response is lost after the server took the
	// message for it.
	_ = srv.WaitHeld(ctx, 1)
	srv.InjectFault(bayeuxtest.Fault{Channel: bayeux.MetaConnect, Tear: true, Process: true})
	_ = srv.Publish("/news", "wake up")
	fmt.Println(<-got)
	_ = srv.WaitFor(ctx, func(s *bayeuxtest.Server) bool { return s.PendingFaults() == 0 && s.HeldConnects() == 1 })
	_ = srv.Publish("/news", "hello")
	fmt.Println(<-got, ext.Enabled())
	// Output:
	// "wake up"
	// "hello" true
}
