package bayeuxredis

import (
	"context"
	"testing"
	"time"

	"github.com/bayeux-go/sdk/bayeux"
	"github.com/bayeux-go/sdk/ext/replay"
)

// TestClientStatsAcrossTenures: ClientStats adds up the clients of every
// tenure, so its counters never go back when a tenure ends and a new
// client takes over; between tenures it shows no session.
func TestClientStatsAcrossTenures(t *testing.T) {
	b := newMiniredis(t)
	g := newGroup(t, b)
	rdb := newRedis(t, b)
	c := must(NewConsumer(rdb, "stats", g.srv.URL, WithStart(replay.StartAll),
		WithLease(testTTL, testRenew, testMargin), WithFlushInterval(time.Millisecond)))
	got := make(chan int64, 100)
	if err := c.Handle(orders, func(_ context.Context, e *Event) { got <- e.ReplayID }); err != nil {
		t.Fatal(err)
	}
	if s := c.ClientStats(); s.State != bayeux.StateDisconnected || s.Transport != "" || s.Delivered != 0 {
		t.Fatalf("before Run: %+v", s)
	}
	var ids []int64
	publish := func(n int) {
		for range n {
			ids = append(ids, must(g.srv.PublishEvent(orders, map[string]int{"n": len(ids)})))
		}
	}
	receive := func(n int) {
		t.Helper()
		for range n {
			select {
			case <-got:
			case <-time.After(5 * time.Second):
				t.Fatal("events not delivered")
			}
		}
	}
	publish(10)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	receive(10)
	k := groupKeys("stats")
	waitFor(t, 2*time.Second, "the position written", func() bool {
		return rdb.HGet(context.Background(), k.positions, string(orders)).Val() == formatPosition(ids[9])
	})
	first := c.ClientStats()
	// A live session: connected, or connecting while its first
	// /meta/connect is out (events may be pushed before its answer).
	live := func(s bayeux.Stats) bool {
		return (s.State == bayeux.StateConnected || s.State == bayeux.StateConnecting) && s.Transport != ""
	}
	if first.Delivered != 10 || first.Handshakes != 1 || !live(first) {
		t.Fatalf("first tenure: %+v", first)
	}

	// Another holder took the lease: this tenure ends, and the member
	// takes the lease again once it is free.
	if err := rdb.Del(context.Background(), k.lease).Err(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "a second tenure", func() bool { return c.Stats().Tenures == 2 && c.Holding() })
	publish(5)
	receive(5)
	second := c.ClientStats()
	if second.Delivered != 15 || second.Handshakes != 2 || !live(second) {
		t.Errorf("after the second tenure's 5 events: %+v (want 15 delivered over 2 handshakes)", second)
	}
	if second.Received < first.Received || second.Connects <= first.Connects || second.BytesIn <= first.BytesIn {
		t.Errorf("counters went back: first %+v, then %+v", first, second)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	last := c.ClientStats()
	if last.State != bayeux.StateDisconnected || last.Transport != "" || last.Queued != 0 || last.Delivered != 15 {
		t.Errorf("after Run: %+v", last)
	}
}
