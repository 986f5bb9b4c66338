package bayeux_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/bayeux-go/sdk/bayeux"
	"github.com/bayeux-go/sdk/bayeux/bayeuxtest"
)

// Stats counts exactly what happened: events published through
// bayeuxtest, one expired session, events dropped by a slow handler.
func TestStatsCountsWhatHappened(t *testing.T) {
	leakCheck(t)
	srv := newServer(t)
	c := newClient(t, srv, transportCases[0], bayeux.WithDeliveryQueue(2, bayeux.OverflowDrop))
	connect(t, c)
	got := make(chan bayeux.Message, 64)
	fast, err := c.Subscribe(ctxT(t), "/fast", func(m bayeux.Message) { got <- m })
	if err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	entered := make(chan struct{}, 1)
	slow, err := c.Subscribe(ctxT(t), "/slow", func(bayeux.Message) {
		select {
		case entered <- struct{}{}:
		default:
		}
		<-release
	})
	if err != nil {
		t.Fatal(err)
	}
	const n = 10
	for i := range n {
		if err := c.Publish(ctxT(t), "/fast", i); err != nil {
			t.Fatal(err)
		}
	}
	for range n {
		<-got
	}
	// A denied publish counts as failed.
	srv.HandleService("/service/fail", func(bayeux.Message) (any, error) { return nil, errors.New("no") })
	if _, err := c.Call(ctxT(t), "/service/fail", 1); err == nil {
		t.Fatal("the failing call succeeded")
	}

	// The session expires once: a second handshake.
	id := c.ClientID()
	srv.ExpireSession(id)
	eventually(t, "a new session", func() bool { id2 := c.ClientID(); return id2 != "" && id2 != id })
	eventually(t, "/slow renewed", func() bool { return slow.State() == bayeux.SubscriptionSubscribed })

	// The slow handler holds the first event; the queue (2) takes two more;
	// the rest of one payload is dropped.
	b := c.Batch()
	for i := range 8 {
		b.Publish("/slow", i)
	}
	if err := b.Send(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	<-entered
	eventually(t, "the drops", func() bool { return slow.Dropped() > 0 })
	close(release)
	eventually(t, "the slow queue drained", func() bool { return slow.Stats().Queued == 0 && slow.Delivered()+slow.Dropped() == 8 })

	st := c.Stats()
	if st.Handshakes != 2 || st.Rehandshakes != 1 {
		t.Errorf("handshakes %d, re-handshakes %d; want 2 and 1", st.Handshakes, st.Rehandshakes)
	}
	if st.Received != n+8 {
		t.Errorf("received %d, want %d", st.Received, n+8)
	}
	if want := fast.Delivered() + slow.Delivered(); st.Delivered != want || fast.Delivered() != n {
		t.Errorf("delivered %d (fast %d, slow %d), want %d", st.Delivered, fast.Delivered(), slow.Delivered(), want)
	}
	if st.Dropped.QueueFull != slow.Dropped() || st.Dropped.Total() != slow.Dropped() {
		t.Errorf("dropped %+v, want %d queue-full", st.Dropped, slow.Dropped())
	}
	if st.Delivered+st.Dropped.Total() != st.Received {
		t.Errorf("delivered %d + dropped %d != received %d", st.Delivered, st.Dropped.Total(), st.Received)
	}
	if st.PublishesSent != n+1+8 || st.PublishesFailed != 1 {
		t.Errorf("publishes sent %d, failed %d; want %d and 1", st.PublishesSent, st.PublishesFailed, n+1+8)
	}
	if st.QueueHighWater < 2 || st.Queued != 0 {
		t.Errorf("queued %d, high water %d", st.Queued, st.QueueHighWater)
	}
	if st.Connects < 2 || st.LastConnect.IsZero() || time.Since(st.LastEvent) > time.Minute {
		t.Errorf("connects %d, last connect %v, last event %v", st.Connects, st.LastConnect, st.LastEvent)
	}
	if st.BytesIn == 0 || st.BytesOut == 0 {
		t.Errorf("bytes in %d, out %d", st.BytesIn, st.BytesOut)
	}
	if st.State != bayeux.StateConnected || st.Transport != "long-polling" {
		t.Errorf("state %v over %q", st.State, st.Transport)
	}
	// An unsubscribed subscription's counts stay in the totals.
	if err := fast.Unsubscribe(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if st2 := c.Stats(); st2.Delivered != st.Delivered {
		t.Errorf("delivered %d after Unsubscribe, was %d", st2.Delivered, st.Delivered)
	}
}

// A server that refuses every connect is seen in the counters.
func TestStatsCountsFailures(t *testing.T) {
	leakCheck(t)
	srv := newServer(t, bayeuxtest.WithTimeout(100*time.Millisecond))
	c := newClient(t, srv, transportCases[0])
	connect(t, c)
	srv.Close()
	eventually(t, "failed connects", func() bool {
		st := c.Stats()
		return st.ConnectFailures >= 2 && st.TransportFailures >= 2
	})
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if err := c.Publish(ctx, "/a", 1); err == nil {
		t.Fatal("publish to a closed server succeeded")
	}
}

// Over websocket, the bytes moved and the redials after a torn socket are
// counted.
func TestStatsCountsWebSocketTraffic(t *testing.T) {
	leakCheck(t)
	srv := newServer(t)
	c := newClient(t, srv, transportCases[2])
	connect(t, c)
	got := make(chan bayeux.Message, 4)
	if _, err := c.Subscribe(ctxT(t), "/a", func(m bayeux.Message) { got <- m }); err != nil {
		t.Fatal(err)
	}
	if st := c.Stats(); st.WebSocketRedials != 0 || st.BytesIn == 0 || st.BytesOut == 0 {
		t.Fatalf("before the tear: redials %d, bytes in %d out %d", st.WebSocketRedials, st.BytesIn, st.BytesOut)
	}
	srv.TearWebSockets()
	eventually(t, "a redial", func() bool { return c.Stats().WebSocketRedials >= 1 })
	before := c.Stats().BytesIn
	if err := srv.Publish("/a", "x"); err != nil {
		t.Fatal(err)
	}
	<-got
	if after := c.Stats().BytesIn; after <= before {
		t.Errorf("bytes in %d -> %d after an event", before, after)
	}
}
