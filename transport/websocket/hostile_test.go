package websocket

import (
	"bufio"
	"context"
	"errors"
	"net"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bayeux-go/sdk/bayeux"
	gws "github.com/gorilla/websocket"
)

// Servers that misbehave without closing anything: a socket that stays
// open but goes silent, upgrades that get no answer, binary frames.

// firstThenPeer runs first on the first connection, given the first
// batch it reads; later connections get bayeuxPeer.
func firstThenPeer(first func(sc *sconn, msgs []bayeux.Message)) func(*sconn) {
	var conns atomic.Int32
	return func(sc *sconn) {
		if conns.Add(1) > 1 {
			bayeuxPeer(sc)
			return
		}
		if msgs, err := sc.read(); err == nil {
			first(sc, msgs)
		}
	}
}

// silentThenPeer answers the first connection's handshake, then reads
// and ignores everything on it; later connections get bayeuxPeer.
func silentThenPeer() func(*sconn) {
	return firstThenPeer(func(sc *sconn, msgs []bayeux.Message) {
		r := reply(msgs[0])
		r.ClientID = "client-1"
		_ = sc.send(r)
		drain(sc)
	})
}

func TestDeadlineOnSilentServerTearsAndRedials(t *testing.T) {
	srv := newWSServer(t, silentThenPeer())
	tr, _ := newTransport(t, bayeux.TransportConfig{})
	if _, err := tr.RoundTrip(context.Background(), srv.URL, []bayeux.Message{handshake("1")}); err != nil {
		t.Fatal(err)
	}
	// A held connect and a publish in flight when the server goes silent:
	// the first deadline tears the socket and fails both.
	held := goRoundTrip(context.Background(), tr, srv.URL, connect("2"))
	eventually(t, func() bool {
		c := tr.current(srv.URL)
		if c == nil {
			return false
		}
		c.mu.Lock()
		defer c.mu.Unlock()
		return c.pending["2"] != nil
	}, "the connect to be pending")
	// A caller's deadline says nothing of the server: the connection
	// and the held connect stay.
	cctx, ccancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer ccancel()
	_, err := tr.RoundTrip(cctx, srv.URL, []bayeux.Message{publish("3a", "/a", `1`)})
	if !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, ErrSilent) {
		t.Fatalf("caller's deadline: err = %v, want DeadlineExceeded without ErrSilent", err)
	}
	if tr.current(srv.URL) == nil {
		t.Fatal("a caller's deadline tore the connection")
	}
	// The client's own deadline does.
	ctx, cancel := context.WithTimeoutCause(context.Background(), 50*time.Millisecond, bayeux.ErrNetworkDelay)
	defer cancel()
	_, err = tr.RoundTrip(ctx, srv.URL, []bayeux.Message{publish("3", "/a", `1`)})
	asTransportError(t, err)
	if !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, ErrSilent) {
		t.Fatalf("err = %v, want DeadlineExceeded and ErrSilent", err)
	}
	r := await(t, held)
	asTransportError(t, r.err)
	if !errors.Is(r.err, ErrSilent) {
		t.Fatalf("held connect: %v, want ErrSilent", r.err)
	}
	if tr.current(srv.URL) != nil {
		t.Fatal("the silent connection is still in use")
	}
	// The next request redials and the new connection answers.
	if _, err := tr.RoundTrip(context.Background(), srv.URL, []bayeux.Message{handshake("4")}); err != nil {
		t.Fatal(err)
	}
	if n := srv.upgrades.Load(); n != 2 {
		t.Fatalf("%d upgrades, want 2", n)
	}
}

func TestDeadlineWithTrafficKeepsConnection(t *testing.T) {
	// The server pushes an event but never answers the connect: it is
	// alive, so the deadline fails the request alone.
	srv := newWSServer(t, func(sc *sconn) {
		for {
			msgs, err := sc.read()
			if err != nil {
				return
			}
			if msgs[0].Channel == bayeux.MetaConnect {
				_ = sc.send(event("/e", `1`))
				continue
			}
			_ = sc.send(reply(msgs[0]))
		}
	})
	tr, rec := newTransport(t, bayeux.TransportConfig{})
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, err := tr.RoundTrip(ctx, srv.URL, []bayeux.Message{connect("1")})
	if !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, ErrSilent) {
		t.Fatalf("err = %v, want DeadlineExceeded without ErrSilent", err)
	}
	rec.waitFor(t, 1)
	if _, err := tr.RoundTrip(context.Background(), srv.URL, []bayeux.Message{handshake("2")}); err != nil {
		t.Fatal(err)
	}
	if n := srv.upgrades.Load(); n != 1 {
		t.Fatalf("%d upgrades: a connection with traffic was torn", n)
	}
}

// tornUpgradeServer accepts TCP connections, reads the upgrade request and
// then closes the connection (hang false) or never answers (hang true).
func tornUpgradeServer(t *testing.T, hang bool) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	stop := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				if _, err := http.ReadRequest(bufio.NewReader(c)); err != nil || !hang {
					return
				}
				<-stop
			}()
		}
	}()
	t.Cleanup(func() { close(stop); l.Close(); <-done })
	return "http://" + l.Addr().String() + "/bayeux"
}

func TestTornUpgradeIsRefused(t *testing.T) {
	cases := []struct {
		name string
		hang bool
		opts []Option
		ctx  time.Duration
	}{
		{"closed", false, nil, 0},
		{"handshake timeout", true, []Option{WithDialer(&gws.Dialer{HandshakeTimeout: 100 * time.Millisecond})}, 0},
		{"deadline", true, nil, 100 * time.Millisecond},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			u := tornUpgradeServer(t, tc.hang)
			tr, _ := newTransport(t, bayeux.TransportConfig{}, tc.opts...)
			ctx := context.Background()
			if tc.ctx > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tc.ctx)
				defer cancel()
			}
			_, err := tr.RoundTrip(ctx, u, []bayeux.Message{handshake("1")})
			te := asTransportError(t, err)
			if !te.Refused || te.StatusCode != 0 || !errors.Is(err, ErrUpgradeTorn) {
				t.Fatalf("Refused=%v StatusCode=%d: %v, want a refusal wrapping ErrUpgradeTorn", te.Refused, te.StatusCode, err)
			}
		})
	}
}

func TestCancelledUpgradeIsNotRefused(t *testing.T) {
	u := tornUpgradeServer(t, true)
	tr, _ := newTransport(t, bayeux.TransportConfig{})
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	_, err := tr.RoundTrip(ctx, u, []bayeux.Message{handshake("1")})
	if te := asTransportError(t, err); te.Refused || !errors.Is(err, context.Canceled) {
		t.Fatalf("Refused=%v: %v, want a cancellation that is not a refusal", te.Refused, err)
	}
}

func TestBinaryFrameTearsConnection(t *testing.T) {
	closeCode := make(chan int, 1)
	srv := newWSServer(t, firstThenPeer(func(sc *sconn, msgs []bayeux.Message) {
		b, _ := bayeux.EncodeMessages([]bayeux.Message{reply(msgs[0])})
		sc.wmu.Lock()
		_ = sc.ws.WriteMessage(gws.BinaryMessage, b)
		sc.wmu.Unlock()
		_, _, err := sc.ws.ReadMessage()
		var ce *gws.CloseError
		if errors.As(err, &ce) {
			closeCode <- ce.Code
		}
	}))
	tr, rec := newTransport(t, bayeux.TransportConfig{})
	_, err := tr.RoundTrip(context.Background(), srv.URL, []bayeux.Message{connect("1")})
	asTransportError(t, err)
	var de *bayeux.DecodeError
	if !errors.As(err, &de) || !errors.Is(err, bayeux.ErrMalformed) {
		t.Fatalf("err = %v, want a *bayeux.DecodeError", err)
	}
	select {
	case code := <-closeCode:
		if code != gws.CloseUnsupportedData {
			t.Fatalf("close code %d, want %d", code, gws.CloseUnsupportedData)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the server got no close frame")
	}
	if n := len(rec.snapshot()); n != 0 {
		t.Fatalf("the binary frame reached Receive (%d messages)", n)
	}
	if _, err := tr.RoundTrip(context.Background(), srv.URL, []bayeux.Message{handshake("2")}); err != nil {
		t.Fatal(err)
	}
}
