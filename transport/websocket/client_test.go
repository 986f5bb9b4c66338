package websocket_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/bayeux-go/sdk/bayeux"
	"github.com/bayeux-go/sdk/bayeux/bayeuxtest"
	"github.com/bayeux-go/sdk/transport/websocket"
)

// End-to-end: the session Client over the websocket transport, against the
// in-process server.

func TestClientOverWebSocket(t *testing.T) {
	srv := bayeuxtest.NewServer(bayeuxtest.WithTimeout(500 * time.Millisecond))
	defer srv.Close()
	c, err := bayeux.NewClient(srv.URL, bayeux.WithTransports(websocket.New()))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := c.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	if got := c.TransportName(); got != "websocket" {
		t.Fatalf("transport %q", got)
	}
	got := make(chan bayeux.Message, 4)
	sub, err := c.Subscribe(ctx, "/chat/*", func(m bayeux.Message) { got <- m })
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Publish(ctx, "/chat/room", map[string]string{"text": "hi"}); err != nil {
		t.Fatal(err)
	}
	if err := srv.Publish("/chat/other", map[string]int{"n": 1}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`{"text":"hi"}`, `{"n":1}`} {
		select {
		case m := <-got:
			var a, b any
			_ = json.Unmarshal(m.Data, &a)
			_ = json.Unmarshal([]byte(want), &b)
			if string(mustJSON(a)) != string(mustJSON(b)) {
				t.Fatalf("got %s, want %s", m.Data, want)
			}
		case <-ctx.Done():
			t.Fatal("event not delivered")
		}
	}
	// A torn connection: the client reconnects on a new websocket and the
	// session goes on. (An event published while the session's websocket
	// is down would be lost, as on real servers without the ack
	// extension: publish once the client is back.)
	if err := srv.WaitHeld(ctx, 1); err != nil {
		t.Fatal(err)
	}
	n := srv.Count(bayeux.MetaConnect)
	srv.TearWebSockets()
	err = srv.WaitFor(ctx, func(s *bayeuxtest.Server) bool {
		return s.Count(bayeux.MetaConnect) > n && s.HeldConnects() == 1 && s.WebSockets() == 1
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Publish("/chat/other", map[string]int{"n": 2}); err != nil {
		t.Fatal(err)
	}
	select {
	case m := <-got:
		if string(m.Data) != `{"n":2}` {
			t.Fatalf("after the tear: %s", m.Data)
		}
	case <-ctx.Done():
		t.Fatalf("event after the tear not delivered; state %v, %d websockets, held %d, sessions %v, received %d",
			c.State(), srv.WebSockets(), srv.HeldConnects(), srv.Sessions(), len(srv.Received()))
	}
	if err := sub.Unsubscribe(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.Disconnect(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestClientFallsBackWhenUpgradeRefused(t *testing.T) {
	srv := bayeuxtest.NewServer(bayeuxtest.WithTimeout(500 * time.Millisecond))
	defer srv.Close()
	srv.RefuseWebSocket(true)
	fallsBack(t, srv.URL, websocket.New())
}

func mustJSON(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}
