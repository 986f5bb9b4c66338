package bayeux_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/bayeux-go/sdk/bayeux"
	"github.com/bayeux-go/sdk/bayeux/bayeuxtest"
	"github.com/bayeux-go/sdk/transport/longpoll"
)

// A client subscribes, publishes and receives its own message.
func ExampleClient() {
	srv := bayeuxtest.NewServer()
	defer srv.Close()

	c, err := bayeux.NewClient(srv.URL, bayeux.WithTransports(longpoll.New()))
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	if err := c.Connect(ctx); err != nil {
		panic(err)
	}
	defer c.Disconnect(ctx)

	got := make(chan bayeux.Message, 1)
	if _, err := c.Subscribe(ctx, "/greetings/*", func(m bayeux.Message) { got <- m }); err != nil {
		panic(err)
	}
	if err := c.Publish(ctx, "/greetings/world", "hello"); err != nil {
		panic(err)
	}
	m := <-got
	fmt.Println(m.Channel, string(m.Data))
	// Output: /greetings/world "hello"
}

// Errors keep what the server said and match sentinels.
func ExampleServerError() {
	srv := bayeuxtest.NewServer(bayeuxtest.WithExtension(bayeuxtest.ExtensionFuncs{
		In: func(m *bayeux.Message) {
			if m.Channel == "/admin" {
				m.Error = "403::Publish denied"
			}
		},
	}))
	defer srv.Close()
	c, _ := bayeux.NewClient(srv.URL, bayeux.WithTransports(longpoll.New()))
	ctx := context.Background()
	if err := c.Connect(ctx); err != nil {
		panic(err)
	}
	defer c.Disconnect(ctx)

	err := c.Publish(ctx, "/admin", "x")
	var se *bayeux.ServerError
	fmt.Println(errors.Is(err, bayeux.ErrPublishDenied), errors.As(err, &se), se.Code, se.Message)
	// Output: true true 403 Publish denied
}

// A pull-mode subscription is read with an iterator.
func ExampleSubscription_All() {
	srv := bayeuxtest.NewServer()
	defer srv.Close()
	c, _ := bayeux.NewClient(srv.URL, bayeux.WithTransports(longpoll.New()))
	ctx := context.Background()
	if err := c.Connect(ctx); err != nil {
		panic(err)
	}
	defer c.Disconnect(ctx)

	sub, err := c.Subscribe(ctx, "/numbers", nil)
	if err != nil {
		panic(err)
	}
	_ = c.Batch().Publish("/numbers", 1).Publish("/numbers", 2).Publish("/numbers", 3).Send(ctx)
	n := 0
	for m := range sub.All(ctx) {
		fmt.Print(string(m.Data), " ")
		if n++; n == 3 {
			break
		}
	}
	fmt.Println()
	// Output: 1 2 3
}
