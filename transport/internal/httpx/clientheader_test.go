package httpx_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bayeux-go/sdk/bayeux"
	"github.com/bayeux-go/sdk/bayeux/bayeuxtest"
	"github.com/bayeux-go/sdk/transport/callbackpoll"
	"github.com/bayeux-go/sdk/transport/longpoll"
	"github.com/bayeux-go/sdk/transport/websocket"
)

// headerExt sets a header through the HeaderExtension hook.
type headerExt struct{}

func (headerExt) Outgoing(*bayeux.Message)                {}
func (headerExt) Incoming(*bayeux.Message)                {}
func (headerExt) Registered(string, *bayeux.BayeuxClient) {}
func (headerExt) Unregistered()                           {}
func (headerExt) SetHeaders(h http.Header)                { h.Set("X-From-Extension", "ext") }
func (headerExt) Name() string                            { return "header-test" }

var _ bayeux.HeaderExtension = headerExt{}

// recorder is a reverse proxy in front of a bayeuxtest server that keeps
// the headers of every request it forwards (websocket upgrades included).
type recorder struct {
	mu   sync.Mutex
	seen []http.Header
}

func (r *recorder) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.mu.Lock()
		r.seen = append(r.seen, req.Header.Clone())
		r.mu.Unlock()
		next.ServeHTTP(w, req)
	})
}

func (r *recorder) headers() []http.Header {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]http.Header(nil), r.seen...)
}

// The headers of WithHeader and of a HeaderExtension arrive on every
// request of every transport, the websocket upgrade included.
func TestClientHeadersOnEveryTransport(t *testing.T) {
	for _, tc := range []struct {
		name string
		tr   func() bayeux.Transport
	}{
		{"long-polling", func() bayeux.Transport { return longpoll.New() }},
		{"callback-polling", func() bayeux.Transport { return callbackpoll.New() }},
		{"websocket", func() bayeux.Transport { return websocket.New() }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := bayeuxtest.NewServer()
			defer srv.Close()
			target, _ := url.Parse(srv.URL)
			target.Path = ""
			rec := &recorder{}
			proxy := httptest.NewServer(rec.wrap(httputil.NewSingleHostReverseProxy(target)))
			defer proxy.Close()

			c, err := bayeux.NewClient(proxy.URL+"/bayeux",
				bayeux.WithTransports(tc.tr()),
				bayeux.WithHeader("X-Client-Wide", "wide"),
				bayeux.WithExtensions(headerExt{}))
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := c.Connect(ctx); err != nil {
				t.Fatal(err)
			}
			if err := c.Publish(ctx, "/headers", "x"); err != nil {
				t.Fatal(err)
			}
			if err := c.Disconnect(ctx); err != nil {
				t.Fatal(err)
			}
			seen := rec.headers()
			if len(seen) == 0 {
				t.Fatal("no request went through the proxy")
			}
			upgrades := 0
			for i, h := range seen {
				if strings.EqualFold(h.Get("Upgrade"), "websocket") {
					upgrades++
				}
				if h.Get("X-Client-Wide") != "wide" || h.Get("X-From-Extension") != "ext" {
					t.Errorf("request %d of %d: headers %v lack X-Client-Wide or X-From-Extension", i+1, len(seen), h)
				}
			}
			if tc.name == "websocket" && upgrades == 0 {
				t.Error("no websocket upgrade went through the proxy")
			}
			proxy.CloseClientConnections()
		})
	}
}
