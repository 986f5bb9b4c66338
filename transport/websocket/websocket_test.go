package websocket

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bayeux-go/sdk/bayeux"
	"github.com/google/go-cmp/cmp"
	gws "github.com/gorilla/websocket"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func handshake(id string) bayeux.Message {
	return bayeux.Message{ID: id, Channel: bayeux.MetaHandshake, Version: "1.0",
		SupportedConnectionTypes: []string{"websocket"}}
}

func connect(id string) bayeux.Message {
	return bayeux.Message{ID: id, Channel: bayeux.MetaConnect, ClientID: "client-1", ConnectionType: "websocket"}
}

func publish(id, ch, data string) bayeux.Message {
	return bayeux.Message{ID: id, Channel: bayeux.Channel(ch), ClientID: "client-1", Data: json.RawMessage(data)}
}

func TestName(t *testing.T) {
	if got := New().Name(); got != "websocket" {
		t.Fatalf("Name() = %q", got)
	}
}

func TestFramesAreJSONArrays(t *testing.T) {
	frames := make(chan []byte, 4)
	types := make(chan int, 4)
	srv := newWSServer(t, func(sc *sconn) {
		for {
			typ, b, err := sc.ws.ReadMessage()
			if err != nil {
				return
			}
			frames <- b
			types <- typ
			msgs, err := bayeux.DecodeMessages(b)
			if err != nil {
				return
			}
			for _, m := range msgs {
				if m.ID != "" {
					_ = sc.send(reply(m))
				}
			}
		}
	})
	tr, _ := newTransport(t, bayeux.TransportConfig{})
	ctx := context.Background()

	replies, err := tr.RoundTrip(ctx, srv.URL, []bayeux.Message{handshake("1")})
	if err != nil {
		t.Fatal(err)
	}
	if len(replies) != 1 || replies[0].ID != "1" || !replies[0].Successful {
		t.Fatalf("replies = %+v", replies)
	}
	batch := []bayeux.Message{publish("2", "/a", `{"x":1}`), publish("3", "/b", `[1,2]`)}
	replies, err = tr.RoundTrip(ctx, srv.URL, batch)
	if err != nil {
		t.Fatal(err)
	}
	if len(replies) != 2 || replies[0].ID != "2" || replies[1].ID != "3" {
		t.Fatalf("replies = %+v", replies)
	}
	for i, want := range []int{1, 2} {
		b := <-frames
		if typ := <-types; typ != gws.TextMessage {
			t.Errorf("frame %d: type %d, want text", i, typ)
		}
		if !bytes.HasPrefix(b, []byte("[")) || !bytes.HasSuffix(b, []byte("]")) {
			t.Errorf("frame %d is not a JSON array: %s", i, b)
		}
		var arr []json.RawMessage
		if err := json.Unmarshal(b, &arr); err != nil || len(arr) != want {
			t.Errorf("frame %d: %d messages (%v), want %d: %s", i, len(arr), err, want, b)
		}
	}
	if n := srv.upgrades.Load(); n != 1 {
		t.Errorf("%d upgrades, want 1 (one connection for the session)", n)
	}
	// The batch must be sent unmodified.
	if batch[0].ID != "2" || string(batch[1].Data) != `[1,2]` {
		t.Errorf("batch modified: %+v", batch)
	}
}

func TestReplyMatchingWithInterleavedEvents(t *testing.T) {
	srv := newWSServer(t, func(sc *sconn) {
		msgs, err := sc.read()
		if err != nil {
			return
		}
		sub := msgs[0]
		// An event before anything, one reusing the request's id without
		// "successful" (as Faye pushes deliveries), then the reply between
		// two events in one frame, then a reply nobody waits for.
		_ = sc.send(event("/foo", `{"n":1}`))
		e2 := event("/foo", `{"n":2}`)
		e2.ID = sub.ID
		_ = sc.send(e2)
		stray := reply(bayeux.Message{ID: "999", Channel: "/meta/subscribe"})
		_ = sc.send(event("/foo", `{"n":3}`), reply(sub), event("/foo", `{"n":4}`), stray)
		drain(sc)
	})
	tr, rec := newTransport(t, bayeux.TransportConfig{})
	sub := bayeux.Message{ID: "7", Channel: bayeux.MetaSubscribe, ClientID: "client-1", Subscription: []bayeux.Channel{"/foo"}}
	replies, err := tr.RoundTrip(context.Background(), srv.URL, []bayeux.Message{sub})
	if err != nil {
		t.Fatal(err)
	}
	if len(replies) != 1 || replies[0].ID != "7" || replies[0].Channel != bayeux.MetaSubscribe || !replies[0].Successful {
		t.Fatalf("replies = %+v", replies)
	}
	got := rec.waitFor(t, 5)
	var data []string
	for _, m := range got {
		data = append(data, string(m.Channel)+" "+string(m.Data)+" "+m.ID)
	}
	want := []string{`/foo {"n":1} `, `/foo {"n":2} 7`, `/foo {"n":3} `, `/foo {"n":4} `, `/meta/subscribe  999`}
	if diff := cmp.Diff(want, data); diff != "" {
		t.Fatalf("Receive got (-want +got):\n%s", diff)
	}
}

// TestWholeFramesWithReceiveReplies: when the client takes replies
// through Receive, each frame reaches Receive whole, in one call, with
// its reply in the server's place among the events, and RoundTrip
// returns once that call returned, with no messages of its own.
func TestWholeFramesWithReceiveReplies(t *testing.T) {
	srv := newWSServer(t, func(sc *sconn) {
		msgs, err := sc.read()
		if err != nil {
			return
		}
		conn := msgs[0]
		_ = sc.send(event("/foo", `{"n":1}`))
		// CometD puts a /meta/connect reply's events before it, Faye
		// after it: both around the reply here.
		_ = sc.send(event("/foo", `{"n":2}`), reply(conn), event("/foo", `{"n":3}`))
		drain(sc)
	})
	// Receive is slow, to see that RoundTrip does not return while the
	// frame holding its reply is still being handled.
	rec := &recorder{tb: t}
	var inReceive atomic.Bool
	tr := New()
	err := tr.Init(bayeux.TransportConfig{HTTPClient: &http.Client{}, Logger: slog.New(slog.DiscardHandler),
		ReceiveReplies: true, Receive: func(msgs []bayeux.Message) {
			inReceive.Store(true)
			time.Sleep(20 * time.Millisecond)
			rec.receive(msgs)
			inReceive.Store(false)
		}})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	replies, err := tr.RoundTrip(context.Background(), srv.URL, []bayeux.Message{connect("5")})
	if err != nil {
		t.Fatal(err)
	}
	if inReceive.Load() {
		t.Error("RoundTrip returned while Receive was handling its reply's frame")
	}
	if len(replies) != 0 {
		t.Errorf("RoundTrip returned %d messages, want none (the reply went to Receive)", len(replies))
	}
	got := rec.waitFor(t, 4)
	var seen []string
	for _, m := range got {
		seen = append(seen, string(m.Channel)+" "+string(m.Data))
	}
	want := []string{`/foo {"n":1}`, `/foo {"n":2}`, `/meta/connect `, `/foo {"n":3}`}
	if diff := cmp.Diff(want, seen); diff != "" {
		t.Fatalf("Receive got (-want +got):\n%s", diff)
	}
	rec.mu.Lock()
	calls := rec.calls
	rec.mu.Unlock()
	if calls != 2 {
		t.Errorf("Receive called %d times, want 2 (one per frame)", calls)
	}
}

func TestConcurrentConnectAndPublishShareTheConnection(t *testing.T) {
	srv := newWSServer(t, bayeuxPeer)
	tr, rec := newTransport(t, bayeux.TransportConfig{})
	ctx := context.Background()
	if _, err := tr.RoundTrip(ctx, srv.URL, []bayeux.Message{handshake("1")}); err != nil {
		t.Fatal(err)
	}
	// The connect is held by the server until the publish arrives.
	held := goRoundTrip(ctx, tr, srv.URL, connect("2"))
	eventually(t, func() bool {
		c := tr.current(srv.URL)
		if c == nil {
			return false
		}
		c.mu.Lock()
		defer c.mu.Unlock()
		return c.pending["2"] != nil
	}, "the connect to be pending")
	replies, err := tr.RoundTrip(ctx, srv.URL, []bayeux.Message{publish("3", "/chat", `"hi"`)})
	if err != nil {
		t.Fatal(err)
	}
	if len(replies) != 1 || replies[0].ID != "3" || replies[0].Channel != "/chat" || len(replies[0].Data) != 0 {
		t.Fatalf("publish replies = %+v", replies)
	}
	r := await(t, held)
	if r.err != nil {
		t.Fatal(r.err)
	}
	if len(r.msgs) != 1 || r.msgs[0].ID != "2" || r.msgs[0].Channel != bayeux.MetaConnect {
		t.Fatalf("connect replies = %+v", r.msgs)
	}
	// The echoed event (same id as the publish, no "successful") went to
	// Receive, not to the publish.
	got := rec.waitFor(t, 1)
	if got[0].Channel != "/chat" || string(got[0].Data) != `"hi"` || got[0].ID != "3" {
		t.Fatalf("Receive got %+v", got)
	}
	if n := srv.upgrades.Load(); n != 1 {
		t.Fatalf("%d upgrades, want 1", n)
	}
}

func TestManyConcurrentRoundTrips(t *testing.T) {
	srv := newWSServer(t, bayeuxPeer)
	tr, _ := newTransport(t, bayeux.TransportConfig{})
	ctx := context.Background()
	const n = 50
	chs := make([]<-chan result, n)
	for i := range chs {
		id := "m" + string(rune('A'+i%26)) + string(rune('a'+i/26))
		m := bayeux.Message{ID: id, Channel: "/service/x", ClientID: "client-1"}
		chs[i] = goRoundTrip(ctx, tr, srv.URL, m)
	}
	for i, ch := range chs {
		r := await(t, ch)
		if r.err != nil || len(r.msgs) != 1 {
			t.Fatalf("RoundTrip %d: %+v, %v", i, r.msgs, r.err)
		}
	}
	if n := srv.upgrades.Load(); n != 1 {
		t.Fatalf("%d upgrades, want 1: concurrent first RoundTrips must share one dial", n)
	}
}

func TestBatchWithoutIDsReturnsAfterWriting(t *testing.T) {
	got := make(chan []bayeux.Message, 2)
	srv := newWSServer(t, func(sc *sconn) {
		for {
			msgs, err := sc.read()
			if err != nil {
				return
			}
			got <- msgs
			for _, m := range msgs {
				if m.ID != "" {
					_ = sc.send(reply(m))
				}
			}
		}
	})
	tr, rec := newTransport(t, bayeux.TransportConfig{})
	ctx := context.Background()
	replies, err := tr.RoundTrip(ctx, srv.URL, []bayeux.Message{publish("", "/a", "1")})
	if err != nil || replies != nil {
		t.Fatalf("RoundTrip without ids = %+v, %v; want nil, nil", replies, err)
	}
	if msgs := <-got; len(msgs) != 1 || msgs[0].Channel != "/a" {
		t.Fatalf("server got %+v", msgs)
	}
	// A batch mixing both returns once the messages with an id are answered.
	replies, err = tr.RoundTrip(ctx, srv.URL, []bayeux.Message{publish("", "/a", "2"), publish("5", "/b", "3")})
	if err != nil || len(replies) != 1 || replies[0].ID != "5" {
		t.Fatalf("mixed batch = %+v, %v", replies, err)
	}
	if msgs := <-got; len(msgs) != 2 {
		t.Fatalf("server got %+v", msgs)
	}
	if n := len(rec.snapshot()); n != 0 {
		t.Fatalf("Receive got %d messages", n)
	}
}

func TestBadBatches(t *testing.T) {
	srv := newWSServer(t, bayeuxPeer)
	tr, _ := newTransport(t, bayeux.TransportConfig{})
	ctx := context.Background()
	cases := []struct {
		name string
		msgs []bayeux.Message
		want error
	}{
		{"empty", nil, ErrEmptyBatch},
		{"handshake not alone", []bayeux.Message{handshake("1"), connect("2")}, ErrHandshakeNotAlone},
		{"duplicate id", []bayeux.Message{publish("1", "/a", "1"), publish("1", "/b", "2")}, ErrDuplicateID},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := tr.RoundTrip(ctx, srv.URL, c.msgs)
			if !errors.Is(err, c.want) {
				t.Fatalf("err = %v, want %v", err, c.want)
			}
			if errors.Is(err, bayeux.ErrTransport) {
				t.Fatalf("a bad batch is not a transport failure: %v", err)
			}
		})
	}
	_, err := tr.RoundTrip(ctx, srv.URL, []bayeux.Message{{ID: "1", Channel: "/a", Data: json.RawMessage("{bad")}})
	var ee *bayeux.EncodeError
	if !errors.As(err, &ee) {
		t.Fatalf("invalid data: err = %v, want *bayeux.EncodeError", err)
	}
	if n := srv.upgrades.Load(); n != 0 {
		t.Fatalf("bad batches dialed %d times", n)
	}
	// An id still awaiting its reply cannot be reused.
	held := goRoundTrip(ctx, tr, srv.URL, connect("9"))
	eventually(t, func() bool {
		c := tr.current(srv.URL)
		if c == nil {
			return false
		}
		c.mu.Lock()
		defer c.mu.Unlock()
		return c.pending["9"] != nil
	}, "the connect to be pending")
	if _, err := tr.RoundTrip(ctx, srv.URL, []bayeux.Message{connect("9")}); !errors.Is(err, ErrDuplicateID) {
		t.Fatalf("reused pending id: err = %v", err)
	}
	if _, err := tr.RoundTrip(ctx, srv.URL, []bayeux.Message{publish("10", "/x", "1")}); err != nil {
		t.Fatal(err)
	}
	if r := await(t, held); r.err != nil || len(r.msgs) != 1 {
		t.Fatalf("held connect: %+v %v", r.msgs, r.err)
	}
}

func TestInitRules(t *testing.T) {
	tr := New()
	if _, err := tr.RoundTrip(context.Background(), "http://127.0.0.1:1/", []bayeux.Message{handshake("1")}); !errors.Is(err, ErrNotInitialized) {
		t.Fatalf("RoundTrip before Init: %v", err)
	}
	if err := tr.Init(bayeux.TransportConfig{}); err != nil {
		t.Fatal(err)
	}
	if err := tr.Init(bayeux.TransportConfig{}); err == nil {
		t.Fatal("second Init succeeded")
	}
	if err := tr.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestUpgradeRefused(t *testing.T) {
	srv := newWSServer(t, bayeuxPeer)
	srv.refuse.Store(http.StatusBadRequest)
	tr, _ := newTransport(t, bayeux.TransportConfig{})
	_, err := tr.RoundTrip(context.Background(), srv.URL, []bayeux.Message{handshake("1")})
	te := asTransportError(t, err)
	if !te.Refused || te.StatusCode != http.StatusBadRequest {
		t.Fatalf("Refused=%v StatusCode=%d, want true 400 (%v)", te.Refused, te.StatusCode, err)
	}
	if !errors.Is(err, gws.ErrBadHandshake) {
		t.Errorf("cause is not websocket.ErrBadHandshake: %v", err)
	}
	// The refusal is not sticky in the transport: the client decides.
	srv.refuse.Store(0)
	if _, err := tr.RoundTrip(context.Background(), srv.URL, []bayeux.Message{handshake("2")}); err != nil {
		t.Fatal(err)
	}
}

func TestDialErrorIsNotRefused(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	tr, _ := newTransport(t, bayeux.TransportConfig{})
	_, err = tr.RoundTrip(context.Background(), "http://"+addr+"/bayeux", []bayeux.Message{handshake("1")})
	te := asTransportError(t, err)
	if te.Refused || te.StatusCode != 0 {
		t.Fatalf("connection refused reported as Refused=%v StatusCode=%d: %v", te.Refused, te.StatusCode, err)
	}
	var opErr *net.OpError
	if !errors.As(err, &opErr) {
		t.Errorf("cause is not a *net.OpError: %v", err)
	}
}

func TestBadURL(t *testing.T) {
	tr, _ := newTransport(t, bayeux.TransportConfig{})
	for _, u := range []string{"ftp://example.com/x", "http://", "::"} {
		_, err := tr.RoundTrip(context.Background(), u, []bayeux.Message{handshake("1")})
		if te := asTransportError(t, err); te.Refused {
			t.Errorf("%q: Refused", u)
		}
	}
}

func TestTornConnectionFailsInFlightThenRedials(t *testing.T) {
	var conns atomic.Int32
	srv := newWSServer(t, func(sc *sconn) {
		if conns.Add(1) == 1 {
			// First connection: receive the connect, then vanish.
			if _, err := sc.read(); err != nil {
				return
			}
			sc.ws.NetConn().Close()
			return
		}
		bayeuxPeer(sc)
	})
	tr, _ := newTransport(t, bayeux.TransportConfig{})
	ctx := context.Background()
	r := await(t, goRoundTrip(ctx, tr, srv.URL, connect("1")))
	asTransportError(t, r.err)
	if r.msgs != nil {
		t.Fatalf("messages from a torn connection: %+v", r.msgs)
	}
	replies, err := tr.RoundTrip(ctx, srv.URL, []bayeux.Message{handshake("2")})
	if err != nil || len(replies) != 1 {
		t.Fatalf("after the tear: %+v, %v", replies, err)
	}
	if n := srv.upgrades.Load(); n != 2 {
		t.Fatalf("%d upgrades, want 2", n)
	}
}

func TestServerCloseFrameFailsInFlight(t *testing.T) {
	var conns atomic.Int32
	srv := newWSServer(t, func(sc *sconn) {
		if conns.Add(1) == 1 {
			if _, err := sc.read(); err != nil {
				return
			}
			msg := gws.FormatCloseMessage(gws.CloseGoingAway, "restart")
			_ = sc.ws.WriteControl(gws.CloseMessage, msg, time.Now().Add(time.Second))
			drain(sc)
			return
		}
		bayeuxPeer(sc)
	})
	tr, _ := newTransport(t, bayeux.TransportConfig{})
	_, err := tr.RoundTrip(context.Background(), srv.URL, []bayeux.Message{connect("1")})
	asTransportError(t, err)
	var ce *gws.CloseError
	if !errors.As(err, &ce) || ce.Code != gws.CloseGoingAway {
		t.Fatalf("err = %v, want a CloseError 1001", err)
	}
	if _, err := tr.RoundTrip(context.Background(), srv.URL, []bayeux.Message{handshake("2")}); err != nil {
		t.Fatal(err)
	}
}

func TestDeadPeerDetected(t *testing.T) {
	srv := newWSServer(t, func(sc *sconn) {
		// Keeps reading (so the TCP connection stays healthy) but never
		// answers a ping nor anything else.
		sc.ws.SetPingHandler(func(string) error { return nil })
		drain(sc)
	})
	tr, _ := newTransport(t, bayeux.TransportConfig{},
		WithPingInterval(20*time.Millisecond), WithPongTimeout(60*time.Millisecond))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, err := tr.RoundTrip(ctx, srv.URL, []bayeux.Message{connect("1")})
	asTransportError(t, err)
	if !errors.Is(err, ErrPongTimeout) {
		t.Fatalf("err = %v, want ErrPongTimeout", err)
	}
	if tr.current(srv.URL) != nil {
		t.Fatal("dead connection kept")
	}
}

func TestKeepAliveKeepsHealthyConnection(t *testing.T) {
	pings := make(chan struct{}, 100)
	srv := newWSServer(t, func(sc *sconn) {
		sc.ws.SetPingHandler(func(data string) error {
			select {
			case pings <- struct{}{}:
			default:
			}
			return sc.ws.WriteControl(gws.PongMessage, []byte(data), time.Now().Add(time.Second))
		})
		msgs, err := sc.read()
		if err != nil {
			return
		}
		// Answer the connect after several ping/pong rounds.
		stop := make(chan struct{})
		defer close(stop)
		go func() {
			for range 3 {
				select {
				case <-pings:
				case <-stop:
					return
				}
			}
			_ = sc.send(reply(msgs[0]))
		}()
		drain(sc)
	})
	tr, _ := newTransport(t, bayeux.TransportConfig{},
		WithPingInterval(20*time.Millisecond), WithPongTimeout(150*time.Millisecond))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	replies, err := tr.RoundTrip(ctx, srv.URL, []bayeux.Message{connect("1")})
	if err != nil || len(replies) != 1 {
		t.Fatalf("held connect over a pinged connection: %+v, %v", replies, err)
	}
	if n := srv.upgrades.Load(); n != 1 {
		t.Fatalf("%d upgrades: a healthy connection was torn", n)
	}
}

func TestCookiesOnUpgrade(t *testing.T) {
	for _, where := range []string{"TransportConfig.Jar", "HTTPClient.Jar"} {
		t.Run(where, func(t *testing.T) {
			srv := newWSServer(t, bayeuxPeer, serverHeader(http.Header{
				"Set-Cookie": {"BAYEUX_BROWSER=abc123; Path=/"},
			}))
			u, _ := url.Parse(srv.URL)
			jar, _ := cookiejar.New(nil)
			jar.SetCookies(u, []*http.Cookie{{Name: "session", Value: "s1", Path: "/"}})
			cfg := bayeux.TransportConfig{HTTPClient: &http.Client{}}
			if where == "HTTPClient.Jar" {
				cfg.HTTPClient.Jar = jar
			} else {
				cfg.Jar = jar
			}
			tr, _ := newTransport(t, cfg)
			if _, err := tr.RoundTrip(context.Background(), srv.URL+"/bayeux", []bayeux.Message{handshake("1")}); err != nil {
				t.Fatal(err)
			}
			c, err := srv.lastRequest().Cookie("session")
			if err != nil || c.Value != "s1" {
				t.Fatalf("upgrade request cookies: %v", srv.lastRequest().Header["Cookie"])
			}
			var got string
			for _, c := range jar.Cookies(u) {
				if c.Name == "BAYEUX_BROWSER" {
					got = c.Value
				}
			}
			if got != "abc123" {
				t.Fatalf("Set-Cookie of the upgrade not stored: %v", jar.Cookies(u))
			}
		})
	}
}

func TestCustomHeaders(t *testing.T) {
	srv := newWSServer(t, bayeuxPeer)
	tr, _ := newTransport(t, bayeux.TransportConfig{},
		WithHeader("Authorization", "Bearer tok"),
		WithHeaders(http.Header{"X-Tenant": {"t1", "t2"}, "Origin": {"https://app.example"}}))
	if _, err := tr.RoundTrip(context.Background(), srv.URL, []bayeux.Message{handshake("1")}); err != nil {
		t.Fatal(err)
	}
	h := srv.lastRequest().Header
	if h.Get("Authorization") != "Bearer tok" || cmp.Diff([]string{"t1", "t2"}, h.Values("X-Tenant")) != "" ||
		h.Get("Origin") != "https://app.example" {
		t.Fatalf("upgrade headers: %v", h)
	}

	// User information in the URL becomes Basic authorization.
	srv2 := newWSServer(t, bayeuxPeer)
	tr2, _ := newTransport(t, bayeux.TransportConfig{})
	u := strings.Replace(srv2.URL, "http://", "http://ann:secret@", 1)
	if _, err := tr2.RoundTrip(context.Background(), u, []bayeux.Message{handshake("1")}); err != nil {
		t.Fatal(err)
	}
	r := srv2.lastRequest()
	user, pw, ok := r.BasicAuth()
	if !ok || user != "ann" || pw != "secret" {
		t.Fatalf("basic auth from URL: %v", r.Header)
	}
}

func TestWithDialerIsCopied(t *testing.T) {
	srv := newWSServer(t, bayeuxPeer)
	jar, _ := cookiejar.New(nil)
	var dials atomic.Int32
	d := &gws.Dialer{
		HandshakeTimeout: 5 * time.Second,
		NetDialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			dials.Add(1)
			var nd net.Dialer
			return nd.DialContext(ctx, network, addr)
		},
	}
	before := *d
	tr, _ := newTransport(t, bayeux.TransportConfig{Jar: jar}, WithDialer(d), WithCompression(true))
	if _, err := tr.RoundTrip(context.Background(), srv.URL, []bayeux.Message{handshake("1")}); err != nil {
		t.Fatal(err)
	}
	if dials.Load() != 1 {
		t.Fatalf("the custom dialer's NetDialContext was used %d times", dials.Load())
	}
	if d.Jar != nil || d.EnableCompression || d.HandshakeTimeout != before.HandshakeTimeout {
		t.Fatalf("the user's dialer was modified: %+v", d)
	}
}

func TestTLS(t *testing.T) {
	srv := newWSServer(t, bayeuxPeer, serverTLS)
	if !strings.HasPrefix(srv.URL, "https://") {
		t.Fatal(srv.URL)
	}
	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())

	t.Run("WithTLSConfig", func(t *testing.T) {
		// NextProtos offering h2 must not break the upgrade.
		tr, _ := newTransport(t, bayeux.TransportConfig{},
			WithTLSConfig(&tls.Config{RootCAs: pool, NextProtos: []string{"h2", "http/1.1"}}))
		if _, err := tr.RoundTrip(context.Background(), srv.URL, []bayeux.Message{handshake("1")}); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("from the http.Transport", func(t *testing.T) {
		hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
		tr, _ := newTransport(t, bayeux.TransportConfig{HTTPClient: hc})
		if _, err := tr.RoundTrip(context.Background(), srv.URL, []bayeux.Message{handshake("1")}); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("untrusted", func(t *testing.T) {
		tr, _ := newTransport(t, bayeux.TransportConfig{})
		_, err := tr.RoundTrip(context.Background(), srv.URL, []bayeux.Message{handshake("1")})
		if te := asTransportError(t, err); te.Refused {
			t.Fatalf("TLS failure reported as refused: %v", err)
		}
		var ue x509.UnknownAuthorityError
		var ve *tls.CertificateVerificationError
		if !errors.As(err, &ue) && !errors.As(err, &ve) {
			t.Fatalf("err = %v, want a certificate error", err)
		}
	})
	t.Run("wss URL", func(t *testing.T) {
		tr, _ := newTransport(t, bayeux.TransportConfig{}, WithTLSConfig(&tls.Config{RootCAs: pool}))
		u := strings.Replace(srv.URL, "https://", "wss://", 1)
		if _, err := tr.RoundTrip(context.Background(), u, []bayeux.Message{handshake("1")}); err != nil {
			t.Fatal(err)
		}
	})
}

func TestCompression(t *testing.T) {
	srv := newWSServer(t, bayeuxPeer, serverCompression)
	big := `"` + strings.Repeat("compressible ", 2000) + `"`
	for _, on := range []bool{true, false} {
		tr, rec := newTransport(t, bayeux.TransportConfig{}, WithCompression(on))
		ctx := context.Background()
		if _, err := tr.RoundTrip(ctx, srv.URL, []bayeux.Message{publish("1", "/big", big)}); err != nil {
			t.Fatal(err)
		}
		ext := srv.lastRequest().Header.Get("Sec-Websocket-Extensions")
		if got := strings.Contains(ext, "permessage-deflate"); got != on {
			t.Fatalf("WithCompression(%v): upgrade offered %q", on, ext)
		}
		if c := tr.current(srv.URL); c == nil || c.compressed != on {
			t.Fatalf("WithCompression(%v): negotiated %v", on, c != nil && c.compressed)
		}
		if got := rec.waitFor(t, 1); string(got[0].Data) != big {
			t.Fatalf("echoed event differs")
		}
		tr.Close()
	}
}

func TestOversizedFrame(t *testing.T) {
	var conns atomic.Int32
	srv := newWSServer(t, func(sc *sconn) {
		if conns.Add(1) == 1 {
			if _, err := sc.read(); err != nil {
				return
			}
			_ = sc.send(event("/big", `"`+strings.Repeat("x", 5000)+`"`))
			drain(sc)
			return
		}
		bayeuxPeer(sc)
	})
	tr, rec := newTransport(t, bayeux.TransportConfig{}, WithMaxMessageBytes(1024))
	_, err := tr.RoundTrip(context.Background(), srv.URL, []bayeux.Message{connect("1")})
	asTransportError(t, err)
	if !errors.Is(err, bayeux.ErrTooLarge) || !errors.Is(err, gws.ErrReadLimit) {
		t.Fatalf("err = %v, want ErrTooLarge", err)
	}
	if _, err := tr.RoundTrip(context.Background(), srv.URL, []bayeux.Message{handshake("2")}); err != nil {
		t.Fatal(err)
	}
	if n := len(rec.snapshot()); n != 0 {
		t.Fatalf("the oversized frame reached Receive (%d)", n)
	}
}

func TestMalformedFrame(t *testing.T) {
	for _, raw := range []string{`[{"channel":`, `"just a string"`, ``, `[{"data":1}]`} {
		t.Run(raw, func(t *testing.T) {
			srv := newWSServer(t, func(sc *sconn) {
				if _, err := sc.read(); err != nil {
					return
				}
				_ = sc.sendRaw(raw)
				drain(sc)
			})
			tr, _ := newTransport(t, bayeux.TransportConfig{})
			_, err := tr.RoundTrip(context.Background(), srv.URL, []bayeux.Message{connect("1")})
			asTransportError(t, err)
			var de *bayeux.DecodeError
			if !errors.As(err, &de) || !errors.Is(err, bayeux.ErrMalformed) {
				t.Fatalf("err = %v, want a *bayeux.DecodeError", err)
			}
			if tr.current(srv.URL) != nil {
				t.Fatal("connection kept after a malformed frame")
			}
		})
	}
}

func TestContextEndsRoundTripKeepsConnection(t *testing.T) {
	release := make(chan struct{})
	srv := newWSServer(t, func(sc *sconn) {
		stop := make(chan struct{})
		defer close(stop)
		for {
			msgs, err := sc.read()
			if err != nil {
				return
			}
			m := msgs[0]
			if m.Channel == bayeux.MetaConnect {
				go func() {
					select {
					case <-release:
						_ = sc.send(reply(m)) // late
					case <-stop:
					}
				}()
				continue
			}
			_ = sc.send(reply(m))
		}
	})
	tr, rec := newTransport(t, bayeux.TransportConfig{})
	ctx, cancel := context.WithCancel(context.Background())
	ch := goRoundTrip(ctx, tr, srv.URL, connect("1"))
	eventually(t, func() bool {
		c := tr.current(srv.URL)
		if c == nil {
			return false
		}
		c.mu.Lock()
		defer c.mu.Unlock()
		return c.pending["1"] != nil
	}, "the connect to be pending")
	cancel()
	r := await(t, ch)
	asTransportError(t, r.err)
	if !errors.Is(r.err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", r.err)
	}
	// The late reply goes to Receive, on the same connection.
	close(release)
	got := rec.waitFor(t, 1)
	if got[0].ID != "1" {
		t.Fatalf("late reply: %+v", got)
	}
	if _, err := tr.RoundTrip(context.Background(), srv.URL, []bayeux.Message{handshake("3")}); err != nil {
		t.Fatal(err)
	}
	if n := srv.upgrades.Load(); n != 1 {
		t.Fatalf("%d upgrades: a cancellation must not tear the connection", n)
	}
	// A context that has ended already fails without sending.
	if _, err := tr.RoundTrip(ctx, srv.URL, []bayeux.Message{handshake("4")}); !errors.Is(err, context.Canceled) {
		t.Fatalf("ended context: %v", err)
	}
}

func TestMessageTimeoutTearsConnection(t *testing.T) {
	srv := newWSServer(t, func(sc *sconn) {
		for {
			msgs, err := sc.read()
			if err != nil {
				return
			}
			if msgs[0].Channel != bayeux.MetaConnect {
				_ = sc.send(reply(msgs[0]))
			}
		}
	})
	tr, _ := newTransport(t, bayeux.TransportConfig{}, WithMessageTimeout(30*time.Millisecond))
	_, err := tr.RoundTrip(context.Background(), srv.URL, []bayeux.Message{connect("1")})
	asTransportError(t, err)
	if !errors.Is(err, ErrMessageTimeout) {
		t.Fatalf("err = %v, want ErrMessageTimeout", err)
	}
	if _, err := tr.RoundTrip(context.Background(), srv.URL, []bayeux.Message{handshake("2")}); err != nil {
		t.Fatal(err)
	}
	if n := srv.upgrades.Load(); n != 2 {
		t.Fatalf("%d upgrades, want 2", n)
	}
}

func TestClose(t *testing.T) {
	closeCode := make(chan int, 1)
	srv := newWSServer(t, func(sc *sconn) {
		stop := make(chan struct{})
		defer close(stop)
		go func() {
			// Keep pushing events, so that Receive would be called after
			// Close if nothing prevented it.
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				if sc.send(event("/tick", "1")) != nil {
					return
				}
				time.Sleep(time.Millisecond)
			}
		}()
		for {
			_, _, err := sc.ws.ReadMessage()
			var ce *gws.CloseError
			if errors.As(err, &ce) {
				closeCode <- ce.Code
			}
			if err != nil {
				return
			}
		}
	})
	tr, rec := newTransport(t, bayeux.TransportConfig{})
	ch := goRoundTrip(context.Background(), tr, srv.URL, connect("1"))
	rec.waitFor(t, 3)
	if err := tr.Close(); err != nil {
		t.Fatal(err)
	}
	rec.closed.Store(true)
	// Close waited for them; they may still be unwinding their defers.
	eventually(t, func() bool { return connGoroutines() == 0 }, "the connection goroutines to end")
	r := await(t, ch)
	if !errors.Is(r.err, bayeux.ErrClosed) {
		t.Fatalf("in-flight RoundTrip: %v, want ErrClosed", r.err)
	}
	select {
	case code := <-closeCode:
		if code != gws.CloseNormalClosure {
			t.Fatalf("close code %d, want 1000", code)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no close frame")
	}
	if _, err := tr.RoundTrip(context.Background(), srv.URL, []bayeux.Message{handshake("2")}); !errors.Is(err, bayeux.ErrClosed) {
		t.Fatalf("RoundTrip after Close: %v", err)
	}
	if err := tr.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

// hangingServer accepts TCP connections and never answers; accepted
// receives a value for each connection.
func hangingServer(t *testing.T) (u string, accepted <-chan struct{}) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	acc := make(chan struct{}, 16)
	var conns []net.Conn
	go func() {
		defer close(done)
		for {
			c, err := l.Accept()
			if err != nil {
				for _, c := range conns {
					c.Close()
				}
				return
			}
			conns = append(conns, c)
			acc <- struct{}{}
		}
	}()
	t.Cleanup(func() { l.Close(); <-done })
	return "http://" + l.Addr().String() + "/bayeux", acc
}

func TestCloseAndCancelDuringDial(t *testing.T) {
	u, accepted := hangingServer(t)
	// No deadline, no handshake timeout: only the cancellation can end it.
	tr, _ := newTransport(t, bayeux.TransportConfig{}, WithDialer(&gws.Dialer{}))
	ctx, cancel := context.WithCancel(context.Background())
	ch := goRoundTrip(ctx, tr, u, handshake("1"))
	<-accepted
	cancel()
	r := await(t, ch)
	if !errors.Is(r.err, context.Canceled) {
		t.Fatalf("cancelled dial: %v", r.err)
	}
	asTransportError(t, r.err)

	ch = goRoundTrip(context.Background(), tr, u, handshake("2"))
	<-accepted
	tr.Close()
	if r := await(t, ch); !errors.Is(r.err, bayeux.ErrClosed) {
		t.Fatalf("dial during Close: %v", r.err)
	}
}

func TestPingIntervalZeroDisablesKeepAlive(t *testing.T) {
	srv := newWSServer(t, bayeuxPeer)
	tr, _ := newTransport(t, bayeux.TransportConfig{}, WithPingInterval(0))
	if _, err := tr.RoundTrip(context.Background(), srv.URL, []bayeux.Message{handshake("1")}); err != nil {
		t.Fatal(err)
	}
	if n := connGoroutines(); n != 1 {
		t.Fatalf("%d connection goroutines, want the reader only", n)
	}
}

func TestToWebSocketURL(t *testing.T) {
	cases := []struct{ in, out, auth string }{
		{"http://h/cometd", "ws://h/cometd", ""},
		{"https://h:8443/cometd?x=1#frag", "wss://h:8443/cometd?x=1", ""},
		{"ws://h/", "ws://h/", ""},
		{"WSS://h/", "wss://h/", ""},
		{"http://u:p@h/", "ws://h/", "Basic dTpw"},
	}
	for _, c := range cases {
		out, auth, err := toWebSocketURL(c.in)
		if err != nil || out != c.out || auth != c.auth {
			t.Errorf("toWebSocketURL(%q) = %q, %q, %v; want %q, %q", c.in, out, auth, err, c.out, c.auth)
		}
	}
	for _, in := range []string{"", "ftp://h/", "http:///x", "%"} {
		if _, _, err := toWebSocketURL(in); err == nil {
			t.Errorf("toWebSocketURL(%q) succeeded", in)
		}
	}
}

// connectProxy is an HTTP CONNECT proxy for the tests; it counts tunnels.
type connectProxy struct {
	*httptest.Server
	tunnels atomic.Int32
	mu      sync.Mutex // orders wg.Add before wg.Wait
	closed  bool
	wg      sync.WaitGroup
}

func newConnectProxy(t *testing.T) *connectProxy {
	p := &connectProxy{}
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodConnect {
			http.Error(w, "CONNECT only", http.StatusMethodNotAllowed)
			return
		}
		up, err := net.Dial("tcp", r.Host)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		down, _, err := http.NewResponseController(w).Hijack()
		if err != nil {
			up.Close()
			return
		}
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			up.Close()
			down.Close()
			return
		}
		p.wg.Add(2)
		p.mu.Unlock()
		p.tunnels.Add(1)
		_, _ = down.Write([]byte("HTTP/1.1 200 Connection established\r\n\r\n"))
		pipe := func(dst, src net.Conn) {
			defer p.wg.Done()
			_, _ = io.Copy(dst, src)
			dst.Close()
			src.Close()
		}
		go pipe(up, down)
		go pipe(down, up)
	}))
	t.Cleanup(func() {
		p.Server.Close()
		p.mu.Lock()
		p.closed = true
		p.mu.Unlock()
		p.wg.Wait()
	})
	return p
}

func TestProxyFromHTTPTransport(t *testing.T) {
	srv := newWSServer(t, bayeuxPeer)
	proxy := newConnectProxy(t)
	proxyURL, _ := url.Parse(proxy.URL)
	var asked atomic.Int32
	hc := &http.Client{Transport: &http.Transport{Proxy: func(r *http.Request) (*url.URL, error) {
		asked.Add(1)
		return proxyURL, nil
	}}}
	tr, _ := newTransport(t, bayeux.TransportConfig{HTTPClient: hc})
	if _, err := tr.RoundTrip(context.Background(), srv.URL, []bayeux.Message{handshake("1")}); err != nil {
		t.Fatal(err)
	}
	if asked.Load() != 1 || proxy.tunnels.Load() != 1 {
		t.Fatalf("proxy asked %d times, %d tunnels", asked.Load(), proxy.tunnels.Load())
	}
	tr.Close()
}

func TestLargeBatch(t *testing.T) {
	srv := newWSServer(t, bayeuxPeer)
	tr, _ := newTransport(t, bayeux.TransportConfig{})
	batch := make([]bayeux.Message, 100)
	for i := range batch {
		batch[i] = bayeux.Message{ID: "b" + strconv.Itoa(i), Channel: "/service/x", ClientID: "client-1"}
	}
	replies, err := tr.RoundTrip(context.Background(), srv.URL, batch)
	if err != nil || len(replies) != len(batch) {
		t.Fatalf("%d replies, %v", len(replies), err)
	}
	for i, r := range replies {
		if r.ID != batch[i].ID {
			t.Fatalf("reply %d has id %q: replies must come in arrival order", i, r.ID)
		}
	}
	batch[99].ID = "b3"
	if _, err := tr.RoundTrip(context.Background(), srv.URL, batch); !errors.Is(err, ErrDuplicateID) {
		t.Fatalf("duplicate in a large batch: %v", err)
	}
}

// stalledServer upgrades and then never reads, so that the client's
// writes block once the TCP buffers are full.
func stalledServer(t *testing.T) *wsServer {
	stop := make(chan struct{})
	srv := newWSServer(t, func(sc *sconn) {
		<-stop
	}, serverSmallBuffers)
	// Registered after newWSServer's cleanup, so it runs first.
	t.Cleanup(func() { close(stop) })
	return srv
}

// fillUntilBlocked writes 64 KiB frames without ids until a write fails.
func fillUntilBlocked(ctx context.Context, tr *Transport, u string) error {
	big := json.RawMessage(`"` + strings.Repeat("x", 64<<10) + `"`)
	for range 4096 {
		if _, err := tr.RoundTrip(ctx, u, []bayeux.Message{{Channel: "/big", Data: big}}); err != nil {
			return err
		}
	}
	return nil
}

func TestWriteTimeoutTearsConnection(t *testing.T) {
	srv := stalledServer(t)
	tr, _ := newTransport(t, bayeux.TransportConfig{}, WithDialer(smallBufDialer()),
		WithWriteTimeout(100*time.Millisecond), WithPingInterval(0))
	err := fillUntilBlocked(context.Background(), tr, srv.URL)
	asTransportError(t, err)
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("err = %v, want a write timeout", err)
	}
	if tr.current(srv.URL) != nil {
		t.Fatal("connection kept after a failed write")
	}
}

func TestCancelInterruptsBlockedWrite(t *testing.T) {
	srv := stalledServer(t)
	tr, _ := newTransport(t, bayeux.TransportConfig{}, WithDialer(smallBufDialer()),
		WithWriteTimeout(time.Hour), WithPingInterval(0))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	errc := make(chan error, 1)
	go func() { errc <- fillUntilBlocked(ctx, tr, srv.URL) }()
	// Wait until a write is stuck: the writer turn stays taken.
	eventually(t, func() bool {
		c := tr.current(srv.URL)
		if c == nil || len(c.wsem) == 0 {
			return false
		}
		time.Sleep(50 * time.Millisecond)
		return len(c.wsem) == 1
	}, "a write to block")
	cancel()
	select {
	case err := <-errc:
		asTransportError(t, err)
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a cancelled RoundTrip stayed blocked in its write")
	}
}

func TestSlowReceiveIsNotADeadPeer(t *testing.T) {
	srv := newWSServer(t, func(sc *sconn) {
		msgs, err := sc.read()
		if err != nil {
			return
		}
		_ = sc.send(event("/slow", "1"))
		_ = sc.send(reply(msgs[0]))
		drain(sc)
	})
	tr := New(WithPingInterval(5*time.Millisecond), WithPongTimeout(50*time.Millisecond))
	pinged := make(chan struct{})
	err := tr.Init(bayeux.TransportConfig{HTTPClient: &http.Client{}, Receive: func([]bayeux.Message) {
		// Block the reader across several ping rounds.
		time.Sleep(250 * time.Millisecond)
		close(pinged)
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	replies, err := tr.RoundTrip(context.Background(), srv.URL, []bayeux.Message{connect("1")})
	if err != nil || len(replies) != 1 {
		t.Fatalf("%+v, %v", replies, err)
	}
	<-pinged
	if srv.upgrades.Load() != 1 || tr.current(srv.URL) == nil {
		t.Fatal("a slow Receive made the connection look dead")
	}
}
