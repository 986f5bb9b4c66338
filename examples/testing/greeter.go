package main

import (
	"context"
	"fmt"
	"time"

	"github.com/bayeux-go/sdk/bayeux"
)

// The greeter's channels.
const (
	Requests bayeux.Channel = "/greetings/requests"
	Replies  bayeux.Channel = "/greetings/replies"
)

// Request asks for a greeting.
type Request struct {
	Name string `json:"name"`
}

// Reply is a greeting.
type Reply struct {
	Greeting string `json:"greeting"`
}

// Greeter answers each Request published on Requests with a Reply on
// Replies.
type Greeter struct {
	c       *bayeux.Client
	onError func(error)
}

// StartGreeter subscribes c, a connected client, to Requests. Failures to
// answer a request are passed to onError.
func StartGreeter(ctx context.Context, c *bayeux.Client, onError func(error)) (*Greeter, error) {
	g := &Greeter{c: c, onError: onError}
	if _, err := c.Subscribe(ctx, Requests, g.answer); err != nil {
		return nil, fmt.Errorf("greeter: %w", err)
	}
	return g, nil
}

// answer handles one request; it runs on the subscription's goroutine.
func (g *Greeter) answer(m bayeux.Message) {
	var req Request
	if err := m.Decode(&req); err != nil || req.Name == "" {
		g.onError(fmt.Errorf("greeter: bad request %s", m.Data))
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := g.c.Publish(ctx, Replies, Reply{Greeting: "hello, " + req.Name}); err != nil {
		g.onError(fmt.Errorf("greeter: reply to %s: %w", req.Name, err))
	}
}
