package replay_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/bayeux-go/sdk/bayeux"
	"github.com/bayeux-go/sdk/ext/replay"
	"github.com/bayeux-go/sdk/internal/testenv"
)

// The events a subscription delivers from its queue after Disconnect
// returned are recorded too: once Done closes, the store holds the last
// one handled.
func TestDrainAfterDisconnectIsRecorded(t *testing.T) {
	srv := salesforceServer(t, nil)
	ext := replay.New()
	c := connect(t, srv, "long-polling", nil, ext)
	gate := make(chan struct{})
	handled := make(chan int64, 10)
	if _, err := c.Subscribe(testCtx(t), orders, func(m bayeux.Message) {
		<-gate
		id, _ := bayeux.RawInt(m.Data, "event", "replayId")
		handled <- id
	}); err != nil {
		t.Fatal(err)
	}
	ids := publish(t, srv, orders, 5)
	testenv.Eventually(t, "five events received", func() bool { return c.Stats().Received == 5 })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.Disconnect(ctx); err != nil {
		t.Fatal(err)
	}
	close(gate)
	<-c.Done()
	if len(handled) != 5 {
		t.Fatalf("%d events handled after Disconnect, want 5", len(handled))
	}
	if got, ok := ext.Store().Load(orders); !ok || got != ids[4] {
		t.Fatalf("stored id = %d, %v; want %d, the last event handled", got, ok, ids[4])
	}
}

// An event dropped unhandled (OverflowDrop, a queue of three) holds the
// channel's position before it: the events handled after the drop do not
// move it, and the next resume delivers the dropped events once each.
func TestDroppedEventHoldsPosition(t *testing.T) {
	srv := salesforceServer(t, nil)
	ext := replay.New()
	c := connectWith(t, srv, bayeux.WithHTTPClient(srv.Client()),
		bayeux.WithBackoff(10*time.Millisecond, 100*time.Millisecond),
		bayeux.WithDeliveryQueue(3, bayeux.OverflowDrop), bayeux.WithExtensions(ext))
	gate := make(chan struct{})
	got := newIDs()
	if _, err := c.Subscribe(testCtx(t), orders, func(m bayeux.Message) {
		<-gate
		got.handle(m)
	}); err != nil {
		t.Fatal(err)
	}
	first := publish(t, srv, orders, 1)
	testenv.Eventually(t, "the first event in the handler", func() bool { return c.Stats().Received == 1 })
	rest := publish(t, srv, orders, 5) // three queued, two dropped
	testenv.Eventually(t, "two events dropped", func() bool { return c.Stats().Dropped.QueueFull == 2 })
	close(gate)
	// The queue drained (else the next event could find it full too).
	got.until(t, rest[2])
	after := publish(t, srv, orders, 1) // handled after the drop
	got.until(t, after[0])
	if id, _ := ext.Store().Load(orders); id >= rest[3] {
		t.Fatalf("stored id %d moved past the first dropped event %d", id, rest[3])
	}

	srv.ExpireAllSessions() // the client re-handshakes and resumes the channel
	all := got.until(t, rest[4])
	want := []int64{first[0], rest[0], rest[1], rest[2], after[0], rest[3], rest[4]}
	if !slices.Equal(all, want) {
		t.Fatalf("handled %v, want %v (each event once, the dropped ones after the resume)", all, want)
	}
	last := publish(t, srv, orders, 1)
	got.until(t, last[0])
	testenv.Eventually(t, "the position moves again", func() bool {
		id, _ := ext.Store().Load(orders)
		return id == last[0]
	})
}
