package websocket_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bayeux-go/sdk/bayeux"
	"github.com/bayeux-go/sdk/bayeux/bayeuxtest"
	"github.com/bayeux-go/sdk/transport/longpoll"
	"github.com/bayeux-go/sdk/transport/websocket"
	gws "github.com/gorilla/websocket"
)

// The session client over websocket against servers that misbehave
// without closing anything. (wss with the session client: reliability's
// TestTLS.)

// mount serves srv's handler through wrap on a new httptest server and
// returns the Bayeux URL on it.
func mount(t *testing.T, srv *bayeuxtest.Server, wrap func(http.Handler) http.Handler) string {
	t.Helper()
	ts := httptest.NewServer(wrap(srv.Handler()))
	t.Cleanup(ts.Close)
	return ts.URL + "/bayeux"
}

func TestClientRecoversFromSilentWebSocket(t *testing.T) {
	srv := bayeuxtest.NewServer(bayeuxtest.WithTimeout(300 * time.Millisecond))
	defer srv.Close()
	var upgrades atomic.Int32
	u := mount(t, srv, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
				upgrades.Add(1)
			}
			h.ServeHTTP(w, r)
		})
	})
	c, err := bayeux.NewClient(u, bayeux.WithTransports(websocket.New()),
		bayeux.WithMaxNetworkDelay(500*time.Millisecond), bayeux.WithBackoff(50*time.Millisecond, 200*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := c.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	got := make(chan bayeux.Message, 4)
	if _, err := c.Subscribe(ctx, "/news", func(m bayeux.Message) { got <- m }); err != nil {
		t.Fatal(err)
	}
	// Wait for a held connect: the first connect (sent alongside the
	// subscribe) is answered, so no frame is due on the socket other than
	// the held connect's answer.
	if err := srv.WaitHeld(ctx, 1); err != nil {
		t.Fatal(err)
	}
	// The next connect is held for a minute: the socket stays open, the
	// server says nothing. The client must give up on the socket at the
	// connect's deadline and go on over a new one. (Had the fault taken the
	// first connect, the subscribe's answer, read after that connect was
	// sent, would rightly show the server was not silent: no redial.)
	srv.InjectFault(bayeuxtest.Fault{Channel: bayeux.MetaConnect, Transport: "websocket", Delay: time.Minute})
	if err := srv.WaitFor(ctx, func(s *bayeuxtest.Server) bool { return s.PendingFaults() == 0 }); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	n := srv.Count(bayeux.MetaConnect)
	if err := srv.WaitFor(ctx, func(s *bayeuxtest.Server) bool {
		return upgrades.Load() == 2 && s.Count(bayeux.MetaConnect) > n && s.WebSockets() == 1
	}); err != nil {
		t.Fatalf("no connect on a new socket: %v (%d upgrades, %d websockets)", err, upgrades.Load(), srv.WebSockets())
	}
	t.Logf("redialed %v after the server went silent", time.Since(start).Round(time.Millisecond))
	if err := srv.Publish("/news", 1); err != nil {
		t.Fatal(err)
	}
	select {
	case m := <-got:
		if string(m.Data) != "1" {
			t.Fatalf("got %s", m.Data)
		}
	case <-ctx.Done():
		t.Fatal("no event after the silent socket")
	}
	if err := c.Disconnect(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestClientFallsBackWhenUpgradeTorn(t *testing.T) {
	srv := bayeuxtest.NewServer(bayeuxtest.WithTimeout(300 * time.Millisecond))
	defer srv.Close()
	// A proxy that closes every upgrade request's connection unanswered.
	u := mount(t, srv, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
				if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
					conn.Close()
				}
				return
			}
			h.ServeHTTP(w, r)
		})
	})
	fallsBack(t, u, websocket.New(websocket.WithDialer(&gws.Dialer{HandshakeTimeout: time.Second})))
}

// fallsBack checks that a client with ws then long-polling connects to u
// over long-polling and publishes.
func fallsBack(t *testing.T, u string, ws *websocket.Transport) {
	t.Helper()
	c, err := bayeux.NewClient(u, bayeux.WithTransports(ws, longpoll.New()))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := c.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	if got := c.TransportName(); got != "long-polling" {
		t.Fatalf("transport %q, want the fallback long-polling", got)
	}
	if err := c.Publish(ctx, "/x", 1); err != nil {
		t.Fatal(err)
	}
	if err := c.Disconnect(ctx); err != nil {
		t.Fatal(err)
	}
}
