package replay_test

import (
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/bayeux-go/sdk/bayeux"
	"github.com/bayeux-go/sdk/bayeux/bayeuxtest"
	"github.com/bayeux-go/sdk/ext/replay"
	"github.com/bayeux-go/sdk/internal/testenv"
)

// handledIDs records the replay ids a subscription handled, in order.
type handledIDs struct {
	mu   sync.Mutex
	list []int64
}

func (h *handledIDs) handle(m bayeux.Message) {
	id, _ := bayeux.RawInt(m.Data, "event", "replayId")
	h.mu.Lock()
	h.list = append(h.list, id)
	h.mu.Unlock()
}

func (h *handledIDs) count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.list)
}

func (h *handledIDs) ids() []int64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.list)
}

func (h *handledIDs) has(id int64) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Contains(h.list, id)
}

func (e *errs) count() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.list)
}

// tornConnects runs rounds in which the answer of a /meta/connect that
// took events is torn on the way back (the server processed it: the
// events left its queue), as Salesforce's does when a proxy or the network
// cuts a response. It returns every id published and what was handled.
func tornConnects(t *testing.T, srv *bayeuxtest.Server, c *bayeux.Client, rounds int) (published []int64, got *handledIDs) {
	t.Helper()
	got = &handledIDs{}
	if _, err := c.Subscribe(testCtx(t), orders, got.handle); err != nil {
		t.Fatal(err)
	}
	for range rounds {
		// The connect after the one the first event releases is torn,
		// with the events it takes.
		if err := srv.WaitFor(testCtx(t), func(s *bayeuxtest.Server) bool { return s.HeldConnects() > 0 }); err != nil {
			t.Fatal(err)
		}
		srv.InjectFault(bayeuxtest.Fault{Channel: bayeux.MetaConnect, Tear: true, Process: true})
		first := publish(t, srv, orders, 1)
		testenv.Eventually(t, "the round's first event", func() bool { return got.has(first[0]) })
		if err := srv.WaitFor(testCtx(t), func(s *bayeuxtest.Server) bool { return s.HeldConnects() > 0 }); err != nil {
			t.Fatal(err)
		}
		published = append(published, first...)
		published = append(published, publish(t, srv, orders, 3)...)
	}
	if err := srv.WaitFor(testCtx(t), func(s *bayeuxtest.Server) bool { return s.HeldConnects() > 0 }); err != nil {
		t.Fatal(err)
	}
	last := publish(t, srv, orders, 1)
	published = append(published, last...)
	return published, got
}

// A /meta/connect answer torn on the way back loses its events for good
// unless the client resumes: with replay, the client resumes each channel
// from its last handled event in a new session, and the copies of events
// it already had are dropped. Without replay (the control), the same
// rounds lose events, which shows that the torn answers carried some.
func TestTornConnectLosesNothing(t *testing.T) {
	const rounds = 6
	t.Run("replay", func(t *testing.T) {
		srv := salesforceServer(t, nil)
		reported := &errs{}
		ext := replay.New()
		c := connect(t, srv, "long-polling", reported, ext)
		published, got := tornConnects(t, srv, c, rounds)
		testenv.Eventually(t, "the last event", func() bool { return got.has(published[len(published)-1]) })
		if all := got.ids(); !slices.Equal(all, published) {
			t.Fatalf("handled %v,\nwant %v (each event once, in order)", all, published)
		}
		if ext.Resumes() < rounds {
			t.Fatalf("%d resumes after %d torn answers", ext.Resumes(), rounds)
		}
		if reported.count() == 0 {
			t.Fatal("the lost answers were reported to no one")
		}
	})
	t.Run("control without replay", func(t *testing.T) {
		srv := salesforceServer(t, nil)
		c := connect(t, srv, "long-polling", nil)
		published, got := tornConnects(t, srv, c, rounds)
		testenv.Eventually(t, "the last event", func() bool { return got.has(published[len(published)-1]) })
		if missing := len(published) - len(got.ids()); missing == 0 {
			t.Fatalf("no event lost without replay: the torn answers carried none, the test shows nothing")
		}
	})
}

// A backlog of more than MaxMessagesPerPayload retained events, replayed
// in one answer into a slow handler, arrives whole with the replay
// extension and the default overflow policy (backpressure); the control,
// an explicit OverflowDrop, drops part of it.
func TestBacklogIntoSlowHandler(t *testing.T) {
	const backlog = bayeux.MaxMessagesPerPayload + 2000
	run := func(t *testing.T, opts ...bayeux.Option) (*bayeux.Client, *handledIDs, []int64) {
		srv := salesforceServer(t, nil)
		published := publish(t, srv, orders, backlog)
		ext := replay.New(replay.WithStart(replay.StartAll))
		c := connectWith(t, srv, append([]bayeux.Option{bayeux.WithExtensions(ext)}, opts...)...)
		got := &handledIDs{}
		slow := func(m bayeux.Message) {
			got.handle(m)
			if got.count()%500 == 0 {
				time.Sleep(time.Millisecond) // slower than the events arrive
			}
		}
		if _, err := c.Subscribe(testCtx(t), orders, slow); err != nil {
			t.Fatal(err)
		}
		return c, got, published
	}
	t.Run("default", func(t *testing.T) {
		c, got, published := run(t, bayeux.WithDeliveryQueue(256, bayeux.OverflowDefault))
		testenv.Eventually(t, "the whole backlog", func() bool { return got.count() >= len(published) })
		if all := got.ids(); !slices.Equal(all, published) {
			t.Fatalf("handled %d events, want the %d of the backlog once each, in order", len(all), len(published))
		}
		if d := c.Stats().Dropped.QueueFull; d != 0 {
			t.Fatalf("%d dropped", d)
		}
	})
	t.Run("control OverflowDrop", func(t *testing.T) {
		c, _, _ := run(t, bayeux.WithDeliveryQueue(256, bayeux.OverflowDrop))
		testenv.Eventually(t, "drops", func() bool { return c.Stats().Dropped.QueueFull > 0 })
	})
}

// In pull mode an event is handled when the caller asks for the next one
// (or commits): a process that dies while working on an event resumes
// with that event.
func TestPullModeCommitsAtTheNextCall(t *testing.T) {
	srv := salesforceServer(t, nil)
	store := replay.NewMemoryStore()
	ext := replay.New(replay.WithStore(store))
	c := connect(t, srv, "long-polling", nil, ext)
	sub, err := c.Subscribe(testCtx(t), orders, nil)
	if err != nil {
		t.Fatal(err)
	}
	published := publish(t, srv, orders, 3)
	next := func() int64 {
		t.Helper()
		m, err := sub.Next(testCtx(t))
		if err != nil {
			t.Fatal(err)
		}
		id, _ := bayeux.RawInt(m.Data, "event", "replayId")
		return id
	}
	stored := func() int64 {
		id, ok := store.Load(orders)
		if !ok {
			return 0
		}
		return id
	}
	if id := next(); id != published[0] || stored() == published[0] {
		t.Fatalf("first Next: event %d, stored %d: stored before the caller was done with it", id, stored())
	}
	if id := next(); id != published[1] || stored() != published[0] {
		t.Fatalf("second Next: event %d, stored %d; want %d stored", id, stored(), published[0])
	}
	sub.Commit()
	if stored() != published[1] {
		t.Fatalf("after Commit, stored %d, want %d", stored(), published[1])
	}
	sub.Commit() // idempotent
	if id := next(); id != published[2] {
		t.Fatalf("third Next: %d", id)
	}
	// The process dies while working on the third event: a new client
	// on the same store gets it again.
	if err := c.Disconnect(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	<-c.Done()
	if stored() != published[1] {
		t.Fatalf("stored %d after a death mid-event, want %d", stored(), published[1])
	}
	c2 := connect(t, srv, "long-polling", nil, replay.New(replay.WithStore(store)))
	sub2, err := c2.Subscribe(testCtx(t), orders, nil)
	if err != nil {
		t.Fatal(err)
	}
	m, err := sub2.Next(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	if id, _ := bayeux.RawInt(m.Data, "event", "replayId"); id != published[2] {
		t.Fatalf("after the restart: event %d, want %d again", id, published[2])
	}
}
