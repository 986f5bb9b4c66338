package callbackpoll_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/bayeux-go/sdk/bayeux"
	"github.com/bayeux-go/sdk/bayeux/bayeuxtest"
	"github.com/bayeux-go/sdk/transport/callbackpoll"
)

// End to end with the session Client: connect, subscribe, publish, receive,
// disconnect, over callback-polling (goleak in TestMain checks that nothing
// outlives Disconnect).
func TestClientEndToEnd(t *testing.T) {
	srv := bayeuxtest.NewServer(bayeuxtest.WithTimeout(time.Second))
	defer srv.Close()
	c, err := bayeux.NewClient(srv.URL, bayeux.WithHTTPClient(srv.Client()), bayeux.WithTransports(callbackpoll.New()))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	defer c.Disconnect(context.Background())
	got := make(chan bayeux.Message, 1)
	if _, err := c.Subscribe(ctx, "/orders/*", func(m bayeux.Message) { got <- m }); err != nil {
		t.Fatal(err)
	}
	if err := c.Publish(ctx, "/orders/new", map[string]int{"n": 7}); err != nil {
		t.Fatal(err)
	}
	select {
	case m := <-got:
		var v struct{ N int }
		if err := json.Unmarshal(m.Data, &v); err != nil || m.Channel != "/orders/new" || v.N != 7 {
			t.Fatalf("received %+v (%v)", m, err)
		}
	case <-ctx.Done():
		t.Fatal("event not received")
	}
	if err := c.Disconnect(ctx); err != nil {
		t.Fatal(err)
	}
}
