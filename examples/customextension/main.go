package main

import (
	"context"
	"fmt"
	"io"

	"github.com/bayeux-go/sdk/bayeux"
	"github.com/bayeux-go/sdk/examples/internal/runner"
	"github.com/bayeux-go/sdk/transport/longpoll"
)

func main() { runner.Main(run) }

func run(ctx context.Context, url string, out io.Writer) error {
	producer, err := bayeux.NewClient(url, bayeux.WithTransports(longpoll.New()),
		bayeux.WithExtensions(&tracer{prefix: "producer"}))
	if err != nil {
		return err
	}
	consumer, err := bayeux.NewClient(url, bayeux.WithTransports(longpoll.New()))
	if err != nil {
		return err
	}
	for _, c := range []*bayeux.Client{producer, consumer} {
		if err := c.Connect(ctx); err != nil {
			return err
		}
		defer c.Disconnect(ctx)
	}
	// The consumer has no tracer: the trace ids travel in the messages.
	sub, err := consumer.Subscribe(ctx, "/orders", nil)
	if err != nil {
		return err
	}
	for _, order := range []string{"tea", "cake"} {
		if err := producer.Publish(ctx, "/orders", order); err != nil {
			return err
		}
	}
	for range 2 {
		m, err := sub.Next(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "order %s, trace %s\n", m.Data, traceOf(m))
	}
	return nil
}
