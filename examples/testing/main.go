package main

import (
	"context"
	"fmt"
	"io"
	"log"

	"github.com/bayeux-go/sdk/bayeux"
	"github.com/bayeux-go/sdk/examples/internal/runner"
	"github.com/bayeux-go/sdk/transport/longpoll"
)

func main() { runner.Main(run) }

// run starts a greeter and asks it for a greeting from a second client.
func run(ctx context.Context, url string, out io.Writer) error {
	var clients [2]*bayeux.Client
	for i := range clients {
		c, err := bayeux.NewClient(url, bayeux.WithTransports(longpoll.New()))
		if err != nil {
			return err
		}
		if err := c.Connect(ctx); err != nil {
			return err
		}
		defer c.Disconnect(ctx)
		clients[i] = c
	}
	if _, err := StartGreeter(ctx, clients[0], func(err error) { log.Print(err) }); err != nil {
		return err
	}
	replies, err := clients[1].Subscribe(ctx, Replies, nil)
	if err != nil {
		return err
	}
	if err := clients[1].Publish(ctx, Requests, Request{Name: "gopher"}); err != nil {
		return err
	}
	m, err := replies.Next(ctx)
	if err != nil {
		return err
	}
	var r Reply
	if err := m.Decode(&r); err != nil {
		return err
	}
	fmt.Fprintln(out, r.Greeting)
	return nil
}
