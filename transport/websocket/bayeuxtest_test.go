package websocket

import (
	"context"
	"errors"
	"net/http/cookiejar"
	"testing"
	"time"

	"github.com/bayeux-go/sdk/bayeux"
	"github.com/bayeux-go/sdk/bayeux/bayeuxtest"
	"github.com/bayeux-go/sdk/internal/testenv"
)

// Tests against the in-process spec-faithful server of bayeuxtest, beyond
// the contract that transporttest checks (transporttest_test.go).

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

func TestBayeuxtestServerWithoutWebSocket(t *testing.T) {
	srv := newBayeuxServer(t, bayeuxtest.WithConnectionTypes("long-polling"))
	tr, _ := newTransport(t, bayeux.TransportConfig{})
	_, err := tr.RoundTrip(context.Background(), srv.URL, []bayeux.Message{handshake("1")})
	if te := asTransportError(t, err); !te.Refused || te.StatusCode == 0 {
		t.Fatalf("Refused=%v StatusCode=%d: %v", te.Refused, te.StatusCode, err)
	}
}

// A connection that breaks may have lost frames the server pushed on it,
// whether or not a request was waiting: it counts in LostResponses (the
// client's replay extension then resumes). A server's close frame, which
// comes after everything the server sent, does not count, nor does Close.
func TestBrokenConnectionCountsLostPushes(t *testing.T) {
	srv := newBayeuxServer(t, bayeuxtest.WithTimeout(5*time.Second))
	counters := &bayeux.TransportCounters{}
	tr, _ := newTransport(t, bayeux.TransportConfig{Counters: counters})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	id := wsHandshake(t, tr, srv.URL)
	if r, err := tr.RoundTrip(ctx, srv.URL, []bayeux.Message{wsConnect("c0", id)}); err != nil || len(r) != 1 || !r[0].Successful {
		t.Fatalf("first connect: %+v, %v", r, err)
	}
	// Broken with nothing waiting.
	srv.TearWebSockets()
	testenv.Eventually(t, "the broken connection counted", func() bool { return counters.LostResponses.Load() == 1 })

	// Closed by the server with a close frame (1011).
	srv.InjectFault(bayeuxtest.Fault{Channel: bayeux.MetaConnect, Transport: "websocket", Status: 500})
	c := wsConnect("c1", id)
	c.Advice = &bayeux.Advice{}
	c.Advice.SetTimeout(0)
	if _, err := tr.RoundTrip(ctx, srv.URL, []bayeux.Message{c}); err == nil {
		t.Fatal("connect answered with a close frame succeeded")
	}
	c.ID = "c2"
	if r, err := tr.RoundTrip(ctx, srv.URL, []bayeux.Message{c}); err != nil || len(r) != 1 || !r[0].Successful {
		t.Fatalf("connect after the close frame: %+v, %v", r, err)
	}
	if n := counters.LostResponses.Load(); n != 1 {
		t.Fatalf("LostResponses = %d after the server's close frame, want 1 (unchanged)", n)
	}
	if err := tr.Close(); err != nil {
		t.Fatal(err)
	}
	if n := counters.LostResponses.Load(); n != 1 {
		t.Fatalf("LostResponses = %d after Close, want 1 (unchanged)", n)
	}
}
