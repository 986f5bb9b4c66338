package auth_test

import (
	"context"
	"fmt"
	"time"

	"github.com/bayeux-go/sdk/bayeux"
	"github.com/bayeux-go/sdk/bayeux/bayeuxtest"
	"github.com/bayeux-go/sdk/ext/auth"
	"github.com/bayeux-go/sdk/transport/longpoll"
)

// A client whose token is revoked in the middle of its session gets a new
// one from its source and carries on.
func Example() {
	tokens := bayeuxtest.NewTokens()
	srv := bayeuxtest.NewServer(bayeuxtest.WithBearerAuth(tokens.Valid, bayeuxtest.AuthBayeuxError))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	// A source asking an OAuth server for a token; here, bayeuxtest's.
	src := auth.TokenSourceFunc(func() (*auth.Token, error) {
		return &auth.Token{AccessToken: tokens.Issue(0)}, nil
	})
	c, err := bayeux.NewClient(srv.URL,
		bayeux.WithTransports(longpoll.New()),
		bayeux.WithBackoff(10*time.Millisecond, 100*time.Millisecond),
		bayeux.WithExtensions(auth.New(src)))
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := c.Connect(ctx); err != nil {
		fmt.Println(err)
		return
	}
	defer func() { _ = c.Disconnect(ctx) }()

	tokens.ExpireAll() // the session's token is revoked
	for c.Publish(ctx, "/news", "hello") != nil && ctx.Err() == nil {
		time.Sleep(20 * time.Millisecond) // refused until the client re-handshakes
	}
	fmt.Println("published with a new token:", tokens.Issued() > 1)
	// Output: published with a new token: true
}
