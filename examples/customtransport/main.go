package main

import (
	"context"
	"fmt"
	"io"
	"sync"

	"github.com/bayeux-go/sdk/bayeux"
	"github.com/bayeux-go/sdk/examples/internal/runner"
)

func main() { runner.Main(run) }

func run(ctx context.Context, url string, out io.Writer) error {
	// Print each batch but the /meta/connect ones, whose number depends on
	// timing.
	var mu sync.Mutex
	trace := func(chs []bayeux.Channel) {
		if len(chs) == 1 && chs[0] == bayeux.MetaConnect {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintln(out, "sent", chs)
	}
	c, err := bayeux.NewClient(url, bayeux.WithTransports(&plainPoll{trace: trace}))
	if err != nil {
		return err
	}
	if err := c.Connect(ctx); err != nil {
		return err
	}
	defer c.Disconnect(ctx)

	got := make(chan bayeux.Message, 1)
	if _, err := c.Subscribe(ctx, "/custom", func(m bayeux.Message) { got <- m }); err != nil {
		return err
	}
	if err := c.Publish(ctx, "/custom", "carried by plainPoll"); err != nil {
		return err
	}
	select {
	case m := <-got:
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(out, "received %s on %s over %s\n", m.Data, m.Channel, c.TransportName())
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
