package websocket

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"testing"
	"time"

	"github.com/bayeux-go/sdk/bayeux"
	"github.com/bayeux-go/sdk/bayeux/bayeuxtest"
)

// Tests against the in-process spec-faithful server of bayeuxtest.

func newBayeuxServer(t *testing.T, opts ...bayeuxtest.Option) *bayeuxtest.Server {
	t.Helper()
	srv := bayeuxtest.NewServer(opts...)
	t.Cleanup(srv.Close)
	return srv
}

// wsHandshake handshakes over the transport and returns the clientId.
func wsHandshake(t *testing.T, tr *Transport, u string) string {
	t.Helper()
	replies, err := tr.RoundTrip(context.Background(), u, []bayeux.Message{handshake("h1")})
	if err != nil {
		t.Fatal(err)
	}
	if len(replies) != 1 || !replies[0].Successful || replies[0].ClientID == "" {
		t.Fatalf("handshake replies: %+v", replies)
	}
	return replies[0].ClientID
}

func wsConnect(id, clientID string) bayeux.Message {
	return bayeux.Message{ID: id, Channel: bayeux.MetaConnect, ClientID: clientID, ConnectionType: "websocket"}
}

func TestBayeuxtestSession(t *testing.T) {
	srv := newBayeuxServer(t, bayeuxtest.WithTimeout(5*time.Second))
	jar, _ := cookiejar.New(nil)
	tr, rec := newTransport(t, bayeux.TransportConfig{Jar: jar})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	id := wsHandshake(t, tr, srv.URL)

	// The server's browser cookie, set on the upgrade, is in the jar.
	u, _ := url.Parse(srv.URL)
	if len(jar.Cookies(u)) == 0 {
		t.Fatal("no cookie stored from the upgrade response")
	}

	first := wsConnect("c1", id)
	first.Advice = &bayeux.Advice{}
	first.Advice.SetTimeout(0)
	if r, err := tr.RoundTrip(ctx, srv.URL, []bayeux.Message{first}); err != nil || len(r) != 1 || !r[0].Successful {
		t.Fatalf("first connect: %+v, %v", r, err)
	}
	sub := bayeux.Message{ID: "s1", Channel: bayeux.MetaSubscribe, ClientID: id, Subscription: []bayeux.Channel{"/news/*"}}
	if r, err := tr.RoundTrip(ctx, srv.URL, []bayeux.Message{sub}); err != nil || len(r) != 1 || !r[0].Successful {
		t.Fatalf("subscribe: %+v, %v", r, err)
	}

	// A held connect and a publish overlap on the one connection.
	held := goRoundTrip(ctx, tr, srv.URL, wsConnect("c2", id))
	if err := srv.WaitHeld(ctx, 1); err != nil {
		t.Fatal(err)
	}
	pub := bayeux.Message{ID: "p1", Channel: "/news/today", ClientID: id, Data: json.RawMessage(`{"h":"hi"}`)}
	r, err := tr.RoundTrip(ctx, srv.URL, []bayeux.Message{pub})
	if err != nil || len(r) != 1 || r[0].ID != "p1" || !r[0].Successful {
		t.Fatalf("publish: %+v, %v", r, err)
	}
	// The event comes in the held connect's answer or pushed on its own;
	// either way it is not a reply, so it reaches Receive.
	if err := srv.Publish("/news/tomorrow", map[string]int{"n": 2}); err != nil {
		t.Fatal(err)
	}
	got := rec.waitFor(t, 2)
	if got[0].Channel != "/news/today" || string(got[0].Data) != `{"h":"hi"}` || got[1].Channel != "/news/tomorrow" {
		t.Fatalf("Receive got %+v", got)
	}
	// Disconnect answers the held connect too.
	disc := bayeux.Message{ID: "d1", Channel: bayeux.MetaDisconnect, ClientID: id}
	if r, err := tr.RoundTrip(ctx, srv.URL, []bayeux.Message{disc}); err != nil || len(r) != 1 || !r[0].Successful {
		t.Fatalf("disconnect: %+v, %v", r, err)
	}
	if hr := await(t, held); hr.err != nil {
		// The server may close the socket after the disconnect before the
		// held connect's reply; then it is a transport error.
		asTransportError(t, hr.err)
	}
	if n := srv.HandshakeCount(); n != 1 {
		t.Fatalf("%d handshakes", n)
	}
}

func TestBayeuxtestTearAndRedial(t *testing.T) {
	srv := newBayeuxServer(t, bayeuxtest.WithTimeout(5*time.Second))
	jar, _ := cookiejar.New(nil)
	tr, _ := newTransport(t, bayeux.TransportConfig{Jar: jar})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	id := wsHandshake(t, tr, srv.URL)
	if r, err := tr.RoundTrip(ctx, srv.URL, []bayeux.Message{wsConnect("c0", id)}); err != nil || len(r) != 1 || !r[0].Successful {
		t.Fatalf("first connect: %+v, %v", r, err)
	}
	held := goRoundTrip(ctx, tr, srv.URL, wsConnect("c1", id))
	if err := srv.WaitHeld(ctx, 1); err != nil {
		t.Fatal(err)
	}
	srv.TearWebSockets()
	r := await(t, held)
	asTransportError(t, r.err)
	if errors.Is(r.err, bayeux.ErrClosed) {
		t.Fatalf("tear reported as closed: %v", r.err)
	}
	// The session continues on a new connection.
	c := wsConnect("c2", id)
	c.Advice = &bayeux.Advice{}
	c.Advice.SetTimeout(0)
	replies, err := tr.RoundTrip(ctx, srv.URL, []bayeux.Message{c})
	if err != nil || len(replies) != 1 || !replies[0].Successful {
		t.Fatalf("connect after redial: %+v, %v", replies, err)
	}
	wctx, wcancel := context.WithTimeout(ctx, 2*time.Second)
	defer wcancel()
	if err := srv.WaitFor(wctx, func(s *bayeuxtest.Server) bool { return s.WebSockets() == 1 }); err != nil {
		t.Fatalf("%v: %d websockets open on the server, want 1", err, srv.WebSockets())
	}
}

func TestBayeuxtestRefused(t *testing.T) {
	srv := newBayeuxServer(t)
	srv.RefuseWebSocket(true)
	tr, _ := newTransport(t, bayeux.TransportConfig{})
	_, err := tr.RoundTrip(context.Background(), srv.URL, []bayeux.Message{handshake("1")})
	te := asTransportError(t, err)
	if !te.Refused || te.StatusCode != http.StatusBadRequest {
		t.Fatalf("Refused=%v StatusCode=%d: %v", te.Refused, te.StatusCode, err)
	}
	srv.RefuseWebSocket(false)
	wsHandshake(t, tr, srv.URL)
}

func TestBayeuxtestServerWithoutWebSocket(t *testing.T) {
	srv := newBayeuxServer(t, bayeuxtest.WithConnectionTypes("long-polling"))
	tr, _ := newTransport(t, bayeux.TransportConfig{})
	_, err := tr.RoundTrip(context.Background(), srv.URL, []bayeux.Message{handshake("1")})
	if te := asTransportError(t, err); !te.Refused || te.StatusCode == 0 {
		t.Fatalf("Refused=%v StatusCode=%d: %v", te.Refused, te.StatusCode, err)
	}
}
