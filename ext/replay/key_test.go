package replay_test

import (
	"encoding/json"
	"testing"

	"github.com/bayeux-go/sdk/bayeux"
	"github.com/bayeux-go/sdk/ext/replay"
)

// The replay key of a filtered PushTopic channel is the channel without
// its query; every other channel is its own key.
func TestKey(t *testing.T) {
	for ch, want := range map[bayeux.Channel]bayeux.Channel{
		"/topic/Orders?Status__c=Open":          "/topic/Orders",
		"/topic/Orders?Status__c=Open&Type=New": "/topic/Orders",
		"/topic/Orders":                         "/topic/Orders",
		"/event/Order__e":                       "/event/Order__e",
		"/data/ChangeEvents":                    "/data/ChangeEvents",
	} {
		if got := replay.Key(ch); got != want {
			t.Errorf("Key(%q) = %q, want %q", ch, got, want)
		}
	}
}

// A filtered PushTopic channel end to end against bayeuxtest playing
// Salesforce: the subscription is accepted, the retained events matching
// the filter are replayed and the new ones delivered, on the channel as
// subscribed; the /meta/subscribe names the channel without its query in
// its replay ext, and a client restarted with the same store resumes
// after the last event handled.
func TestFilteredTopicEndToEnd(t *testing.T) {
	ctx := testCtx(t)
	srv := salesforceServer(t, nil)
	const topic bayeux.Channel = "/topic/Orders"
	const filtered bayeux.Channel = "/topic/Orders?Status__c=Open"
	publish := func(n int, status string) int64 {
		t.Helper()
		id, err := srv.PublishEvent(topic, map[string]any{"N": n, "Status__c": status})
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	publish(1, "Open")
	publish(2, "Closed")
	publish(3, "Open")

	store := replay.NewMemoryStore()
	type event struct {
		ch bayeux.Channel
		n  int
	}
	run := func(want []int, live func() []int) {
		t.Helper()
		c, err := bayeux.NewClient(srv.URL, bayeux.WithExtensions(replay.New(replay.WithStore(store), replay.WithStart(replay.StartAll))))
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Connect(ctx); err != nil {
			t.Fatal(err)
		}
		defer func() {
			_ = c.Disconnect(ctx)
			<-c.Done() // the last event's id is stored once its handler returned
		}()
		got := make(chan event, 16)
		if _, err := c.Subscribe(ctx, filtered, func(m bayeux.Message) {
			var d struct {
				Payload struct{ N int } `json:"payload"`
			}
			_ = json.Unmarshal(m.Data, &d)
			got <- event{m.Channel, d.Payload.N}
		}); err != nil {
			t.Fatalf("Subscribe(%s): %v", filtered, err)
		}
		want = append(want, live()...)
		for _, n := range want {
			select {
			case e := <-got:
				if e.ch != filtered || e.n != n {
					t.Fatalf("got event %d on %s, want %d on %s", e.n, e.ch, n, filtered)
				}
			case <-ctx.Done():
				t.Fatalf("event %d never arrived", n)
			}
		}
		if err := c.Publish(ctx, "/sync", 1); err != nil { // a round trip: nothing else is on its way
			t.Fatal(err)
		}
		select {
		case e := <-got:
			t.Fatalf("unexpected event %d on %s", e.n, e.ch)
		default:
		}
	}
	var last int64
	run([]int{1, 3}, func() []int {
		publish(4, "Closed")
		last = publish(5, "Open")
		return []int{5}
	})
	if id, ok := store.Load(filtered); !ok || id != last {
		t.Fatalf("stored position of %s: %d, %v; want %d", filtered, id, ok, last)
	}
	run(nil, func() []int {
		publish(6, "Open")
		return []int{6}
	})

	// Every /meta/subscribe gave its replay id under the channel without
	// its query.
	var keys []map[string]any
	for _, m := range srv.Received() {
		if m.Channel == bayeux.MetaSubscribe {
			ids, _ := m.Ext["replay"].(map[string]any)
			keys = append(keys, ids)
		}
	}
	if len(keys) != 2 {
		t.Fatalf("%d subscribes, want 2", len(keys))
	}
	for i, ids := range keys {
		if _, ok := ids[string(topic)]; !ok || len(ids) != 1 {
			t.Errorf("subscribe %d: replay ext %v, want the key %s", i, ids, topic)
		}
	}
	if v, _ := keys[1][string(topic)].(float64); int64(v) != last {
		t.Errorf("the restarted client resumed from %v, want %d", keys[1][string(topic)], last)
	}
}
