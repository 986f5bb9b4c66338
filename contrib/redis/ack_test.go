package bayeuxredis

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/bayeux-go/sdk/bayeux"
	"github.com/bayeux-go/sdk/ext/replay"
)

// TestManualAckMovesThePosition: with WithManualAck the position moves on
// Ack only, and an Ack after the tenure ended is refused.
func TestManualAckMovesThePosition(t *testing.T) {
	b := newMiniredis(t)
	g := newGroup(t, b)
	var ids []int64
	for i := range 20 {
		ids = append(ids, must(g.srv.PublishEvent(orders, map[string]int{"n": i})))
	}
	got := make(chan *Event, 100)
	rdb := newRedis(t, b)
	c := must(NewConsumer(rdb, "acks", g.srv.URL, WithManualAck(), WithStart(replay.StartAll),
		WithLease(testTTL, testRenew, testMargin), WithFlushInterval(time.Millisecond)))
	if err := c.Handle(orders, func(_ context.Context, e *Event) { got <- e }); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	var events []*Event
	for range 20 {
		select {
		case e := <-got:
			events = append(events, e)
		case <-time.After(5 * time.Second):
			t.Fatal("events not delivered")
		}
	}
	// Acknowledge the 10th out of order, then an older one: the position
	// is the 10th.
	if err := events[9].Ack(); err != nil {
		t.Fatal(err)
	}
	if err := events[3].Ack(); err != nil {
		t.Fatal(err)
	}
	k := groupKeys("acks").positions
	waitFor(t, 2*time.Second, "the ack written", func() bool {
		return rdb.HGet(context.Background(), k, string(orders)).Val() == formatPosition(ids[9])
	})
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := events[15].Ack(); !errors.Is(err, ErrNotHolder) {
		t.Fatalf("Ack after the tenure ended = %v, want ErrNotHolder", err)
	}
	if v := rdb.HGet(context.Background(), k, string(orders)).Val(); v != formatPosition(ids[9]) {
		t.Fatalf("position after shutdown = %s, want %d (handled but not acknowledged events do not count)", v, ids[9])
	}
	if n := rdb.Exists(context.Background(), groupKeys("acks").lease).Val(); n != 0 {
		t.Fatal("a clean shutdown left the lease")
	}

	// The next member resumes after the 10th.
	next := must(NewConsumer(newRedis(t, b), "acks", g.srv.URL, WithManualAck(),
		WithLease(testTTL, testRenew, testMargin)))
	if err := next.Handle(orders, func(_ context.Context, e *Event) { got <- e }); err != nil {
		t.Fatal(err)
	}
	ctx, cancel = context.WithCancel(context.Background())
	go func() { done <- next.Run(ctx) }()
	defer func() { cancel(); <-done }()
	select {
	case e := <-got:
		if e.ReplayID != ids[10] {
			t.Fatalf("the next member started at replay id %d, want %d (after the acknowledged %d)", e.ReplayID, ids[10], ids[9])
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the next member got no event")
	}
}

// TestCleanShutdownHandsOver: a holder that stops cleanly commits what it
// processed and releases the lease, so the next member takes over at once
// (not after the TTL) with nothing processed twice.
func TestCleanShutdownHandsOver(t *testing.T) {
	withBackends(t, func(t *testing.T, b *backend) {
		g := newGroup(t, b)
		first := g.start()
		stopPub := make(chan struct{})
		pubDone := g.publish(stopPub, 2*time.Millisecond)
		g.waitDelivering(30, 50*time.Millisecond)
		g.start()
		at := time.Now()
		first.cancel()
		<-first.done
		waitFor(t, 5*time.Second, "the second member's tenure", func() bool { return g.numTenures() == 2 })
		g.mu.Lock()
		takeover := g.tenures[1].start.Sub(at)
		g.mu.Unlock()
		// Released: the next member takes it at its next attempt, not
		// after the TTL.
		if bound := testRenew + slack; takeover > bound {
			t.Errorf("takeover after a clean shutdown took %v, above one acquire interval %v (+%v slack): the lease was not released", takeover, testRenew, slack)
		}
		g.waitDelivering(30, 50*time.Millisecond)
		close(stopPub)
		<-pubDone
		g.waitAllProcessed()
		g.stopAll()
		if dups := g.check(); len(dups) != 0 {
			t.Errorf("events processed again after a clean shutdown: %v", dups)
		}
		t.Logf("takeover after a clean shutdown: %v", takeover.Round(time.Millisecond))
	})
}

func TestNewConsumerSettings(t *testing.T) {
	rdb := newRedis(t, newMiniredis(t))
	c := must(NewConsumer(rdb, "g", "http://127.0.0.1:1/bayeux"))
	cfg := c.cfg
	if cfg.ttl != DefaultLeaseTTL || cfg.renew != DefaultLeaseTTL/3 || cfg.margin != DefaultLeaseTTL/5 ||
		cfg.retry != cfg.renew || cfg.queue != DefaultQueue || cfg.start != replay.StartNew ||
		cfg.connectTime != 15*time.Second || cfg.manualAck || DefaultLeaseTTL != 10*time.Second || DefaultQueue != 1024 {
		t.Fatalf("defaults = %+v", cfg)
	}
	if DefaultFlushInterval != 20*time.Millisecond {
		t.Fatalf("DefaultFlushInterval = %v", DefaultFlushInterval)
	}
	for _, tc := range []struct {
		opts []Option
		want string
	}{
		{[]Option{WithLease(time.Second, 500*time.Millisecond, 200*time.Millisecond)}, "no second renewal"},
		{[]Option{WithLease(time.Second, 100*time.Millisecond, time.Second)}, "not below the lease TTL"},
		{[]Option{WithLease(time.Millisecond, 0, 0)}, "below 10ms"},
		{[]Option{WithStart(-3)}, "neither a replay id"},
	} {
		if _, err := NewConsumer(rdb, "g", "http://x/", tc.opts...); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("NewConsumer(%v) error = %v, want one containing %q", tc.opts, err, tc.want)
		}
	}
	if _, err := NewConsumer(nil, "g", "http://x/"); err == nil {
		t.Error("NewConsumer with a nil Redis client succeeded")
	}
	if _, err := NewConsumer(rdb, "", "http://x/"); err == nil {
		t.Error("NewConsumer with an empty group succeeded")
	}
	h := func(context.Context, *Event) {}
	for _, ch := range []bayeux.Channel{"/event/*", "/event/**", "/meta/connect", "/service/x", "no-slash"} {
		if err := c.Handle(ch, h); err == nil {
			t.Errorf("Handle(%s) succeeded", ch)
		}
	}
	if err := c.Handle(orders, nil); err == nil {
		t.Error("Handle with a nil handler succeeded")
	}
	if err := c.Run(context.Background()); err == nil || !strings.Contains(err.Error(), "no handler") {
		t.Errorf("Run without handlers = %v", err)
	}
}

// TestHandlerContextEndsWithTheTenure: a handler still running when the
// holder must stop (Redis went away) sees its context cancelled before the
// lease could expire, and its event is not committed.
func TestHandlerContextEndsWithTheTenure(t *testing.T) {
	b := newMiniredis(t)
	g := newGroup(t, b)
	id := must(g.srv.PublishEvent(orders, map[string]int{"n": 1}))
	rdb := newRedis(t, b)
	c := must(NewConsumer(rdb, "ctx", g.srv.URL, WithStart(replay.StartAll),
		WithLease(testTTL, testRenew, testMargin)))
	running, cancelled := make(chan struct{}), make(chan time.Time, 1)
	if err := c.Handle(orders, func(ctx context.Context, e *Event) {
		if e.ReplayID != id {
			return
		}
		close(running)
		<-ctx.Done()
		cancelled <- time.Now()
	}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	defer func() { cancel(); <-done }()
	select {
	case <-running:
	case <-time.After(5 * time.Second):
		t.Fatal("the handler was not called")
	}
	down := time.Now()
	b.down()
	defer b.up()
	select {
	case at := <-cancelled:
		if bound := testTTL - testMargin + slack; at.Sub(down) > bound {
			t.Errorf("the handler's context ended %v after Redis went away, above TTL - margin %v (+%v slack)", at.Sub(down), testTTL-testMargin, slack)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the handler's context did not end")
	}
	waitFor(t, time.Second, "Holding() false after the tenure ended", func() bool { return !c.Holding() })
}
