package replay_test

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/bayeux-go/sdk/bayeux"
	"github.com/bayeux-go/sdk/bayeux/bayeuxtest"
	"github.com/bayeux-go/sdk/ext/replay"
	"github.com/bayeux-go/sdk/internal/testenv"
)

// Events published while the client has no session (it expired, and the
// client's new handshake is held) reach it after it resumes with the
// extension, and are lost without it.
func TestResumeAfterSessionLoss(t *testing.T) {
	for _, transport := range []string{"long-polling", "websocket"} {
		for _, withExt := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s/extension=%v", transport, withExt), func(t *testing.T) {
				g := &gate{}
				srv := salesforceServer(t, g)
				var exts []bayeux.MessageExtender
				if withExt {
					exts = append(exts, replay.New())
				}
				c := connect(t, srv, transport, nil, exts...)
				got := newIDs()
				if _, err := c.Subscribe(testCtx(t), orders, got.handle); err != nil {
					t.Fatal(err)
				}
				first := publish(t, srv, orders, 1)
				got.until(t, first[0])

				g.close()
				srv.ExpireAllSessions()
				missed := publish(t, srv, orders, 3)
				g.open()
				if err := srv.WaitSubscribed(testCtx(t), orders); err != nil {
					t.Fatal(err)
				}
				last := publish(t, srv, orders, 1)
				all := got.until(t, last[0])

				want := append(append(first, missed...), last...)
				if !withExt {
					want = append(first, last...)
				}
				if !slices.Equal(all, want) {
					t.Fatalf("handled %v, want %v", all, want)
				}
			})
		}
	}
}

// The handshake asks for replay and each subscribe carries the channel's
// id: the starting point, then the last handled id.
func TestWireFormat(t *testing.T) {
	srv := salesforceServer(t, nil)
	ext := replay.New(replay.WithStart(replay.StartAll))
	c := connect(t, srv, "long-polling", nil, ext)
	if !ext.Enabled() {
		t.Error("Enabled() = false after a handshake with a replay server")
	}
	ids := publish(t, srv, orders, 2)
	got := newIDs()
	sub, err := c.Subscribe(testCtx(t), orders, got.handle)
	if err != nil {
		t.Fatal(err)
	}
	got.until(t, ids[1])
	// The id is stored once the handler returned (just after it passed
	// the event on).
	testenv.Eventually(t, "the last id stored", func() bool {
		id, ok := ext.Store().Load(orders)
		return ok && id == ids[1]
	})
	if err := sub.Unsubscribe(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Subscribe(testCtx(t), orders, got.handle); err != nil {
		t.Fatal(err)
	}
	var hs bayeux.Message
	var subs []any
	for _, m := range srv.Received() {
		switch m.Channel {
		case bayeux.MetaHandshake:
			hs = m
		case bayeux.MetaSubscribe:
			subs = append(subs, m.Ext["replay"].(map[string]any)[string(orders)])
		}
	}
	if hs.Ext["replay"] != true {
		t.Errorf("handshake ext %v, want replay: true", hs.Ext)
	}
	if want := []any{float64(replay.StartAll), float64(ids[1])}; !slices.Equal(subs, want) {
		t.Errorf("subscribe replay ids %v, want %v", subs, want)
	}
}

// An id that expired falls back to StartAll (the default): the first
// subscribe and a re-subscription after a re-handshake both resume, the
// error handler hears of it once each time, and the subscription does not
// stall.
func TestExpiredIDFallsBack(t *testing.T) {
	g := &gate{}
	srv := salesforceServer(t, g)
	ids := publish(t, srv, orders, 3)
	srv.ExpireEvents(orders, ids[1])
	store := replay.NewMemoryStore()
	store.Save(orders, ids[0])
	reported := &errs{}
	c := connect(t, srv, "long-polling", reported, replay.New(replay.WithStore(store)))
	got := newIDs()
	sub, err := c.Subscribe(testCtx(t), orders, got.handle)
	if err != nil {
		t.Fatal(err)
	}
	if all := got.until(t, ids[2]); !slices.Equal(all, ids[2:]) {
		t.Fatalf("handled %v, want the retained %v", all, ids[2:])
	}
	if st := sub.State(); st != bayeux.SubscriptionSubscribed {
		t.Errorf("subscription state %v", st)
	}
	ie := reported.invalidIDs()
	if len(ie) != 1 || ie[0].ID != ids[0] || ie[0].Fallback != replay.StartAll || ie[0].Channel != orders {
		t.Fatalf("reported %v, want one InvalidIDError for %d", ie, ids[0])
	}

	// Mid-session: the session is lost and the last handled id expires
	// before the client resumes.
	g.close()
	srv.ExpireAllSessions()
	more := publish(t, srv, orders, 2)
	srv.ExpireEvents(orders, more[0])
	g.open()
	if all := got.until(t, more[1]); !slices.Equal(all, append(ids[2:], more[1])) {
		t.Fatalf("handled %v, want %v", all, append(ids[2:], more[1]))
	}
	if ie := reported.invalidIDs(); len(ie) != 2 || ie[1].ID != ids[2] {
		t.Fatalf("reported %v, want a second InvalidIDError for %d", ie, ids[2])
	}
}

// With WithFallback(StartNew) a refused id resumes with new events only.
func TestFallbackNew(t *testing.T) {
	srv := salesforceServer(t, nil)
	ids := publish(t, srv, orders, 2)
	srv.ExpireEvents(orders, ids[0])
	store := replay.NewMemoryStore()
	store.Save(orders, ids[0])
	reported := &errs{}
	c := connect(t, srv, "long-polling", reported, replay.New(replay.WithStore(store), replay.WithFallback(replay.StartNew)))
	got := newIDs()
	if _, err := c.Subscribe(testCtx(t), orders, got.handle); err != nil {
		t.Fatal(err)
	}
	last := publish(t, srv, orders, 1)
	if all := got.until(t, last[0]); !slices.Equal(all, last) {
		t.Fatalf("handled %v, want %v only", all, last)
	}
	if len(reported.invalidIDs()) != 1 {
		t.Fatalf("reported %v", reported.list)
	}
}

// Without the extension, a server with replay delivers new events only;
// a wildcard subscription carries no replay id.
func TestWildcardCarriesNoID(t *testing.T) {
	srv := bayeuxtest.NewServer(bayeuxtest.WithReplay(0))
	t.Cleanup(srv.Close)
	c := connect(t, srv, "long-polling", nil, replay.New(replay.WithStart(replay.StartAll)))
	if _, err := c.Subscribe(testCtx(t), "/event/*", func(bayeux.Message) {}); err != nil {
		t.Fatal(err)
	}
	for _, m := range srv.Received() {
		if m.Channel == bayeux.MetaSubscribe && m.Ext["replay"] != nil {
			t.Errorf("wildcard subscribe carries ext %v", m.Ext)
		}
	}
}

func TestIsInvalidIDError(t *testing.T) {
	for s, want := range map[string]bool{
		"400::The replayId {12} you provided was invalid.  Please provide a valid ID, -2 to replay all events, or -1 for new events.": true,
		"400::subscription must be one channel name": false,
		"401::Authentication invalid":                false,
		"":                                           false,
	} {
		if got := replay.IsInvalidIDError(s); got != want {
			t.Errorf("IsInvalidIDError(%q) = %v", s, got)
		}
	}
}

// Delivered ignores events without a replay id and records the others
// under the event's channel.
func TestDelivered(t *testing.T) {
	ext := replay.New()
	ext.Delivered("/event/*", &bayeux.Message{Channel: orders, Data: []byte(`{"payload":{}}`)})
	if _, ok := ext.Store().Load(orders); ok {
		t.Error("an event without replayId was recorded")
	}
	ext.Delivered("/event/*", &bayeux.Message{Channel: orders, Data: []byte(`{"event":{"replayId":42}}`)})
	if id, ok := ext.Store().Load(orders); !ok || id != 42 {
		t.Errorf("stored %d, %v; want 42", id, ok)
	}
}

// Events received but not yet handled when the session is lost are sent
// again by the server after the resume (the stored id is the last one
// handled); the extension drops those copies, so each event is handled
// once, in order.
func TestResumeDropsCopiesOfPendingEvents(t *testing.T) {
	for _, transport := range []string{"long-polling", "websocket"} {
		t.Run(transport, func(t *testing.T) {
			srv := salesforceServer(t, nil)
			ext := replay.New()
			c := connect(t, srv, transport, nil, ext)
			got := newIDs()
			release := make(chan struct{})
			var once sync.Once
			_, err := c.Subscribe(testCtx(t), orders, func(m bayeux.Message) {
				if id, _ := bayeux.RawInt(m.Data, "event", "replayId"); id > 1 {
					<-release // events after the first wait: received, not handled
				}
				got.handle(m)
			})
			if err != nil {
				t.Fatal(err)
			}
			defer once.Do(func() { close(release) })
			first := publish(t, srv, orders, 1)
			got.until(t, first[0])
			pending := publish(t, srv, orders, 3)
			if err := srv.WaitFor(testCtx(t), func(s *bayeuxtest.Server) bool { return s.HeldConnects() > 0 }); err != nil {
				t.Fatal(err)
			}
			srv.ExpireAllSessions() // the client resumes from first[0]
			ctx := testCtx(t)
			for ext.Dropped() < int64(len(pending)) && ctx.Err() == nil {
				time.Sleep(10 * time.Millisecond)
			}
			if n := ext.Dropped(); n != int64(len(pending)) {
				t.Fatalf("dropped %d copies, want %d", n, len(pending))
			}
			once.Do(func() { close(release) })
			last := publish(t, srv, orders, 1)
			all := got.until(t, last[0])
			want := slices.Concat(first, pending, last)
			if !slices.Equal(all, want) {
				t.Fatalf("handled %v, want %v", all, want)
			}
		})
	}
}
