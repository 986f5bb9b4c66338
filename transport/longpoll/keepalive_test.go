package longpoll_test

import (
	"context"
	"log/slog"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/bayeux-go/sdk/bayeux"
	"github.com/bayeux-go/sdk/internal/closingserver"
	"github.com/bayeux-go/sdk/internal/logtest"
	"github.com/bayeux-go/sdk/transport/longpoll"
)

// A server that closes kept-alive connections right after a response
// (without "Connection: close", as Ruby Faye under puma does): 2,000
// back-to-back publishes all succeed, each processed once, with publishes
// at-most-once. One that closes a connection when the next request
// arrives: with at-least-once publishes, all succeed, each processed once;
// at-most-once, those whose fate is unknown fail, none is processed twice.
func TestBackToBackPublishesToClosingServer(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err := closingserver.BackToBack(ctx, 2000, func(c *http.Client, resend bool) (bayeux.Transport, error) {
		tr := longpoll.New()
		return tr, tr.Init(bayeux.TransportConfig{HTTPClient: c, Logger: slog.New(slog.DiscardHandler), ResendPublishes: resend})
	})
	if err != nil {
		t.Fatal(err)
	}
}

// A publish re-sent on a fresh connection (at-least-once publishes) is
// logged at Debug, marked as
// not a /meta/connect, so that a user (and the chaos runs) can tell a
// re-sent publish, which may be delivered twice, from a re-sent connect.
func TestResentPublishIsLogged(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	srv, err := closingserver.Start(closingserver.CloseOnReuse)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	c := &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
	defer c.CloseIdleConnections()
	var mu sync.Mutex
	var resent []bool // the "connect" attribute of each record
	h := logtest.Func(func(r slog.Record) {
		if r.Message != "bayeux: request re-sent on a fresh connection after a stale kept-alive connection" {
			return
		}
		v, ok := logtest.Attr(r, "connect")
		mu.Lock()
		resent = append(resent, !ok || v.Bool())
		mu.Unlock()
	})
	tr := longpoll.New()
	defer tr.Close()
	if err := tr.Init(bayeux.TransportConfig{HTTPClient: c, Logger: slog.New(h), ResendPublishes: true}); err != nil {
		t.Fatal(err)
	}
	if err := srv.PublishBackToBack(ctx, tr, 20); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(resent) == 0 {
		t.Fatal("no re-sent publish logged")
	}
	for i, connect := range resent {
		if connect {
			t.Errorf("record %d: connect=true for a publish", i)
		}
	}
}
