package bayeux_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bayeux-go/sdk/bayeux"
)

// Each test below holds a request in flight, queued, or answered late
// while the session changes, with the scriptServer transport, and checks that
// the server ends up holding exactly what the client's subscriptions want.

// A /meta/subscribe still in flight when the server drops the session is
// answered successfully afterwards: the channel must still be subscribed
// in the new session.
func TestSessionLateSubscribeReplyDoesNotSkipResubscribe(t *testing.T) {
	leakCheck(t)
	f := newScripted(t)
	c := newScriptedClient(t, f)
	release := make(chan struct{})
	var once sync.Once
	f.setHook(func(ctx context.Context, m bayeux.Message) (*bayeux.Message, <-chan struct{}) {
		if isSubscribe("/a")(m) && m.ClientID == "c1" {
			r := ok(m)
			return &r, release // held, then answered "successful" for c1
		}
		return nil, nil
	})
	done := make(chan error, 1)
	go func() {
		_, err := c.Subscribe(ctxT(t), "/a", func(bayeux.Message) {})
		done <- err
	}()
	eventually(t, "the subscribe in flight", func() bool { return f.count(isSubscribe("/a")) == 1 })
	f.expire("c1")
	eventually(t, "a new session", func() bool { return c.ClientID() == "c2" })
	once.Do(func() { close(release) })
	if err := <-done; err != nil {
		t.Fatalf("Subscribe: %v", err)
	}
	eventually(t, "/a subscribed in the new session", func() bool { return f.subscribed("c2", "/a") })
}

// A publish that learns "unknown client" for the old session while the
// loop is already re-handshaking must not end the new session.
func TestSessionStaleUnknownClientLeavesNewSessionAlone(t *testing.T) {
	leakCheck(t)
	f := newScripted(t)
	c := newScriptedClient(t, f)
	release := make(chan struct{})
	f.setHook(func(ctx context.Context, m bayeux.Message) (*bayeux.Message, <-chan struct{}) {
		if m.Channel == "/p" && m.ClientID == "c1" {
			r := unknownClient(m)
			return &r, release
		}
		return nil, nil
	})
	done := make(chan error, 1)
	go func() { done <- c.Publish(ctxT(t), "/p", 1) }()
	eventually(t, "the publish in flight", func() bool { return f.count(func(m bayeux.Message) bool { return m.Channel == "/p" }) == 1 })
	f.expire("c1")
	eventually(t, "a new session", func() bool { return c.ClientID() == "c2" && c.State() == bayeux.StateConnected })
	close(release)
	if err := <-done; err != nil {
		t.Fatalf("Publish (re-sent once in the new session): %v", err)
	}
	// Give a wrongly lost session time to show.
	time.Sleep(300 * time.Millisecond)
	if n := f.handshakeCount(); n != 2 {
		t.Fatalf("handshakes = %d, want 2: a stale unknown-client reply ended the new session", n)
	}
	if id := c.ClientID(); id != "c2" {
		t.Fatalf("ClientID = %q, want c2", id)
	}
}

// Unsubscribe while the re-subscription is in flight: the unsubscribe is
// carried out once it completes.
func TestSessionUnsubscribeDuringResubscribe(t *testing.T) {
	leakCheck(t)
	f := newScripted(t)
	c := newScriptedClient(t, f)
	sub, err := c.Subscribe(ctxT(t), "/a", func(bayeux.Message) {})
	if err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	f.setHook(func(ctx context.Context, m bayeux.Message) (*bayeux.Message, <-chan struct{}) {
		if isSubscribe("/a")(m) && m.ClientID == "c2" {
			r := ok(m)
			return &r, release
		}
		return nil, nil
	})
	f.expire("c1")
	eventually(t, "the re-subscribe in flight", func() bool { return f.count(isSubscribe("/a")) == 2 })
	if st := sub.State(); st != bayeux.SubscriptionResubscribing {
		t.Errorf("state during re-subscription = %v, want resubscribing", st)
	}
	done := make(chan error, 1)
	go func() { done <- sub.Unsubscribe(ctxT(t)) }()
	eventually(t, "Unsubscribe to take the subscription out", func() bool {
		return sub.State() == bayeux.SubscriptionUnsubscribed
	})
	close(release)
	if err := <-done; err != nil {
		t.Fatalf("Unsubscribe: %v", err)
	}
	if f.subscribed("c2", "/a") {
		t.Fatal("the server kept the subscription")
	}
	if n := f.count(isUnsubscribe("/a")); n != 1 {
		t.Fatalf("unsubscribes sent = %d, want 1", n)
	}
	if st := sub.State(); st != bayeux.SubscriptionUnsubscribed {
		t.Errorf("state = %v, want unsubscribed", st)
	}
}

// A Subscribe whose context ends mid-request leaves nothing behind.
func TestSessionSubscribeCanceledLeavesNothingBehind(t *testing.T) {
	leakCheck(t)
	f := newScripted(t)
	c := newScriptedClient(t, f)
	release := make(chan struct{})
	f.setHook(func(ctx context.Context, m bayeux.Message) (*bayeux.Message, <-chan struct{}) {
		if isSubscribe("/a")(m) {
			r := ok(m)
			return &r, release
		}
		return nil, nil
	})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err := c.Subscribe(ctx, "/a", func(bayeux.Message) {})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Subscribe = %v, want a deadline error", err)
	}
	close(release)
	eventually(t, "the /meta/unsubscribe", func() bool { return f.count(isUnsubscribe("/a")) == 1 })
	eventually(t, "the server to drop /a", func() bool { return !f.subscribed("c1", "/a") })
}

// A denied re-subscription is retried with backoff, through the outgoing
// extensions each time, and the Subscription shows it; a denied first
// Subscribe returns the error.
func TestSessionDeniedResubscriptionIsRetried(t *testing.T) {
	leakCheck(t)
	f := newScripted(t)
	var outgoing atomic.Int32
	ext := &countingExt{onOut: func(m *bayeux.Message) {
		if isSubscribe("/a")(*m) {
			outgoing.Add(1)
		}
	}}
	errs := make(chan error, 64)
	c := newScriptedClient(t, f, bayeux.WithExtensions(ext), bayeux.WithErrorHandler(func(err error) {
		select {
		case errs <- err:
		default:
		}
	}))
	sub, err := c.Subscribe(ctxT(t), "/a", func(bayeux.Message) {})
	if err != nil {
		t.Fatal(err)
	}
	var denials atomic.Int32
	const invalid = "400::The replayId {42} you provided was invalid.  Please provide a valid ID, -2 to replay all events, or -1 for new events."
	f.setHook(func(ctx context.Context, m bayeux.Message) (*bayeux.Message, <-chan struct{}) {
		if isSubscribe("/a")(m) && m.ClientID != "c1" && denials.Add(1) <= 2 {
			r := deny(m, invalid)
			return &r, nil
		}
		if isSubscribe("/b")(m) {
			r := deny(m, "403::forbidden")
			return &r, nil
		}
		return nil, nil
	})
	f.expire("c1")
	eventually(t, "the failed state", func() bool { return sub.State() == bayeux.SubscriptionFailed })
	if !errors.Is(sub.Err(), bayeux.ErrSubscriptionDenied) {
		t.Errorf("Err = %v, want ErrSubscriptionDenied", sub.Err())
	}
	eventually(t, "the re-subscription to succeed", func() bool { return f.subscribed("c2", "/a") })
	eventually(t, "the subscribed state", func() bool { return sub.State() == bayeux.SubscriptionSubscribed })
	if sub.Err() != nil {
		t.Errorf("Err after recovery = %v", sub.Err())
	}
	if n := outgoing.Load(); n < 4 {
		t.Errorf("subscribes through the extensions = %d, want 4 (first, 2 denied, accepted)", n)
	}
	reported := 0
	for len(errs) > 0 {
		if errors.Is(<-errs, bayeux.ErrSubscriptionDenied) {
			reported++
		}
	}
	if reported != 2 {
		t.Errorf("denials reported = %d, want 2", reported)
	}
	if _, err := c.Subscribe(ctxT(t), "/b", func(bayeux.Message) {}); !errors.Is(err, bayeux.ErrSubscriptionDenied) {
		t.Errorf("denied first Subscribe = %v, want ErrSubscriptionDenied", err)
	}
}

// With OverflowBlock, a handler that calls Publish does not deadlock the
// client, nothing is dropped, and Disconnect honours its context.
func TestSessionOverflowBlockHandlerPublishes(t *testing.T) {
	leakCheck(t)
	f := newScripted(t)
	c := newScriptedClient(t, f, bayeux.WithDeliveryQueue(1, bayeux.OverflowBlock))
	var got atomic.Int32
	var pubErr atomic.Value
	_, err := c.Subscribe(ctxT(t), "/a", func(m bayeux.Message) {
		if err := c.Publish(ctxT(t), "/echo", 1); err != nil {
			pubErr.Store(err)
		}
		got.Add(1)
	})
	if err != nil {
		t.Fatal(err)
	}
	evs := make([]bayeux.Message, 10)
	for i := range evs {
		evs[i] = event("/a", i)
	}
	f.push(evs...)
	eventually(t, "every event handled", func() bool { return got.Load() == 10 })
	if err, _ := pubErr.Load().(error); err != nil {
		t.Fatalf("Publish from the handler: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := c.Disconnect(ctx); err != nil {
		t.Fatalf("Disconnect: %v", err)
	}
}

// Connect racing Disconnect: no data race, and Connect returns.
func TestSessionConnectRacingDisconnect(t *testing.T) {
	leakCheck(t)
	for i := 0; i < 20; i++ {
		f := newScripted(t)
		hold := make(chan struct{})
		f.setHook(func(ctx context.Context, m bayeux.Message) (*bayeux.Message, <-chan struct{}) {
			if m.Channel == bayeux.MetaHandshake {
				select { // a transport returns when its context ends
				case <-hold:
				case <-ctx.Done():
				}
			}
			return nil, nil
		})
		c, err := bayeux.NewClient("http://scripted.test/bayeux", bayeux.WithTransports(f))
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- c.Connect(context.Background()) }()
		time.Sleep(time.Duration(i%3) * time.Millisecond)
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		derr := make(chan error, 1)
		go func() { derr <- c.Disconnect(ctx) }()
		select {
		case err := <-done:
			if err == nil {
				t.Fatal("Connect succeeded while Disconnect ran during the first handshake")
			}
		case <-time.After(2 * time.Second):
			t.Fatal("Connect(context.Background()) blocked after Disconnect")
		}
		close(hold)
		if err := <-derr; err != nil {
			t.Fatalf("Disconnect: %v", err)
		}
		cancel()
		select {
		case <-c.Done():
		case <-time.After(2 * time.Second):
			t.Fatal("Done not closed")
		}
	}
}

// Reports are bounded: a server flooding the client with messages that
// are neither replies nor events, and with events for a slow subscription,
// yields a bounded number of reports, bounded memory, and a Disconnect
// that leaves no goroutine running.
func TestSessionReportFloodIsBounded(t *testing.T) {
	leakCheck(t)
	f := newScripted(t)
	f.connectDur = 5 * time.Millisecond
	var reports atomic.Int64
	c := newScriptedClient(t, f, bayeux.WithDeliveryQueue(4, bayeux.OverflowDrop),
		bayeux.WithMinConnectPeriod(time.Millisecond),
		bayeux.WithErrorHandler(func(error) {
			reports.Add(1)
			time.Sleep(10 * time.Microsecond)
		}))
	release := make(chan struct{})
	sub, err := c.Subscribe(ctxT(t), "/slow", func(bayeux.Message) { <-release })
	if err != nil {
		t.Fatal(err)
	}
	payloads := 0
	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	var peak uint64
	deadline := time.Now().Add(1500 * time.Millisecond)
	for time.Now().Before(deadline) {
		batch := make([]bayeux.Message, 0, 2000)
		for i := 0; i < 1000; i++ {
			batch = append(batch, bayeux.Message{Channel: "/stray"}, event("/slow", i))
		}
		f.push(batch...)
		payloads++
		time.Sleep(5 * time.Millisecond)
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		peak = max(peak, ms.HeapInuse)
	}
	close(release)
	if sub.Dropped() == 0 {
		t.Fatal("nothing was dropped: the flood did not reach the slow subscription")
	}
	// At most one stray report per payload, one or two drop reports per
	// episode, and the bounded queue's summary.
	if n := reports.Load(); n > int64(3*payloads+10) {
		t.Errorf("%d reports for %d payloads: not bounded", n, payloads)
	}
	if grow := int64(peak) - int64(before.HeapInuse); grow > 256<<20 {
		t.Errorf("heap grew by %d MiB under the flood", grow>>20)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.Disconnect(ctx); err != nil {
		t.Fatalf("Disconnect: %v", err)
	}
	// Disconnect does not wait for the handlers and the error handler
	// still working through their queues; Done does.
	select {
	case <-c.Done():
	case <-ctx.Done():
		t.Fatal("Done not closed 5 s after Disconnect returned nil")
	}
}

// An empty /meta/connect reply answered at once never makes the loop spin.
func TestSessionEmptyConnectsAreRateLimited(t *testing.T) {
	leakCheck(t)
	f := newScripted(t)
	f.connectDur = 0
	c := newScriptedClient(t, f)
	_ = c
	isConnect := func(m bayeux.Message) bool { return m.Channel == bayeux.MetaConnect }
	start := f.count(isConnect)
	time.Sleep(time.Second)
	if n := f.count(isConnect) - start; n > 12 {
		t.Fatalf("%d connects in 1s, want at most about 10", n)
	}
}

// A Disconnect called from a handler, or from a goroutine the handler
// starts and waits for, does not wait for that handler (Disconnect waits
// for the client's own goroutines, not for handlers; before, the second
// hung for ever with context.Background()); Done closes once it returned.
func TestSessionDisconnectFromHandler(t *testing.T) {
	for _, tt := range []struct {
		name       string
		disconnect func(c *bayeux.Client) error
	}{
		{"in the handler", func(c *bayeux.Client) error { return c.Disconnect(context.Background()) }},
		{"from a goroutine the handler waits for", func(c *bayeux.Client) error {
			done := make(chan error)
			go func() { done <- c.Disconnect(context.Background()) }()
			return <-done
		}},
	} {
		t.Run(tt.name, func(t *testing.T) { testDisconnectFromHandler(t, tt.disconnect) })
	}
}

func testDisconnectFromHandler(t *testing.T, disconnect func(c *bayeux.Client) error) {
	leakCheck(t)
	f := newScripted(t)
	c := newScriptedClient(t, f)
	result := make(chan error, 1)
	if _, err := c.Subscribe(ctxT(t), "/a", func(bayeux.Message) {
		result <- disconnect(c)
	}); err != nil {
		t.Fatal(err)
	}
	f.push(event("/a", 1))
	select {
	case err := <-result:
		if err != nil {
			t.Fatalf("Disconnect from a handler: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Disconnect from a handler hung")
	}
	select {
	case <-c.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("Done not closed after the handler returned")
	}
}

// countingExt is a MessageExtender calling onOut for each outgoing message.
type countingExt struct{ onOut func(*bayeux.Message) }

func (e *countingExt) Outgoing(m *bayeux.Message)              { e.onOut(m) }
func (e *countingExt) Incoming(*bayeux.Message)                {}
func (e *countingExt) Registered(string, *bayeux.BayeuxClient) {}
func (e *countingExt) Unregistered()                           {}

// Subscribe while the last subscription's /meta/unsubscribe is in flight:
// the new subscription is confirmed only once the server has it again.
func TestSessionSubscribeDuringUnsubscribe(t *testing.T) {
	leakCheck(t)
	f := newScripted(t)
	c := newScriptedClient(t, f)
	old, err := c.Subscribe(ctxT(t), "/a", func(bayeux.Message) {})
	if err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	f.setHook(func(ctx context.Context, m bayeux.Message) (*bayeux.Message, <-chan struct{}) {
		if isUnsubscribe("/a")(m) {
			r := ok(m)
			return &r, release
		}
		return nil, nil
	})
	unsubscribed := make(chan error, 1)
	go func() { unsubscribed <- old.Unsubscribe(ctxT(t)) }()
	eventually(t, "the unsubscribe in flight", func() bool { return f.count(isUnsubscribe("/a")) == 1 })
	done := make(chan error, 1)
	var sub *bayeux.Subscription
	go func() {
		var err error
		sub, err = c.Subscribe(ctxT(t), "/a", func(bayeux.Message) {})
		done <- err
	}()
	time.Sleep(50 * time.Millisecond)
	select {
	case err := <-done:
		t.Fatalf("Subscribe returned (%v) while the server was dropping the channel", err)
	default:
	}
	close(release)
	if err := <-unsubscribed; err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if !f.subscribed("c1", "/a") || sub.State() != bayeux.SubscriptionSubscribed {
		t.Fatalf("server has /a: %v; state %v", f.subscribed("c1", "/a"), sub.State())
	}
}

// A second Subscribe to a channel whose first subscription was just
// confirmed, while its reconciler has not yet finished, is confirmed too.
func TestSessionSecondSubscribeWhileReconcilerFinishes(t *testing.T) {
	leakCheck(t)
	f := newScripted(t)
	c := newScriptedClient(t, f)
	for i := 0; i < 200; i++ {
		ch := bayeux.Channel(fmt.Sprintf("/s/%d", i))
		if _, err := c.Subscribe(ctxT(t), ch, func(bayeux.Message) {}); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_, err := c.Subscribe(ctx, ch, func(bayeux.Message) {})
		cancel()
		if err != nil {
			t.Fatalf("second Subscribe to %s: %v", ch, err)
		}
	}
}

// Events pushed apart from the /meta/connect reply (as websocket servers
// do) make the connect not empty: the loop does not pace it.
func TestSessionPushedEventsAreNotEmptyConnects(t *testing.T) {
	leakCheck(t)
	f := newScripted(t)
	f.connectDur = 0
	var n atomic.Int32
	f.setHook(func(ctx context.Context, m bayeux.Message) (*bayeux.Message, <-chan struct{}) {
		if m.Channel == bayeux.MetaConnect && m.ClientID == "c1" {
			f.recv([]bayeux.Message{event("/p", int(n.Add(1)))}) // pushed, outside the reply
		}
		return nil, nil
	})
	c := newScriptedClient(t, f)
	var got atomic.Int32
	if _, err := c.Subscribe(ctxT(t), "/p", func(bayeux.Message) { got.Add(1) }); err != nil {
		t.Fatal(err)
	}
	start := got.Load()
	time.Sleep(500 * time.Millisecond)
	if d := got.Load() - start; d < 20 {
		t.Fatalf("%d events in 500 ms: connects bringing pushed events were paced as empty", d)
	}
}
