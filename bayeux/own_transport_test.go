package bayeux_test

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bayeux-go/sdk/bayeux"
	"github.com/bayeux-go/sdk/transport/longpoll"
)

// A client's own connection pool reuses its connections for requests
// sent back to back, and closes the one its publishes used once it is
// idle a few seconds: an idle session keeps the connection of its
// /meta/connect only.
func TestOwnPoolClosesIdleConnections(t *testing.T) {
	leakCheck(t)
	var opened, open atomic.Int64
	srv := httptest.NewUnstartedServer(&cookieCheckingServer{})
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		switch s {
		case http.StateNew:
			opened.Add(1)
			open.Add(1)
		case http.StateClosed, http.StateHijacked:
			open.Add(-1)
		}
	}
	srv.Start()
	defer srv.Close()
	c, err := bayeux.NewClient(srv.URL, bayeux.WithTransports(longpoll.New()))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	defer c.Disconnect(ctx)
	if err := c.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	for i := range 200 {
		if err := c.Publish(ctx, "/chat", map[string]int{"n": i}); err != nil {
			t.Fatal(err)
		}
	}
	if n := opened.Load(); n > 3 {
		t.Fatalf("%d connections opened for 200 publishes back to back, want them reused", n)
	}
	deadline := time.Now().Add(30 * time.Second)
	for open.Load() > 1 {
		if time.Now().After(deadline) {
			t.Fatalf("%d connections still open after the session went idle, want 1", open.Load())
		}
		time.Sleep(50 * time.Millisecond)
	}
}
