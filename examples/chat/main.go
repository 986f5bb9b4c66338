package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/bayeux-go/sdk/bayeux"
	"github.com/bayeux-go/sdk/examples/internal/runner"
	"github.com/bayeux-go/sdk/transport/longpoll"
	"github.com/bayeux-go/sdk/transport/websocket"
)

func main() { runner.Main(run) }

// line is what the chat sends: who says what.
type line struct {
	From string `json:"from"`
	Text string `json:"text"`
}

// person is one chat client.
type person struct {
	name  string
	c     *bayeux.Client
	heard chan line
}

// join connects name to the server at url and subscribes to the room.
func join(ctx context.Context, url, name string, t bayeux.Transport) (*person, error) {
	c, err := bayeux.NewClient(url, bayeux.WithTransports(t))
	if err != nil {
		return nil, err
	}
	if err := c.Connect(ctx); err != nil {
		return nil, err
	}
	p := &person{name: name, c: c, heard: make(chan line, 16)}
	_, err = c.Subscribe(ctx, "/chat/room", func(m bayeux.Message) {
		var l line
		if err := m.Decode(&l); err == nil && l.From != name {
			p.heard <- l // only what the others say
		}
	})
	if err != nil {
		p.leave()
		return nil, err
	}
	return p, nil
}

func (p *person) say(ctx context.Context, text string) error {
	return p.c.Publish(ctx, "/chat/room", line{From: p.name, Text: text})
}

// listen waits for the next line someone else said and prints it.
func (p *person) listen(ctx context.Context, out io.Writer) error {
	select {
	case l := <-p.heard:
		fmt.Fprintf(out, "%s hears %s: %s\n", p.name, l.From, l.Text)
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (p *person) leave() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = p.c.Disconnect(ctx)
}

func run(ctx context.Context, url string, out io.Writer) error {
	alice, err := join(ctx, url, "alice", websocket.New())
	if err != nil {
		return err
	}
	defer alice.leave()
	bob, err := join(ctx, url, "bob", longpoll.New())
	if err != nil {
		return err
	}
	defer bob.leave()
	fmt.Fprintf(out, "alice is on %s, bob on %s\n", alice.c.TransportName(), bob.c.TransportName())

	if err := alice.say(ctx, "hi bob"); err != nil {
		return err
	}
	if err := bob.listen(ctx, out); err != nil {
		return err
	}
	if err := bob.say(ctx, "hello alice"); err != nil {
		return err
	}
	return alice.listen(ctx, out)
}
