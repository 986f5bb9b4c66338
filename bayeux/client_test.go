package bayeux_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/bayeux-go/sdk/bayeux"
	"github.com/bayeux-go/sdk/bayeux/bayeuxtest"
	"github.com/bayeux-go/sdk/transport/callbackpoll"
	"github.com/bayeux-go/sdk/transport/longpoll"
	"github.com/bayeux-go/sdk/transport/websocket"
)

// transportCase is one way of talking to the server; every behavioural
// test runs over each.
type transportCase struct {
	name string
	// want is the connection type the session should end up on.
	want string
	new  func() []bayeux.Transport
	opts []bayeux.Option
}

var transportCases = []transportCase{
	{name: "long-polling", want: "long-polling",
		new: func() []bayeux.Transport { return []bayeux.Transport{longpoll.New()} }},
	{name: "callback-polling", want: "callback-polling",
		new: func() []bayeux.Transport { return []bayeux.Transport{callbackpoll.New()} }},
	{name: "websocket", want: "websocket",
		new: func() []bayeux.Transport { return []bayeux.Transport{websocket.New(), longpoll.New()} }},
	{name: "websocket-upgrade", want: "websocket",
		new:  func() []bayeux.Transport { return []bayeux.Transport{websocket.New(), longpoll.New()} },
		opts: []bayeux.Option{bayeux.WithTransportStrategy(bayeux.StrategyUpgrade)}},
}

func forEachTransport(t *testing.T, fn func(t *testing.T, tc transportCase)) {
	for _, tc := range transportCases {
		t.Run(tc.name, func(t *testing.T) { fn(t, tc) })
	}
}

// leakCheck registers, as the last cleanup to run, a check that no
// goroutine of the test outlived it.
func leakCheck(t *testing.T) {
	t.Helper()
	t.Cleanup(func() { goleak.VerifyNone(t) })
}

func newServer(t *testing.T, opts ...bayeuxtest.Option) *bayeuxtest.Server {
	t.Helper()
	opts = append([]bayeuxtest.Option{bayeuxtest.WithTimeout(300 * time.Millisecond)}, opts...)
	srv := bayeuxtest.NewServer(opts...)
	t.Cleanup(srv.Close)
	return srv
}

// newClient makes a client with fast backoff for tests; it is disconnected
// at the end of the test (before the server closes).
func newClient(t *testing.T, srv *bayeuxtest.Server, tc transportCase, opts ...bayeux.Option) *bayeux.Client {
	t.Helper()
	all := []bayeux.Option{
		bayeux.WithTransports(tc.new()...),
		bayeux.WithBackoff(20*time.Millisecond, 200*time.Millisecond),
		bayeux.WithMaxNetworkDelay(2 * time.Second),
		bayeux.WithTransportRetry(200 * time.Millisecond),
	}
	all = append(all, tc.opts...)
	all = append(all, opts...)
	c, err := bayeux.NewClient(srv.URL, all...)
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	t.Cleanup(func() { closeClient(t, c, false) })
	return c
}

// closeClient disconnects c at the end of a test and waits for Done:
// Disconnect waits for the client's own goroutines, Done for the handlers
// too, so that no goroutine of the client outlives the test. With strict,
// a Disconnect error fails the test.
func closeClient(t *testing.T, c *bayeux.Client, strict bool) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.Disconnect(ctx); err != nil && strict {
		t.Errorf("Disconnect: %v", err)
	}
	select {
	case <-c.Done():
	case <-ctx.Done():
		t.Errorf("Done not closed 5 s after Disconnect: a handler still runs")
	}
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func connect(t *testing.T, c *bayeux.Client) {
	t.Helper()
	if err := c.Connect(ctxT(t)); err != nil {
		t.Fatalf("Connect: %v", err)
	}
}

// collector gathers delivered messages for assertions.
type collector struct {
	mu   sync.Mutex
	msgs []bayeux.Message
	ch   chan struct{}
}

func newCollector() *collector { return &collector{ch: make(chan struct{}, 1)} }

func (c *collector) handle(m bayeux.Message) {
	c.mu.Lock()
	c.msgs = append(c.msgs, m)
	c.mu.Unlock()
	select {
	case c.ch <- struct{}{}:
	default:
	}
}

func (c *collector) snapshot() []bayeux.Message {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.msgs)
}

// waitN waits until at least n messages arrived.
func (c *collector) waitN(t *testing.T, n int) []bayeux.Message {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		if got := c.snapshot(); len(got) >= n {
			return got
		}
		select {
		case <-c.ch:
		case <-deadline:
			t.Fatalf("got %d messages, want %d: %v", len(c.snapshot()), n, c.snapshot())
		}
	}
}

func dataOf(t *testing.T, m bayeux.Message) string {
	t.Helper()
	var s string
	if err := json.Unmarshal(m.Data, &s); err != nil {
		t.Fatalf("data %s: %v", m.Data, err)
	}
	return s
}

// publishUntil publishes data until col has n messages: deliveries after a
// re-handshake depend on the re-subscription, which the test cannot see.
func publishUntil(t *testing.T, c *bayeux.Client, ch bayeux.Channel, col *collector, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for i := 0; len(col.snapshot()) < n; i++ {
		if time.Now().After(deadline) {
			t.Fatalf("no delivery after %d publishes", i)
		}
		_ = c.Publish(ctxT(t), ch, fmt.Sprintf("retry-%d", i))
		select {
		case <-col.ch:
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func TestClientPublishSubscribe(t *testing.T) {
	leakCheck(t)
	forEachTransport(t, func(t *testing.T, tc transportCase) {
		srv := newServer(t)
		a := newClient(t, srv, tc)
		b := newClient(t, srv, tc)
		connect(t, a)
		connect(t, b)
		ctx := ctxT(t)

		colA, colB := newCollector(), newCollector()
		if _, err := a.Subscribe(ctx, "/chat/room", colA.handle); err != nil {
			t.Fatal(err)
		}
		if _, err := b.Subscribe(ctx, "/chat/room", colB.handle); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 5; i++ {
			if err := a.Publish(ctx, "/chat/room", fmt.Sprintf("m%d", i)); err != nil {
				t.Fatalf("Publish: %v", err)
			}
		}
		for _, col := range []*collector{colA, colB} {
			got := col.waitN(t, 5)
			for i, m := range got[:5] {
				if m.Channel != "/chat/room" || dataOf(t, m) != fmt.Sprintf("m%d", i) {
					t.Fatalf("message %d = %s %s, want in order", i, m.Channel, m.Data)
				}
				if m.ClientID != "" {
					t.Errorf("delivered message leaks clientId %q", m.ClientID)
				}
			}
		}
		// Nothing is delivered twice.
		if err := a.Publish(ctx, "/chat/room", "last"); err != nil {
			t.Fatal(err)
		}
		for _, col := range []*collector{colA, colB} {
			if got := col.waitN(t, 6); len(got) != 6 || dataOf(t, got[5]) != "last" {
				t.Errorf("got %d messages, want exactly 6", len(got))
			}
		}
		if got := a.TransportName(); got != tc.want {
			t.Errorf("transport = %s, want %s", got, tc.want)
		}
		if a.State() != bayeux.StateConnected && a.State() != bayeux.StateConnecting {
			t.Errorf("state = %v", a.State())
		}
	})
}

func TestClientWildcardsAndSharedSubscriptions(t *testing.T) {
	leakCheck(t)
	forEachTransport(t, func(t *testing.T, tc transportCase) {
		srv := newServer(t)
		c := newClient(t, srv, tc)
		connect(t, c)
		ctx := ctxT(t)

		one, many, exact, exact2 := newCollector(), newCollector(), newCollector(), newCollector()
		s1, err := c.Subscribe(ctx, "/foo/*", one.handle)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Subscribe(ctx, "/foo/**", many.handle); err != nil {
			t.Fatal(err)
		}
		e1, err := c.Subscribe(ctx, "/foo/bar", exact.handle)
		if err != nil {
			t.Fatal(err)
		}
		e2, err := c.Subscribe(ctx, "/foo/bar", exact2.handle)
		if err != nil {
			t.Fatal(err)
		}
		if n := srv.Count(bayeux.MetaSubscribe); n != 3 {
			t.Errorf("server saw %d /meta/subscribe, want 3 (one per channel)", n)
		}
		for _, ch := range []bayeux.Channel{"/foo/bar", "/foo/bar/baz", "/foo"} {
			if err := c.Publish(ctx, ch, string(ch)); err != nil {
				t.Fatal(err)
			}
		}
		if err := c.Publish(ctx, "/foo/end", "end"); err != nil {
			t.Fatal(err)
		}
		// /foo/* gets /foo/bar and /foo/end; /foo/** gets all three below /foo.
		wantData := func(col *collector, want ...string) {
			t.Helper()
			got := col.waitN(t, len(want))
			var ds []string
			for _, m := range got {
				ds = append(ds, dataOf(t, m))
			}
			if !slices.Equal(ds, want) {
				t.Errorf("got %v, want %v", ds, want)
			}
		}
		wantData(many, "/foo/bar", "/foo/bar/baz", "end")
		wantData(one, "/foo/bar", "end")
		wantData(exact, "/foo/bar")
		wantData(exact2, "/foo/bar")

		// Removing one of two subscriptions to /foo/bar sends nothing.
		if err := e1.Unsubscribe(ctx); err != nil {
			t.Fatal(err)
		}
		if n := srv.Count(bayeux.MetaUnsubscribe); n != 0 {
			t.Errorf("unsubscribe sent with a subscription left: %d", n)
		}
		if err := e2.Unsubscribe(ctx); err != nil {
			t.Fatal(err)
		}
		if err := s1.Unsubscribe(ctx); err != nil {
			t.Fatal(err)
		}
		if n := srv.Count(bayeux.MetaUnsubscribe); n != 2 {
			t.Errorf("server saw %d /meta/unsubscribe, want 2", n)
		}
		if err := c.Publish(ctx, "/foo/bar", "after"); err != nil {
			t.Fatal(err)
		}
		wantData(many, "/foo/bar", "/foo/bar/baz", "end", "after")
		if n := len(exact.snapshot()) + len(exact2.snapshot()) + len(one.snapshot()); n != 4 {
			t.Errorf("removed subscriptions got messages: %d", n)
		}
	})
}

func TestClientRecoversLostSession(t *testing.T) {
	leakCheck(t)
	forEachTransport(t, func(t *testing.T, tc transportCase) {
		for _, how := range []string{"expire", "restart"} {
			t.Run(how, func(t *testing.T) {
				srv := newServer(t)
				var mu sync.Mutex
				var states []bayeux.State
				c := newClient(t, srv, tc, bayeux.WithStateListener(func(sc bayeux.StateChange) {
					mu.Lock()
					states = append(states, sc.To)
					mu.Unlock()
				}))
				connect(t, c)
				ctx := ctxT(t)
				col := newCollector()
				if _, err := c.Subscribe(ctx, "/news", col.handle); err != nil {
					t.Fatal(err)
				}
				first := c.ClientID()
				if how == "expire" {
					if !srv.ExpireSession(first) {
						t.Fatal("session not found")
					}
					// The server refuses the publish (unknown client); the
					// client re-handshakes at once and sends it again.
					if err := c.Publish(ctx, "/other", "x"); err != nil {
						t.Fatalf("publish right after the session expired: %v", err)
					}
				} else {
					srv.Restart()
				}
				// Messages flow again, through the renewed subscription.
				publishUntil(t, c, "/news", col, 1)
				if c.ClientID() == first || c.ClientID() == "" {
					t.Errorf("clientId %q after re-handshake, was %q", c.ClientID(), first)
				}
				if srv.HandshakeCount() < 2 {
					t.Errorf("handshakes = %d", srv.HandshakeCount())
				}
				// State changes reach the listener asynchronously, in order.
				seen := func() bool {
					mu.Lock()
					defer mu.Unlock()
					return slices.Contains(states, bayeux.StateRehandshaking)
				}
				for deadline := time.Now().Add(2 * time.Second); !seen() && time.Now().Before(deadline); {
					time.Sleep(5 * time.Millisecond)
				}
				if !seen() {
					mu.Lock()
					defer mu.Unlock()
					t.Errorf("states %v lack rehandshaking", states)
				}
			})
		}
	})
}

func TestClientBacksOffAndRecovers(t *testing.T) {
	leakCheck(t)
	forEachTransport(t, func(t *testing.T, tc transportCase) {
		srv := newServer(t)
		var errs atomic.Int32
		c := newClient(t, srv, tc, bayeux.WithErrorHandler(func(error) { errs.Add(1) }))
		connect(t, c)
		ctx := ctxT(t)
		col := newCollector()
		if _, err := c.Subscribe(ctx, "/x", col.handle); err != nil {
			t.Fatal(err)
		}
		srv.InjectFault(bayeuxtest.Fault{Channel: bayeux.MetaConnect, Times: 3, Status: http.StatusServiceUnavailable, Transport: tc.want})
		srv.InjectFault(bayeuxtest.Fault{Channel: bayeux.MetaConnect, Times: 1, Tear: true, Transport: tc.want})
		if err := srv.WaitFor(ctx, func(s *bayeuxtest.Server) bool { return s.PendingFaults() == 0 }); err != nil {
			t.Fatalf("faults not consumed: %v", err)
		}
		publishUntil(t, c, "/x", col, 1)
		if errs.Load() == 0 {
			t.Error("no error reported for the failed connects")
		}
	})
}

func TestClientFirstConnectHasTimeoutZero(t *testing.T) {
	leakCheck(t)
	srv := newServer(t)
	c := newClient(t, srv, transportCases[0])
	connect(t, c)
	ctx := ctxT(t)
	if err := srv.WaitFor(ctx, func(s *bayeuxtest.Server) bool { return s.Count(bayeux.MetaConnect) >= 2 }); err != nil {
		t.Fatal(err)
	}
	var connects []bayeux.Message
	for _, m := range srv.Received() {
		if m.Channel == bayeux.MetaConnect {
			connects = append(connects, m)
		}
	}
	if a := connects[0].Advice; a == nil || !a.HasTimeout() || a.Timeout != 0 {
		t.Errorf("first connect advice = %+v, want timeout 0", a)
	}
	if a := connects[1].Advice; a != nil && a.HasTimeout() {
		t.Errorf("second connect advice = %+v, want none", a)
	}
	for i, m := range srv.Received() {
		if m.ID == "" {
			t.Errorf("message %d on %s has no id", i, m.Channel)
		}
	}
}

func TestClientReconnectNoneEndsSession(t *testing.T) {
	leakCheck(t)
	var deny atomic.Bool
	ext := bayeuxtest.ExtensionFuncs{Out: func(m *bayeux.Message) {
		if m.Channel == bayeux.MetaConnect && deny.Load() {
			m.Successful = false
			m.Error = "403::go away"
			m.Advice = &bayeux.Advice{Reconnect: bayeux.ReconnectNone}
		}
	}}
	srv := newServer(t, bayeuxtest.WithExtension(ext))
	c := newClient(t, srv, transportCases[0])
	connect(t, c)
	deny.Store(true)
	select {
	case <-c.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("session did not end")
	}
	if err := c.Err(); !errors.Is(err, bayeux.ErrSessionTerminated) || !errors.Is(err, bayeux.ErrConnectFailed) {
		t.Fatalf("Err() = %v, want ErrSessionTerminated and ErrConnectFailed", err)
	}
	var se *bayeux.ServerError
	if !errors.As(c.Err(), &se) || se.Code != 403 || se.Message != "go away" {
		t.Errorf("server error not kept: %+v", se)
	}
	if err := c.Publish(ctxT(t), "/x", 1); !errors.Is(err, bayeux.ErrClosed) {
		t.Errorf("Publish after end = %v, want ErrClosed", err)
	}
	if c.State() != bayeux.StateDisconnected {
		t.Errorf("state = %v", c.State())
	}
}

func TestClientHandshakeDenied(t *testing.T) {
	leakCheck(t)
	ext := bayeuxtest.ExtensionFuncs{In: func(m *bayeux.Message) {
		if m.Channel == bayeux.MetaHandshake {
			m.Error = "403::Handshake denied"
		}
	}}
	srv := newServer(t, bayeuxtest.WithExtension(ext))
	c := newClient(t, srv, transportCases[0])
	err := c.Connect(ctxT(t))
	if !errors.Is(err, bayeux.ErrHandshakeDenied) {
		t.Fatalf("Connect = %v, want ErrHandshakeDenied", err)
	}
	var se *bayeux.ServerError
	if !errors.As(err, &se) || se.Code != 403 || se.Raw != "403::Handshake denied" {
		t.Errorf("ServerError = %+v", se)
	}
}

func TestClientNoCommonTransport(t *testing.T) {
	leakCheck(t)
	// A spec-following server refuses the handshake (Faye and bayeuxtest:
	// 301); the client offers only "websocket" here but sends over HTTP.
	srv := newServer(t, bayeuxtest.WithConnectionTypes("long-polling"))
	c, err := bayeux.NewClient(srv.URL, bayeux.WithTransports(&namedHandlerTransport{name: "websocket", handlerTransport: handlerTransport{h: srv.Handler()}}))
	if err != nil {
		t.Fatal(err)
	}
	err = c.Connect(ctxT(t))
	var se *bayeux.ServerError
	if !errors.Is(err, bayeux.ErrHandshakeDenied) || !errors.As(err, &se) || se.Code != 301 {
		t.Fatalf("Connect = %v, want the server's 301 handshake denial", err)
	}

	// A CometD server answers success anyway: the client fails locally.
	tr := &scripted{closed: make(chan struct{})}
	tr.answer = func(msgs []bayeux.Message) ([]bayeux.Message, error) {
		r := reply(msgs[0], true)
		r.ClientID, r.Version, r.SupportedConnectionTypes = "abc", "1.0", []string{"carrier-pigeon"}
		return []bayeux.Message{r}, nil
	}
	c2, err := bayeux.NewClient("http://example.invalid/", bayeux.WithTransports(tr))
	if err != nil {
		t.Fatal(err)
	}
	if err := c2.Connect(ctxT(t)); !errors.Is(err, bayeux.ErrNoCommonTransport) {
		t.Fatalf("Connect = %v, want ErrNoCommonTransport", err)
	}
}

type namedHandlerTransport struct {
	name string
	handlerTransport
}

func (t *namedHandlerTransport) Name() string { return t.name }

func TestClientCallBatchAndDenial(t *testing.T) {
	leakCheck(t)
	forEachTransport(t, func(t *testing.T, tc transportCase) {
		ext := bayeuxtest.ExtensionFuncs{In: func(m *bayeux.Message) {
			if m.Channel == "/forbidden" {
				m.Error = "403::Publish denied"
			}
		}}
		srv := newServer(t, bayeuxtest.WithExtension(ext))
		srv.HandleService("/service/echo", func(m bayeux.Message) (any, error) {
			var v map[string]any
			if err := json.Unmarshal(m.Data, &v); err != nil {
				return nil, err
			}
			v["echo"] = true
			return v, nil
		})
		c := newClient(t, srv, tc)
		connect(t, c)
		ctx := ctxT(t)

		reply, err := c.Call(ctx, "/service/echo", map[string]any{"n": 7})
		if err != nil {
			t.Fatalf("Call: %v", err)
		}
		var got map[string]any
		if err := reply.Decode(&got); err != nil || got["n"] != float64(7) || got["echo"] != true {
			t.Fatalf("Call reply = %s (%v)", reply.Data, err)
		}

		col := newCollector()
		if _, err := c.Subscribe(ctx, "/b/*", col.handle); err != nil {
			t.Fatal(err)
		}
		b := c.Batch().Publish("/b/1", "one").Publish("/b/2", "two").Publish("/b/3", "three")
		if err := b.Send(ctx); err != nil {
			t.Fatalf("batch: %v", err)
		}
		msgs := col.waitN(t, 3)
		if dataOf(t, msgs[0]) != "one" || dataOf(t, msgs[2]) != "three" {
			t.Errorf("batch order: %v", msgs)
		}

		err = c.Publish(ctx, "/forbidden", "x")
		var se *bayeux.ServerError
		if !errors.Is(err, bayeux.ErrPublishDenied) || !errors.As(err, &se) || se.Code != 403 {
			t.Fatalf("denied publish = %v", err)
		}
		err = c.Batch().Publish("/ok", 1).Publish("/forbidden", 2).Send(ctx)
		if !errors.Is(err, bayeux.ErrPublishDenied) {
			t.Fatalf("batch with a denied publish = %v", err)
		}
		if err := c.Publish(ctx, "/foo/*", 1); !errors.Is(err, bayeux.ErrBadChannel) {
			t.Errorf("publish to a pattern = %v", err)
		}
		if err := c.Publish(ctx, "/meta/foo", 1); !errors.Is(err, bayeux.ErrBadChannel) {
			t.Errorf("publish to /meta = %v", err)
		}
	})
}

func TestClientSlowConsumerDropsAndReports(t *testing.T) {
	leakCheck(t)
	srv := newServer(t)
	var reports, dropped atomic.Int32
	c := newClient(t, srv, transportCases[0],
		bayeux.WithDeliveryQueue(1, bayeux.OverflowDrop),
		bayeux.WithErrorHandler(func(err error) {
			var de *bayeux.DroppedMessageError
			if errors.As(err, &de) {
				reports.Add(1)
				if de.Message.Channel == "" {
					// The report that ends the episode holds its total.
					dropped.Store(int32(de.Count))
				}
				if len(de.Message.Data) > 0 {
					t.Error("a drop report keeps the message data alive")
				}
			}
		}))
	connect(t, c)
	ctx := ctxT(t)
	release := make(chan struct{})
	var got atomic.Int32
	sub, err := c.Subscribe(ctx, "/slow", func(bayeux.Message) {
		<-release
		got.Add(1)
	})
	if err != nil {
		t.Fatal(err)
	}
	b := c.Batch()
	for i := 0; i < 10; i++ {
		b.Publish("/slow", i)
	}
	if err := b.Send(ctx); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for sub.Dropped()+2 < 10 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	close(release)
	if sub.Dropped() < 8 {
		t.Fatalf("dropped = %d, want >= 8 (queue 1, one in the handler)", sub.Dropped())
	}
	for int(got.Load())+int(sub.Dropped()) < 10 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if int(got.Load())+int(sub.Dropped()) != 10 {
		t.Errorf("delivered %d + dropped %d != 10", got.Load(), sub.Dropped())
	}
	// The connect loop was never stalled: the client still works.
	if err := c.Publish(ctx, "/other", 1); err != nil {
		t.Fatal(err)
	}
	for dropped.Load() < int32(sub.Dropped()) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if dropped.Load() != int32(sub.Dropped()) {
		t.Errorf("episode report counted %d drops, counter %d", dropped.Load(), sub.Dropped())
	}
	// Once per slow-consumer episode (its start and its end), not once per
	// message.
	if n := reports.Load(); n != 2 {
		t.Errorf("error handler got %d drop reports, want 2 (episode start and end)", n)
	}
}

func TestClientHandlerMayCallClient(t *testing.T) {
	leakCheck(t)
	forEachTransport(t, func(t *testing.T, tc transportCase) {
		srv := newServer(t)
		c := newClient(t, srv, tc)
		connect(t, c)
		ctx := ctxT(t)
		pong := newCollector()
		if _, err := c.Subscribe(ctx, "/pong", pong.handle); err != nil {
			t.Fatal(err)
		}
		handled := make(chan struct{})
		if _, err := c.Subscribe(ctx, "/ping", func(m bayeux.Message) {
			defer close(handled)
			if _, err := c.Subscribe(ctx, "/late", func(bayeux.Message) {}); err != nil {
				t.Errorf("Subscribe from handler: %v", err)
			}
			if err := c.Publish(ctx, "/pong", "pong"); err != nil {
				t.Errorf("Publish from handler: %v", err)
			}
		}); err != nil {
			t.Fatal(err)
		}
		if err := c.Publish(ctx, "/ping", "ping"); err != nil {
			t.Fatal(err)
		}
		pong.waitN(t, 1)
		<-handled
	})
}

func TestClientDisconnect(t *testing.T) {
	leakCheck(t)
	forEachTransport(t, func(t *testing.T, tc transportCase) {
		srv := newServer(t)
		var mu sync.Mutex
		var last bayeux.StateChange
		c := newClient(t, srv, tc, bayeux.WithStateListener(func(sc bayeux.StateChange) {
			mu.Lock()
			last = sc
			mu.Unlock()
		}))
		connect(t, c)
		ctx := ctxT(t)
		if _, err := c.Subscribe(ctx, "/d", func(bayeux.Message) {}); err != nil {
			t.Fatal(err)
		}
		id := c.ClientID()
		var wg sync.WaitGroup
		for i := 0; i < 4; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := c.Disconnect(ctx); err != nil {
					t.Errorf("Disconnect: %v", err)
				}
			}()
		}
		wg.Wait()
		if err := c.Disconnect(ctx); err != nil {
			t.Errorf("second Disconnect: %v", err)
		}
		if slices.Contains(srv.Sessions(), id) {
			t.Error("server still has the session after Disconnect")
		}
		if n := srv.Count(bayeux.MetaDisconnect); n != 1 {
			t.Errorf("server saw %d /meta/disconnect, want 1", n)
		}
		// The state listener runs user code: Disconnect does not wait for
		// it, Done does.
		<-c.Done()
		mu.Lock()
		if last.To != bayeux.StateDisconnected {
			t.Errorf("last state change %v, want disconnected once Done closed", last)
		}
		mu.Unlock()
		if _, err := c.Subscribe(ctx, "/d", func(bayeux.Message) {}); !errors.Is(err, bayeux.ErrClosed) {
			t.Errorf("Subscribe after Disconnect = %v", err)
		}
		// Disconnect from inside a handler does not deadlock.
		c2 := newClient(t, srv, tc)
		connect(t, c2)
		done := make(chan error, 1)
		if _, err := c2.Subscribe(ctx, "/bye", func(bayeux.Message) { done <- c2.Disconnect(context.Background()) }); err != nil {
			t.Fatal(err)
		}
		if err := c2.Publish(ctx, "/bye", 1); err != nil {
			t.Fatal(err)
		}
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Disconnect from handler: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("Disconnect from a handler deadlocked")
		}
		<-c2.Done()
	})
}

// recorder is an extension that records the calls it gets.
type recorder struct {
	name     string
	mu       *sync.Mutex // shared by the recorders of one test
	log      *[]string
	reg      atomic.Int32
	unreg    atomic.Int32
	incoming func(*bayeux.Message)
}

func (r *recorder) Name() string { return r.name }
func (r *recorder) Outgoing(m *bayeux.Message) {
	r.mu.Lock()
	*r.log = append(*r.log, r.name+" out "+string(m.Channel))
	r.mu.Unlock()
	m.GetExt(true)[r.name] = true
}
func (r *recorder) Incoming(m *bayeux.Message) {
	if r.incoming != nil {
		r.incoming(m)
	}
}
func (r *recorder) Registered(name string, _ *bayeux.BayeuxClient) {
	if name == r.name {
		r.reg.Add(1)
	}
}
func (r *recorder) Unregistered() { r.unreg.Add(1) }

func TestClientExtensions(t *testing.T) {
	leakCheck(t)
	srv := newServer(t)
	var log []string
	var mu sync.Mutex
	first := &recorder{name: "first", log: &log, mu: &mu}
	second := &recorder{name: "second", log: &log, mu: &mu, incoming: func(m *bayeux.Message) {
		if m.Channel == "/ext" && len(m.Data) > 0 {
			m.Data = json.RawMessage(`"changed"`)
		}
	}}
	c := newClient(t, srv, transportCases[0], bayeux.WithExtensions(first, second))
	if first.reg.Load() != 1 || second.reg.Load() != 1 {
		t.Fatal("Registered not called")
	}
	connect(t, c)
	ctx := ctxT(t)
	col := newCollector()
	if _, err := c.Subscribe(ctx, "/ext", col.handle); err != nil {
		t.Fatal(err)
	}
	if err := c.Publish(ctx, "/ext", "original"); err != nil {
		t.Fatal(err)
	}
	if got := dataOf(t, col.waitN(t, 1)[0]); got != "changed" {
		t.Errorf("incoming change lost: %q", got)
	}
	// Outgoing changes reach the wire, meta messages included.
	for _, m := range srv.Received() {
		if m.Ext["first"] != true || m.Ext["second"] != true {
			t.Errorf("%s on the wire without the extensions' ext: %v", m.Channel, m.Ext)
		}
	}
	// Outgoing runs in reverse registration order.
	first.mu.Lock()
	if len(log) < 2 || log[0] != "second out /meta/handshake" || log[1] != "first out /meta/handshake" {
		t.Errorf("outgoing order = %v", log[:min(2, len(log))])
	}
	first.mu.Unlock()
	if err := c.Disconnect(ctx); err != nil {
		t.Fatal(err)
	}
	if first.unreg.Load() != 1 || second.unreg.Load() != 1 {
		t.Error("Unregistered not called on Disconnect")
	}
}

func TestClientMetaListenerAndPullMode(t *testing.T) {
	leakCheck(t)
	srv := newServer(t)
	c := newClient(t, srv, transportCases[0])
	connects := newCollector()
	if _, err := c.AddListener("/meta/connect", connects.handle); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Subscribe(ctxT(t), "/early", nil); !errors.Is(err, bayeux.ErrBadState) {
		t.Errorf("Subscribe before Connect = %v, want ErrBadState", err)
	}
	connect(t, c)
	ctx := ctxT(t)
	if m := connects.waitN(t, 1)[0]; !m.Successful || m.Channel != bayeux.MetaConnect {
		t.Errorf("listener got %+v", m)
	}
	sub, err := c.Subscribe(ctx, "/pull", nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		if err := c.Publish(ctx, "/pull", i); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	for m := range sub.All(ctx) {
		got = append(got, string(m.Data))
		if len(got) == 3 {
			break
		}
	}
	if !slices.Equal(got, []string{"0", "1", "2"}) {
		t.Errorf("pulled %v", got)
	}
	if err := sub.Unsubscribe(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := sub.Next(ctx); !errors.Is(err, bayeux.ErrClosed) {
		t.Errorf("Next after Unsubscribe = %v", err)
	}
}

func TestClientHTTPClientUsedAsGivenWithCookieJar(t *testing.T) {
	leakCheck(t)
	srv := newServer(t, bayeuxtest.WithCookieBinding(true))
	var calls atomic.Int32
	base := &http.Transport{}
	t.Cleanup(base.CloseIdleConnections)
	rt := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		calls.Add(1)
		return base.RoundTrip(r)
	})
	hc := &http.Client{Transport: rt, Timeout: 0}
	before := *hc
	a := newClient(t, srv, transportCases[0], bayeux.WithHTTPClient(hc))
	b := newClient(t, srv, transportCases[0], bayeux.WithHTTPClient(hc))
	connect(t, a)
	connect(t, b)
	ctx := ctxT(t)
	col := newCollector()
	if _, err := b.Subscribe(ctx, "/jar", col.handle); err != nil {
		t.Fatal(err)
	}
	// With cookie binding, a message without the session's cookie would
	// be refused; each client keeps its own jar.
	if err := a.Publish(ctx, "/jar", "x"); err != nil {
		t.Fatal(err)
	}
	col.waitN(t, 1)
	if calls.Load() == 0 {
		t.Error("the user's RoundTripper was not used")
	}
	if hc.Jar != nil || hc.Timeout != before.Timeout || fmt.Sprintf("%p", hc.Transport) != fmt.Sprintf("%p", before.Transport) {
		t.Error("the user's http.Client was modified")
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestClientHostsAdviceFailover(t *testing.T) {
	leakCheck(t)
	backup := newServer(t)
	bu := backup.URL[len("http://"):]
	bu = bu[:len(bu)-len("/bayeux")]
	primary := bayeuxtest.NewServer(bayeuxtest.WithTimeout(200*time.Millisecond),
		bayeuxtest.WithMaxInterval(300*time.Millisecond), bayeuxtest.WithHostsAdvice([]string{bu}))
	t.Cleanup(primary.Close)
	c := newClient(t, primary, transportCases[0], bayeux.WithAllowedHosts(bu))
	connect(t, c)
	ctx := ctxT(t)
	col := newCollector()
	if _, err := c.Subscribe(ctx, "/h", col.handle); err != nil {
		t.Fatal(err)
	}
	primary.Close()
	if err := backup.WaitFor(ctx, func(s *bayeuxtest.Server) bool { return s.Subscribers("/h") == 1 }); err != nil {
		t.Fatalf("client did not fail over to the hosts advice: %v", err)
	}
	publishUntil(t, c, "/h", col, 1)
}

func TestClientWebSocketFallback(t *testing.T) {
	leakCheck(t)
	ws := transportCases[2]
	t.Run("upgrade refused", func(t *testing.T) {
		srv := newServer(t)
		srv.RefuseWebSocket(true)
		c := newClient(t, srv, ws)
		connect(t, c)
		col := newCollector()
		if _, err := c.Subscribe(ctxT(t), "/fb", col.handle); err != nil {
			t.Fatal(err)
		}
		if err := c.Publish(ctxT(t), "/fb", 1); err != nil {
			t.Fatal(err)
		}
		col.waitN(t, 1)
		if c.TransportName() != "long-polling" {
			t.Errorf("transport %s, want long-polling fallback", c.TransportName())
		}
		// Websocket back again: the client returns to it within the session.
		srv.RefuseWebSocket(false)
		id := c.ClientID()
		if err := srv.WaitFor(ctxT(t), func(s *bayeuxtest.Server) bool { return s.WebSockets() > 0 }); err != nil {
			t.Fatalf("client did not come back to websocket: %v", err)
		}
		publishUntil(t, c, "/fb", col, 2)
		if c.ClientID() != id {
			t.Errorf("session changed on the way back to websocket")
		}
	})
	t.Run("torn mid-session", func(t *testing.T) {
		srv := newServer(t)
		c := newClient(t, srv, ws)
		connect(t, c)
		col := newCollector()
		if _, err := c.Subscribe(ctxT(t), "/torn", col.handle); err != nil {
			t.Fatal(err)
		}
		srv.TearWebSockets()
		publishUntil(t, c, "/torn", col, 1)
		if c.TransportName() != "websocket" {
			t.Errorf("transport %s after a torn socket, want websocket", c.TransportName())
		}
	})
	t.Run("refused mid-session", func(t *testing.T) {
		srv := newServer(t)
		c := newClient(t, srv, ws)
		connect(t, c)
		col := newCollector()
		if _, err := c.Subscribe(ctxT(t), "/rm", col.handle); err != nil {
			t.Fatal(err)
		}
		srv.RefuseWebSocket(true)
		srv.TearWebSockets()
		publishUntil(t, c, "/rm", col, 1)
		if c.TransportName() != "long-polling" {
			t.Errorf("transport %s, want long-polling", c.TransportName())
		}
	})
}

func TestClientRequestDeadlineAndMalformedReplies(t *testing.T) {
	leakCheck(t)
	forEachTransport(t, func(t *testing.T, tc transportCase) {
		srv := newServer(t, bayeuxtest.WithTimeout(100*time.Millisecond))
		var mu sync.Mutex
		var errs []error
		c := newClient(t, srv, tc, bayeux.WithMaxNetworkDelay(300*time.Millisecond),
			bayeux.WithErrorHandler(func(err error) {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}))
		connect(t, c)
		ctx := ctxT(t)
		col := newCollector()
		if _, err := c.Subscribe(ctx, "/d", col.handle); err != nil {
			t.Fatal(err)
		}
		// A connect answered far beyond timeout + max network delay fails
		// on the client's deadline; garbage and unknown advice are typed
		// errors; the client recovers from all of them.
		srv.InjectFault(bayeuxtest.Fault{Channel: bayeux.MetaConnect, Transport: tc.want, Delay: 3 * time.Second})
		srv.InjectFault(bayeuxtest.Fault{Channel: bayeux.MetaConnect, Transport: tc.want, Raw: []byte(`{"not":"bayeux"`)})
		srv.InjectFault(bayeuxtest.Fault{Channel: bayeux.MetaConnect, Transport: tc.want,
			Raw: []byte(`[{"channel":"/meta/connect","successful":false,"advice":{"reconnect":"teleport","interval":0}}]`)})
		if err := srv.WaitFor(ctx, func(s *bayeuxtest.Server) bool { return s.PendingFaults() == 0 }); err != nil {
			t.Fatal(err)
		}
		publishUntil(t, c, "/d", col, 1)
		mu.Lock()
		defer mu.Unlock()
		var deadline, malformed bool
		for _, err := range errs {
			deadline = deadline || errors.Is(err, context.DeadlineExceeded)
			malformed = malformed || errors.Is(err, bayeux.ErrMalformed)
		}
		if !deadline || !malformed {
			t.Errorf("errors reported %v: want a deadline and a malformed-message error", errs)
		}
	})
}

func TestClientNeverSpins(t *testing.T) {
	leakCheck(t)
	srv := newServer(t)
	c := newClient(t, srv, transportCases[0], bayeux.WithBackoff(50*time.Millisecond, 200*time.Millisecond))
	connect(t, c)
	srv.InjectFault(bayeuxtest.Fault{Channel: bayeux.MetaConnect, Times: -1, Status: http.StatusInternalServerError})
	before := srv.Count(bayeux.MetaConnect)
	time.Sleep(time.Second)
	n := srv.Count(bayeux.MetaConnect) - before
	srv.ClearFaults()
	// Backoff 50, 100, 150, 200, 200... ms: about 7 attempts in a second.
	// A client that spins makes thousands.
	if n > 20 {
		t.Errorf("%d connects in one second of failures: the client does not back off", n)
	}
	if c.State() != bayeux.StateReconnecting {
		t.Errorf("state during failures = %v", c.State())
	}
}

func TestClientPublishHasADeadline(t *testing.T) {
	leakCheck(t)
	forEachTransport(t, func(t *testing.T, tc transportCase) {
		srv := newServer(t)
		c := newClient(t, srv, tc, bayeux.WithMaxNetworkDelay(200*time.Millisecond))
		connect(t, c)
		srv.InjectFault(bayeuxtest.Fault{Channel: "/slow", Delay: 3 * time.Second})
		// context.Background: the client's own deadline must end the call.
		err := c.Publish(context.Background(), "/slow", 1)
		if !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, bayeux.ErrTransport) {
			t.Fatalf("Publish to a server that does not answer = %v, want a transport error on the deadline", err)
		}
	})
}

func TestClientConnectFailsFastWhenNothingCanWork(t *testing.T) {
	leakCheck(t)
	srv := newServer(t)
	srv.RefuseWebSocket(true)
	c, err := bayeux.NewClient(srv.URL, bayeux.WithTransports(websocket.New()))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Connect(ctxT(t)); !errors.Is(err, bayeux.ErrNoTransport) {
		t.Fatalf("websocket-only client, upgrade refused: Connect = %v, want ErrNoTransport", err)
	}
	c2, err := bayeux.NewClient(srv.URL+"/../nowhere", bayeux.WithTransports(longpoll.New()))
	if err != nil {
		t.Fatal(err)
	}
	var te *bayeux.TransportError
	if err := c2.Connect(ctxT(t)); !errors.As(err, &te) || te.StatusCode != http.StatusNotFound {
		t.Fatalf("wrong URL: Connect = %v, want the 404", err)
	}
}

func TestClientEverythingSubscriptionGetsNoMetaReplies(t *testing.T) {
	leakCheck(t)
	srv := newServer(t)
	c := newClient(t, srv, transportCases[0])
	connect(t, c)
	ctx := ctxT(t)
	all, meta := newCollector(), newCollector()
	if _, err := c.Subscribe(ctx, "/**", all.handle); err != nil {
		t.Fatal(err)
	}
	if _, err := c.AddListener("/meta/*", meta.handle); err != nil {
		t.Fatal(err)
	}
	if err := c.Publish(ctx, "/x/y", "event"); err != nil {
		t.Fatal(err)
	}
	all.waitN(t, 1)
	if err := c.Publish(ctx, "/x/z", "event2"); err != nil {
		t.Fatal(err)
	}
	for _, m := range all.waitN(t, 2) {
		if m.IsMeta() {
			t.Errorf("subscription to /** got a protocol reply on %s", m.Channel)
		}
	}
	meta.waitN(t, 1)
}

func TestClientBatchIsOneRequest(t *testing.T) {
	leakCheck(t)
	srv := newServer(t)
	base := &http.Transport{}
	t.Cleanup(base.CloseIdleConnections)
	var mu sync.Mutex
	var publishRequests []int // messages per request that carried publishes
	rt := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		if r.Body != nil && r.Method == http.MethodPost {
			body, err := io.ReadAll(r.Body)
			if err != nil {
				return nil, err
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
			if msgs, err := bayeux.DecodeMessages(body); err == nil && len(msgs) > 0 && msgs[0].Channel == "/batch" {
				mu.Lock()
				publishRequests = append(publishRequests, len(msgs))
				mu.Unlock()
			}
		}
		return base.RoundTrip(r)
	})
	c := newClient(t, srv, transportCases[0], bayeux.WithHTTPTransport(rt))
	connect(t, c)
	b := c.Batch()
	for i := 0; i < 5; i++ {
		b.Publish("/batch", i)
	}
	if err := b.Send(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if !slices.Equal(publishRequests, []int{5}) {
		t.Errorf("batch went out as requests of %v messages, want one of 5", publishRequests)
	}
}
