package ack_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/bayeux-go/sdk/bayeux"
	"github.com/bayeux-go/sdk/bayeux/bayeuxtest"
	"github.com/bayeux-go/sdk/ext/ack"
	"github.com/bayeux-go/sdk/internal/logtest"
	"github.com/bayeux-go/sdk/transport/longpoll"
	"github.com/bayeux-go/sdk/transport/websocket"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const channel bayeux.Channel = "/numbers"

// wake is added to the numbers published only to wake a held connect.
const wake = 1000000

// numbered collects the numbers delivered to a subscription.
type numbered struct{ ch chan int }

func (n numbered) handler(m bayeux.Message) {
	i, err := strconv.Atoi(string(m.Data))
	if err != nil {
		i = -1
	}
	n.ch <- i
}

func transportFor(kind string) bayeux.Transport {
	if kind == bayeux.ConnectionTypeWebSocket {
		return websocket.New()
	}
	return longpoll.New()
}

// runTorn publishes 1..total from the server, tearing the response of
// the /meta/connect that carries every fifth number (after the server took
// the events for it), and returns what the subscriber received once the
// last number arrived or the wait ended.
func runTorn(t *testing.T, kind string, ext *ack.Extension, total int) []int {
	t.Helper()
	srv := bayeuxtest.NewServer(bayeuxtest.WithAckExtension(true), bayeuxtest.WithTimeout(time.Second))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	opts := []bayeux.Option{
		bayeux.WithHTTPClient(&http.Client{Transport: srv.Client().Transport}),
		bayeux.WithTransports(transportFor(kind)),
		bayeux.WithBackoff(10*time.Millisecond, 50*time.Millisecond),
	}
	if ext != nil {
		opts = append(opts, bayeux.WithExtensions(ext))
	}

	c, err := bayeux.NewClient(srv.URL, opts...)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Disconnect(ctx) }()
	got := numbered{ch: make(chan int, total*2)}
	if _, err := c.Subscribe(ctx, channel, got.handler); err != nil {
		t.Fatal(err)
	}
	tears := 0
	for i := 1; i <= total; i++ {
		if i%5 == 0 {
			// The next connect is processed (held, then handed the
			// event below) but its response is torn.
			srv.InjectFault(bayeuxtest.Fault{Channel: bayeux.MetaConnect, Tear: true, Process: true})
			if err := srv.Publish(channel, wake+i); err != nil { // wakes the held connect
				t.Fatal(err)
			}
			if err := srv.WaitFor(ctx, func(s *bayeuxtest.Server) bool {
				return s.PendingFaults() == 0 && s.HeldConnects() == 1
			}); err != nil {
				t.Fatal(err)
			}
			tears++
		}
		if err := srv.Publish(channel, i); err != nil {
			t.Fatal(err)
		}
	}
	// A last number, published when no fault is pending, marks the end.
	if err := srv.WaitFor(ctx, func(s *bayeuxtest.Server) bool {
		return s.PendingFaults() == 0 && s.HeldConnects() == 1
	}); err != nil {
		t.Fatal(err)
	}
	if err := srv.Publish(channel, total+1); err != nil {
		t.Fatal(err)
	}
	var out []int
	for {
		select {
		case n := <-got.ch:
			switch {
			case n == total+1:
				return out
			case n < wake:
				out = append(out, n)
			}
		case <-ctx.Done():
			t.Fatalf("the last number did not arrive; got %v", out)
		}
	}
}

func checkAll(t *testing.T, got []int, total int) {
	t.Helper()
	if len(got) != total {
		t.Fatalf("received %d of %d: %v", len(got), total, got)
	}
	for i, n := range got {
		if n != i+1 {
			t.Fatalf("received %v: want 1..%d once each, in order", got, total)
		}
	}
}

func TestNoLossAcrossTornConnections(t *testing.T) {
	for _, kind := range []string{bayeux.ConnectionTypeLongPolling, bayeux.ConnectionTypeWebSocket} {
		t.Run(kind, func(t *testing.T) {
			const total = 30
			checkAll(t, runTorn(t, kind, ack.New(), total), total)
		})
	}
}

// TestLossWithoutExtension is the control: the same run without the
// extension loses the numbers whose connect response was torn. (Over
// websocket, bayeuxtest pushes events to sessions without the extension
// at once, outside connect responses, so the torn connects lose nothing
// there and only a frame in flight when a socket is torn can be lost,
// which no test can time.)
func TestLossWithoutExtension(t *testing.T) {
	const total = 30
	got := runTorn(t, bayeux.ConnectionTypeLongPolling, nil, total)
	if len(got) >= total {
		t.Fatalf("nothing lost without the extension: %v", got)
	}
	t.Logf("without ack: %d of %d received: %v", len(got), total, got)
}

// TestDuplicatesDropped: a connect reply loses its batch id on the way
// (its events arrive), so the client acknowledges an older batch and the
// server sends those events again; the extension delivers them once,
// whether the server puts events after the reply (Faye's order) or before
// it (CometD's), over long-polling and websocket.
func TestDuplicatesDropped(t *testing.T) {
	for _, kind := range []string{bayeux.ConnectionTypeLongPolling, bayeux.ConnectionTypeWebSocket} {
		for _, eventsFirst := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/eventsFirst=%v", kind, eventsFirst), func(t *testing.T) {
				testDuplicatesDropped(t, kind, eventsFirst)
			})
		}
	}
}

func testDuplicatesDropped(t *testing.T, kind string, eventsFirst bool) {
	var strip atomic.Bool
	lose := bayeuxtest.ExtensionFuncs{Out: func(m *bayeux.Message) {
		if m.Channel == bayeux.MetaConnect && m.Ext["ack"] != nil && strip.CompareAndSwap(true, false) {
			delete(m.Ext, "ack")
		}
	}}
	// The events of the batch whose id is lost are those the server sends
	// again: 1 to 3, or fewer when the publishes below were split over
	// several batches. The server's Debug log says how many.
	var resent atomic.Int64
	srv := bayeuxtest.NewServer(bayeuxtest.WithAckExtension(true), bayeuxtest.WithTimeout(time.Minute),
		bayeuxtest.WithExtension(lose), bayeuxtest.WithEventsBeforeReplies(eventsFirst),
		bayeuxtest.WithLogger(slog.New(logtest.Func(func(r slog.Record) {
			if v, ok := logtest.Attr(r, "events"); ok && r.Message == "bayeuxtest: ack: resending" {
				resent.Add(v.Int64())
			}
		}))))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	ext := ack.New()
	got := subscribed(ctx, t, srv, kind, ext)
	held := func() {
		t.Helper()
		if err := srv.WaitHeld(ctx, 1); err != nil {
			t.Fatal(err)
		}
	}
	held()
	strip.Store(true)
	for i := 1; i <= 3; i++ {
		if err := srv.Publish(channel, i); err != nil {
			t.Fatal(err)
		}
	}
	for i := 1; i <= 3; i++ {
		if n := <-got.ch; n != i {
			t.Fatalf("got %d, want %d", n, i)
		}
	}
	// The next connect acknowledges the batch before: 1..3 come again
	// (with 4 if it is published by then), and only 4 is delivered.
	held()
	if err := srv.Publish(channel, 4); err != nil {
		t.Fatal(err)
	}
	if n := <-got.ch; n != 4 {
		t.Fatalf("got %d after the resend, want 4", n)
	}
	if d, r := ext.Dropped(), resent.Load(); r == 0 || d != r {
		t.Fatalf("dropped %d duplicates, want the %d events the server sent again", d, r)
	}
	if !ext.Enabled() {
		t.Fatal("extension not enabled")
	}
}

// TestIdenticalEventsKept: events with the same content are not taken for
// duplicates when no resend is due.
func TestIdenticalEventsKept(t *testing.T) {
	srv := bayeuxtest.NewServer(bayeuxtest.WithAckExtension(true), bayeuxtest.WithTimeout(time.Minute))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	ext := ack.New()
	got := subscribed(ctx, t, srv, bayeux.ConnectionTypeLongPolling, ext)
	for round := 0; round < 3; round++ {
		if err := srv.WaitHeld(ctx, 1); err != nil {
			t.Fatal(err)
		}
		for range 3 {
			if err := srv.Publish(channel, 7); err != nil {
				t.Fatal(err)
			}
		}
		for i := range 3 {
			select {
			case n := <-got.ch:
				if n != 7 {
					t.Fatalf("got %d", n)
				}
			case <-ctx.Done():
				t.Fatalf("round %d: event %d of 3 missing; %d dropped", round, i+1, ext.Dropped())
			}
		}
	}
	if ext.Dropped() != 0 {
		t.Fatalf("dropped %d identical events", ext.Dropped())
	}
}

// subscribed connects a client with ext to srv over the kind of transport
// and subscribes it to channel; the client disconnects when the test ends.
func subscribed(ctx context.Context, t *testing.T, srv *bayeuxtest.Server, kind string, ext *ack.Extension) numbered {
	t.Helper()
	c, err := bayeux.NewClient(srv.URL, bayeux.WithHTTPClient(srv.Client()),
		bayeux.WithTransports(transportFor(kind)), bayeux.WithExtensions(ext))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = c.Disconnect(ctx)
	})
	got := numbered{ch: make(chan int, 100)}
	if _, err := c.Subscribe(ctx, channel, got.handler); err != nil {
		t.Fatal(err)
	}
	return got
}

// TestStaleConnectCopy: a copy of a /meta/connect reaches the server after
// the reply to the original (a request stuck in the network, its client
// gone), carrying the older ack. The server sends in its reply, which no
// one reads, the events of the batch the client received, and sends them
// again in the next batch, since the client did not acknowledge that one.
// The client sees a skipped batch id; the extension delivers the events
// once.
func TestStaleConnectCopy(t *testing.T) {
	srv := bayeuxtest.NewServer(bayeuxtest.WithAckExtension(true), bayeuxtest.WithTimeout(time.Minute))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	stale := &staleCopier{base: srv.Client().Transport}
	ext := ack.New()
	c, err := bayeux.NewClient(srv.URL, bayeux.WithHTTPTransport(stale),
		bayeux.WithTransports(longpoll.New()), bayeux.WithExtensions(ext))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Disconnect(ctx) }()
	got := numbered{ch: make(chan int, 100)}
	if _, err := c.Subscribe(ctx, channel, got.handler); err != nil {
		t.Fatal(err)
	}
	if err := srv.WaitHeld(ctx, 1); err != nil {
		t.Fatal(err)
	}
	stale.armed.Store(true)
	for i := 1; i <= 3; i++ {
		if err := srv.Publish(channel, i); err != nil {
			t.Fatal(err)
		}
	}
	if err := srv.WaitHeld(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if err := srv.Publish(channel, 4); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 4; i++ {
		select {
		case n := <-got.ch:
			if n != i {
				t.Fatalf("got %d, want %d (dropped %d)", n, i, ext.Dropped())
			}
		case <-ctx.Done():
			t.Fatalf("%d never arrived", i)
		}
	}
	if !stale.sent.Load() {
		t.Fatal("no stale copy sent")
	}
	if d := ext.Dropped(); d == 0 {
		t.Fatal("no copy dropped")
	}
}

// staleCopier sends, once armed, a copy of the first /meta/connect whose
// response carries events, after that response and before the client
// reads it, and discards the copy's response.
type staleCopier struct {
	base        http.RoundTripper
	armed, sent atomic.Bool
}

func (s *staleCopier) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil {
		b, err := io.ReadAll(req.Body)
		if err != nil {
			return nil, err
		}
		body = b
		req.Body = io.NopCloser(bytes.NewReader(b))
	}
	resp, err := s.base.RoundTrip(req)
	if err != nil || !bytes.Contains(body, []byte(bayeux.MetaConnect)) || !s.armed.Load() {
		return resp, err
	}
	reply, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(reply))
	if !bytes.Contains(reply, []byte(channel)) || !s.armed.CompareAndSwap(true, false) {
		return resp, nil
	}
	cp := req.Clone(req.Context())
	cp.Body = io.NopCloser(bytes.NewReader(body))
	if r, err := s.base.RoundTrip(cp); err == nil {
		_, _ = io.Copy(io.Discard, r.Body)
		r.Body.Close()
		s.sent.Store(true)
	}
	return resp, nil
}

// TestLargeBatchDuplicatesDropped drives the extension alone: a batch of
// 5,000 events (an outage of 25 s at 200 events a second) whose reply lost
// its batch id comes again whole after the next connect; every copy is
// dropped.
func TestLargeBatchDuplicatesDropped(t *testing.T) {
	const n = 5000
	ext := ack.New()
	ext.Outgoing(&bayeux.Message{Channel: bayeux.MetaHandshake})
	ext.Incoming(&bayeux.Message{Channel: bayeux.MetaHandshake, Successful: true, Ext: map[string]any{"ack": true}})
	event := func(i int) *bayeux.Message {
		return &bayeux.Message{Channel: channel, Data: json.RawMessage(strconv.Itoa(i))}
	}
	ext.Outgoing(&bayeux.Message{Channel: bayeux.MetaConnect, ID: "1"})
	ext.Incoming(&bayeux.Message{Channel: bayeux.MetaConnect, ID: "1", Successful: true, Ext: map[string]any{"ack": float64(1)}})
	ext.Outgoing(&bayeux.Message{Channel: bayeux.MetaConnect, ID: "2"})
	ext.Incoming(&bayeux.Message{Channel: bayeux.MetaConnect, ID: "2", Successful: true}) // its batch id lost
	for i := range n {
		if !ext.Keep(event(i)) {
			t.Fatalf("event %d dropped the first time", i)
		}
	}
	// The next connect acknowledges batch 1: the server sends the n
	// events again, then a new one.
	ext.Outgoing(&bayeux.Message{Channel: bayeux.MetaConnect, ID: "3"})
	ext.Incoming(&bayeux.Message{Channel: bayeux.MetaConnect, ID: "3", Successful: true, Ext: map[string]any{"ack": float64(3)}})
	for i := range n {
		if ext.Keep(event(i)) {
			t.Fatalf("copy of event %d kept (%d dropped)", i, ext.Dropped())
		}
	}
	if !ext.Keep(event(n)) {
		t.Fatal("the new event after the copies dropped")
	}
}
