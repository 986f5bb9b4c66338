package bayeuxtest_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/bayeux-go/sdk/bayeux"
	"github.com/bayeux-go/sdk/bayeux/bayeuxtest"
	_ "github.com/bayeux-go/sdk/transport/longpoll"
)

// replayPeer handshakes with ext {"replay": true} and connects.
func replayPeer(t *testing.T, srv *bayeuxtest.Server) *peer {
	t.Helper()
	p := newPeer(t, srv)
	msgs := p.post(`[{"channel":"/meta/handshake","version":"1.0","supportedConnectionTypes":["long-polling"],"id":"1","ext":{"replay":true}}]`)
	if len(msgs) != 1 || !msgs[0].Successful || msgs[0].Ext["replay"] != true {
		t.Fatalf("handshake: %+v", msgs)
	}
	p.id = msgs[0].ClientID
	p.connect(`,"advice":{"timeout":0}`)
	return p
}

func (p *peer) replaySubscribe(channel string, id int64) []bayeux.Message {
	p.t.Helper()
	return p.post(fmt.Sprintf(`[{"channel":"/meta/subscribe","clientId":%q,"subscription":%q,"id":"s","ext":{"replay":{%q:%d}}}]`, p.id, channel, channel, id))
}

type sfEvent struct {
	Event struct {
		ReplayID    int64  `json:"replayId"`
		CreatedDate string `json:"createdDate"`
	} `json:"event"`
	Payload json.RawMessage `json:"payload"`
}

func replayIDs(t *testing.T, msgs []bayeux.Message) []int64 {
	t.Helper()
	var ids []int64
	for _, m := range msgs {
		var e sfEvent
		if err := json.Unmarshal(m.Data, &e); err != nil {
			t.Fatalf("event %s: %v", m.Data, err)
		}
		if _, err := time.Parse(time.RFC3339, e.Event.CreatedDate); err != nil {
			t.Fatalf("createdDate %q: %v", e.Event.CreatedDate, err)
		}
		ids = append(ids, e.Event.ReplayID)
	}
	return ids
}

func publishEvents(t *testing.T, srv *bayeuxtest.Server, ch bayeux.Channel, n int) []int64 {
	t.Helper()
	var ids []int64
	for i := range n {
		id, err := srv.PublishEvent(ch, map[string]int{"n": i})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	return ids
}

func TestReplayStartingPoints(t *testing.T) {
	srv := newServer(t, bayeuxtest.WithReplay(0), bayeuxtest.WithTimeout(long))
	ids := publishEvents(t, srv, "/event/Order__e", 4)
	if _, err := srv.PublishEvent("/event/Other__e", 1); err != nil {
		t.Fatal(err)
	}

	// -2: every retained event, after the subscribe reply.
	all := replayPeer(t, srv).replaySubscribe("/event/Order__e", bayeuxtest.ReplayAll)
	if !all[0].Successful || all[0].Channel != bayeux.MetaSubscribe {
		t.Fatalf("subscribe -2: %+v", all)
	}
	if got := replayIDs(t, all[1:]); fmt.Sprint(got) != fmt.Sprint(ids) {
		t.Fatalf("-2 replayed %v, want %v", got, ids)
	}
	// A retained id: the events after it.
	after := replayPeer(t, srv).replaySubscribe("/event/Order__e", ids[1])
	if got := replayIDs(t, after[1:]); fmt.Sprint(got) != fmt.Sprint(ids[2:]) {
		t.Fatalf("from %d replayed %v, want %v", ids[1], got, ids[2:])
	}
	// -1: new events only.
	p := replayPeer(t, srv)
	if out := p.replaySubscribe("/event/Order__e", bayeuxtest.ReplayNew); len(out) != 1 {
		t.Fatalf("-1 replayed %+v", out)
	}
	id, _ := srv.PublishEvent("/event/Order__e", "new")
	if got := replayIDs(t, p.poll()); len(got) != 1 || got[0] != id {
		t.Fatalf("-1 then publish: %v, want [%d]", got, id)
	}
}

func TestReplayInvalidAndExpiredIDs(t *testing.T) {
	srv := newServer(t, bayeuxtest.WithReplay(0))
	ids := publishEvents(t, srv, "/data/AccountChangeEvent", 3)
	p := replayPeer(t, srv)
	for _, bad := range []int64{ids[2] + 100, 0} {
		r := p.replaySubscribe("/data/AccountChangeEvent", bad)
		want := fmt.Sprintf("400::The replayId {%d} you provided was invalid.  Please provide a valid ID, -2 to replay all events, or -1 for new events.", bad)
		if r[0].Successful || r[0].Error != want {
			t.Fatalf("subscribe from %d: %+v, want error %q", bad, r[0], want)
		}
		requireError(t, r[0], 400)
	}
	if n := len(srv.Subscriptions(p.id)); n != 0 {
		t.Fatalf("a failed replay subscribe was applied: %d subscriptions", n)
	}
	srv.ExpireEvents("/data/AccountChangeEvent", ids[0])
	if r := p.replaySubscribe("/data/AccountChangeEvent", ids[0]); r[0].Successful {
		t.Fatalf("expired id accepted: %+v", r)
	}
	if r := p.replaySubscribe("/data/AccountChangeEvent", ids[1]); !r[0].Successful || len(r) != 2 {
		t.Fatalf("retained id: %+v", r)
	}
	srv.ExpireEvents("/data/AccountChangeEvent", math.MaxInt64)
	if got := srv.RetainedEvents("/data/AccountChangeEvent"); len(got) != 0 {
		t.Fatalf("retained after expiring all: %v", got)
	}
}

func TestReplayRetention(t *testing.T) {
	srv := newServer(t, bayeuxtest.WithReplay(50*time.Millisecond))
	old := publishEvents(t, srv, "/event/E__e", 2)
	time.Sleep(100 * time.Millisecond)
	fresh := publishEvents(t, srv, "/event/E__e", 1)
	if got := srv.RetainedEvents("/event/E__e"); fmt.Sprint(got) != fmt.Sprint(fresh) {
		t.Fatalf("retained %v, want %v (old %v expired)", got, fresh, old)
	}
	p := replayPeer(t, srv)
	if r := p.replaySubscribe("/event/E__e", old[1]); r[0].Successful {
		t.Fatalf("expired id accepted: %+v", r)
	}
}

func TestReplayNeedsHandshakeExtAndOption(t *testing.T) {
	srv := newServer(t, bayeuxtest.WithReplay(0))
	publishEvents(t, srv, "/event/E__e", 2)
	// Without ext.replay in the handshake, the replay map is ignored.
	p := newPeer(t, srv)
	p.handshake()
	if out := p.replaySubscribe("/event/E__e", bayeuxtest.ReplayAll); len(out) != 1 || !out[0].Successful {
		t.Fatalf("subscribe without replay handshake: %+v", out)
	}
	plain := newServer(t)
	if _, err := plain.PublishEvent("/event/E__e", 1); !errors.Is(err, bayeuxtest.ErrReplayDisabled) {
		t.Fatalf("PublishEvent without WithReplay: %v", err)
	}
}

func TestOneChannelSubscriptions(t *testing.T) {
	srv := newServer(t, bayeuxtest.WithOneChannelSubscriptions(true))
	p := newPeer(t, srv)
	p.handshake()
	if r := p.subscribe(`["/a","/b"]`); r.Successful {
		t.Fatalf("array subscription accepted: %+v", r)
	}
	if r := p.subscribe(`["/a"]`); r.Successful {
		t.Fatalf("one-element array accepted: %+v", r)
	}
	if r := p.subscribe(`"/a"`); !r.Successful {
		t.Fatalf("string subscription refused: %+v", r)
	}
}

// TestReplayWithClient resumes a real Client from a stored replay id: the
// events published while it was away arrive, and only those.
func TestReplayWithClient(t *testing.T) {
	srv := newServer(t, bayeuxtest.WithReplay(0), bayeuxtest.WithOneChannelSubscriptions(true))
	ids := publishEvents(t, srv, "/event/E__e", 5)
	ctx := testCtx(t)
	c, err := bayeux.NewClient(srv.URL, bayeux.WithHTTPClient(srv.Client()),
		bayeux.WithHandshakeExt(map[string]any{"replay": true}),
		bayeux.WithExtensions(replayMapExt{"/event/E__e": ids[1]}))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Disconnect(ctx) }()
	got := make(chan int64, 10)
	if _, err := c.Subscribe(ctx, "/event/E__e", func(m bayeux.Message) {
		got <- replayIDs(t, []bayeux.Message{m})[0]
	}); err != nil {
		t.Fatal(err)
	}
	for _, want := range ids[2:] {
		select {
		case id := <-got:
			if id != want {
				t.Fatalf("replayed %d, want %d", id, want)
			}
		case <-ctx.Done():
			t.Fatal("replay did not arrive")
		}
	}
}

// replayMapExt adds a fixed replay map to every /meta/subscribe.
type replayMapExt map[string]int64

func (e replayMapExt) Outgoing(m *bayeux.Message) {
	if m.Channel == bayeux.MetaSubscribe {
		r := map[string]any{}
		for k, v := range e {
			r[k] = v
		}
		m.Ext = map[string]any{"replay": r}
	}
}
func (replayMapExt) Incoming(*bayeux.Message)                {}
func (replayMapExt) Registered(string, *bayeux.BayeuxClient) {}
func (replayMapExt) Unregistered()                           {}

// TestReplayForPublishes: with WithReplayForPublishes, a client's publish
// becomes a replayable event (its data as the payload), retained across
// Restart; without it, client publishes are plain events.
func TestReplayForPublishes(t *testing.T) {
	srv := newServer(t, bayeuxtest.WithReplay(0), bayeuxtest.WithReplayForPublishes(true), bayeuxtest.WithTimeout(long))
	pub := replayPeer(t, srv)
	sub := replayPeer(t, srv)
	if r := sub.replaySubscribe("/chat", bayeuxtest.ReplayNew); !r[0].Successful {
		t.Fatalf("subscribe: %+v", r)
	}
	for i := range 2 {
		if r := pub.publish("/chat", fmt.Sprintf(`{"n":%d}`, i)); len(r) == 0 || !r[0].Successful || r[0].Channel != "/chat" {
			t.Fatalf("publish reply: %+v", r)
		}
	}
	live := sub.poll()
	ids := replayIDs(t, live)
	if len(ids) != 2 || fmt.Sprint(ids) != fmt.Sprint(srv.RetainedEvents("/chat")) {
		t.Fatalf("delivered ids %v, retained %v", ids, srv.RetainedEvents("/chat"))
	}
	var e sfEvent
	if err := json.Unmarshal(live[1].Data, &e); err != nil || string(e.Payload) != `{"n":1}` {
		t.Fatalf("event %s: payload %s, %v", live[1].Data, e.Payload, err)
	}
	// The log survives a restart: a new session replays from the first.
	srv.Restart()
	r := replayPeer(t, srv).replaySubscribe("/chat", ids[0])
	if got := replayIDs(t, r[1:]); fmt.Sprint(got) != fmt.Sprint(ids[1:]) {
		t.Fatalf("after Restart, from %d: %v, want %v", ids[0], got, ids[1:])
	}

	plain := newServer(t, bayeuxtest.WithReplay(0), bayeuxtest.WithTimeout(long))
	p := replayPeer(t, plain)
	p.publish("/chat", `{"n":0}`)
	if got := plain.RetainedEvents("/chat"); len(got) != 0 {
		t.Fatalf("client publish retained without WithReplayForPublishes: %v", got)
	}
}
