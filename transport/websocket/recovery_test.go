package websocket_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"log"
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
// without closing anything, and over wss.

// mount serves srv's handler through wrap on a new httptest server (TLS
// when tlsOn) and returns the Bayeux URL on it.
func mount(t *testing.T, srv *bayeuxtest.Server, tlsOn bool, wrap func(http.Handler) http.Handler) (string, *httptest.Server) {
	t.Helper()
	h := srv.Handler()
	if wrap != nil {
		h = wrap(h)
	}
	ts := httptest.NewUnstartedServer(h)
	ts.Config.ErrorLog = log.New(io.Discard, "", 0) // TLS failures are expected
	if tlsOn {
		ts.StartTLS()
	} else {
		ts.Start()
	}
	t.Cleanup(ts.Close)
	return ts.URL + "/bayeux", ts
}

func TestClientRecoversFromSilentWebSocket(t *testing.T) {
	srv := bayeuxtest.NewServer(bayeuxtest.WithTimeout(300 * time.Millisecond))
	defer srv.Close()
	var upgrades atomic.Int32
	u, _ := mount(t, srv, false, func(h http.Handler) http.Handler {
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
	// The next connect is held for a minute: the socket stays open, the
	// server says nothing. The client must give up on the socket at the
	// connect's deadline and go on over a new one.
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
	u, _ := mount(t, srv, false, func(h http.Handler) http.Handler {
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

func TestClientOverWSS(t *testing.T) {
	srv := bayeuxtest.NewServer(bayeuxtest.WithTimeout(300 * time.Millisecond))
	defer srv.Close()
	u, ts := mount(t, srv, true, nil)
	if !strings.HasPrefix(u, "https://") {
		t.Fatal(u)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	t.Run("verified by default", func(t *testing.T) {
		// The cause reaches the error handler (Connect itself retries
		// until its context ends).
		certErr := make(chan error, 16)
		c, err := bayeux.NewClient(u, bayeux.WithTransports(websocket.New()), bayeux.WithErrorHandler(func(err error) {
			var ue x509.UnknownAuthorityError
			var ve *tls.CertificateVerificationError
			if errors.As(err, &ue) || errors.As(err, &ve) {
				select {
				case certErr <- err:
				default:
				}
			}
		}))
		if err != nil {
			t.Fatal(err)
		}
		cctx, ccancel := context.WithTimeout(ctx, 2*time.Second)
		defer ccancel()
		if err := c.Connect(cctx); err == nil {
			t.Fatal("Connect to an untrusted server succeeded")
		}
		select {
		case <-certErr:
		default:
			t.Fatal("no certificate error reported")
		}
		if srv.HandshakeCount() != 0 {
			t.Fatal("a handshake went through an unverified connection")
		}
		_ = c.Disconnect(ctx)
	})
	t.Run("custom CA through the http.Client", func(t *testing.T) {
		pool := x509.NewCertPool()
		pool.AddCert(ts.Certificate())
		hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
		c, err := bayeux.NewClient(u, bayeux.WithHTTPClient(hc), bayeux.WithTransports(websocket.New()))
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Connect(ctx); err != nil {
			t.Fatal(err)
		}
		if got := c.TransportName(); got != "websocket" {
			t.Fatalf("transport %q", got)
		}
		got := make(chan bayeux.Message, 1)
		if _, err := c.Subscribe(ctx, "/tls", func(m bayeux.Message) { got <- m }); err != nil {
			t.Fatal(err)
		}
		if err := c.Publish(ctx, "/tls", "secret"); err != nil {
			t.Fatal(err)
		}
		select {
		case m := <-got:
			if string(m.Data) != `"secret"` {
				t.Fatalf("got %s", m.Data)
			}
		case <-ctx.Done():
			t.Fatal("no event over wss")
		}
		if err := c.Disconnect(ctx); err != nil {
			t.Fatal(err)
		}
	})
}
