package bayeuxtest_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bayeux-go/sdk/bayeux"
	"github.com/bayeux-go/sdk/bayeux/bayeuxtest"
)

var hexID = regexp.MustCompile(`^[0-9a-f]{32}$`)

func TestHandshake(t *testing.T) {
	srv := newServer(t)
	p := newPeer(t, srv)
	status, body, hdr, err := p.do(testCtx(t), handshakeBody)
	if err != nil || status != http.StatusOK {
		t.Fatalf("handshake: %d %v", status, err)
	}
	if ct := hdr.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type %q", ct)
	}
	msgs := decode(t, body)
	if len(msgs) != 1 {
		t.Fatalf("want 1 reply, got %d", len(msgs))
	}
	r := msgs[0]
	if r.Channel != bayeux.MetaHandshake || !r.Successful || r.ID != "1" || r.Version != "1.0" {
		t.Errorf("reply %+v", r)
	}
	if !hexID.MatchString(r.ClientID) {
		t.Errorf("clientId %q is not 32 hex characters", r.ClientID)
	}
	want := []string{"long-polling", "callback-polling", "websocket"}
	if !slices.Equal(r.SupportedConnectionTypes, want) {
		t.Errorf("supportedConnectionTypes %v, want %v", r.SupportedConnectionTypes, want)
	}
	a := r.Advice
	if a == nil || a.Reconnect != "retry" || !a.HasInterval() || a.Timeout != 2000 || a.MaxInterval != 5000 {
		t.Errorf("advice %+v", a)
	}
	var cookie *http.Cookie
	for _, c := range (&http.Response{Header: hdr}).Cookies() {
		if c.Name == bayeuxtest.BrowserCookie {
			cookie = c
		}
	}
	if cookie == nil || !cookie.HttpOnly || cookie.Path != "/" || cookie.Value == "" {
		t.Errorf("BAYEUX_BROWSER cookie %+v", cookie)
	}

	ids := map[string]bool{r.ClientID: true}
	for range 50 {
		id := newPeer(t, srv).post(handshakeBody)[0].ClientID
		if ids[id] {
			t.Fatalf("clientId %s issued twice", id)
		}
		ids[id] = true
	}
	if n := srv.HandshakeCount(); n != 51 {
		t.Errorf("HandshakeCount %d", n)
	}
	if n := len(srv.Sessions()); n != 51 {
		t.Errorf("Sessions %d", n)
	}
	if srv.Sessions()[0] != r.ClientID {
		t.Errorf("Sessions not oldest first")
	}
}

func TestHandshakeFailures(t *testing.T) {
	srv := newServer(t, bayeuxtest.WithConnectionTypes("long-polling", "websocket"))
	cases := []struct {
		name string
		body string
		code int
	}{
		{"no version", `{"channel":"/meta/handshake","supportedConnectionTypes":["long-polling"]}`, 402},
		{"no types", `{"channel":"/meta/handshake","version":"1.0"}`, 402},
		{"empty types", `{"channel":"/meta/handshake","version":"1.0","supportedConnectionTypes":[]}`, 402},
		{"no common type", `{"channel":"/meta/handshake","version":"1.0","supportedConnectionTypes":["callback-polling","carrier-pigeon"]}`, 301},
		{"minimum version too high", `{"channel":"/meta/handshake","version":"2.0","minimumVersion":"2.0","supportedConnectionTypes":["long-polling"]}`, 300},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := newPeer(t, srv).post("[" + strings.TrimSuffix(tc.body, "}") + `,"id":"7"}]`)[0]
			requireError(t, r, tc.code)
			if r.ClientID != "" || r.ID != "7" {
				t.Errorf("reply %+v", r)
			}
			if !slices.Equal(r.SupportedConnectionTypes, []string{"long-polling", "websocket"}) {
				t.Errorf("reply does not list the server's types: %v", r.SupportedConnectionTypes)
			}
			if r.Advice == nil || r.Advice.Reconnect != "handshake" {
				t.Errorf("advice %+v", r.Advice)
			}
		})
	}
	if n := srv.HandshakeCount(); n != 0 || len(srv.Sessions()) != 0 {
		t.Errorf("failed handshakes created sessions: %d", n)
	}
}

func TestHandshakeIgnoresBatchedMessages(t *testing.T) {
	srv := newServer(t)
	a := newPeer(t, srv)
	a.handshake()
	a.subscribe(`"/foo"`)

	b := newPeer(t, srv)
	msgs := b.post(fmt.Sprintf(`[{"channel":"/meta/subscribe","clientId":%q,"subscription":"/bar","id":"0"},
		{"channel":"/meta/handshake","version":"1.0","supportedConnectionTypes":["long-polling"],"id":"1"},
		{"channel":"/foo","clientId":%q,"data":"x","id":"2"}]`, a.id, a.id))
	if len(msgs) != 1 || msgs[0].Channel != bayeux.MetaHandshake || !msgs[0].Successful {
		t.Fatalf("want only the handshake reply, got %+v", msgs)
	}
	if srv.Subscribers("/bar") != 0 {
		t.Error("subscribe batched with a handshake was processed")
	}
	if ev := a.poll(); len(ev) != 0 {
		t.Errorf("publish batched with a handshake was processed: %+v", ev)
	}
	if n := srv.Count("/foo"); n != 1 {
		t.Errorf("Received should still record the ignored messages; /foo count %d", n)
	}
}

func TestFirstConnectAndTimeoutZeroAnsweredAtOnce(t *testing.T) {
	srv := newServer(t, bayeuxtest.WithTimeout(long))
	p := newPeer(t, srv)
	p.id = p.post(handshakeBody)[0].ClientID
	// First connect after the handshake, without advice: answered at once.
	r := p.connect("")
	if len(r) != 1 || !r[0].Successful || r[0].ID != "c" || r[0].Advice == nil || r[0].Advice.Reconnect != "retry" {
		t.Fatalf("first connect: %+v", r)
	}
	// A connect with advice {timeout:0}: answered at once.
	r = p.connect(`,"advice":{"timeout":0}`)
	if !r[0].Successful {
		t.Fatalf("connect timeout 0: %+v", r)
	}
	// A connect batched with another message: not held.
	msgs := p.post(fmt.Sprintf(`[{"channel":"/meta/connect","clientId":%q,"connectionType":"long-polling","id":"c"},
		{"channel":"/meta/subscribe","clientId":%q,"subscription":"/x","id":"s"}]`, p.id, p.id))
	if got := channels(msgs); !slices.Equal(got, []string{"/meta/connect", "/meta/subscribe"}) {
		t.Fatalf("replies %v, want connect then subscribe", got)
	}
	if srv.HeldConnects() != 0 {
		t.Error("a connect is still held")
	}
}

func TestConnectHeldUntilTimeout(t *testing.T) {
	srv := newServer(t, bayeuxtest.WithTimeout(200*time.Millisecond))
	p := newPeer(t, srv)
	p.handshake()
	ch := p.asyncPost(testCtx(t), p.connectBody("c2", ""))
	if err := srv.WaitHeld(testCtx(t), 1); err != nil {
		t.Fatal(err)
	}
	msgs := p.await(ch)
	if len(msgs) != 1 || !msgs[0].Successful || msgs[0].ID != "c2" {
		t.Fatalf("held connect reply %+v", msgs)
	}
	if msgs[0].Advice == nil || msgs[0].Advice.Timeout != 200 {
		t.Errorf("advice %+v", msgs[0].Advice)
	}
	if srv.HeldConnects() != 0 {
		t.Error("connect still counted as held")
	}
}

func TestHeldConnectReleasedByPublish(t *testing.T) {
	srv := newServer(t, bayeuxtest.WithTimeout(long))
	a, b := newPeer(t, srv), newPeer(t, srv)
	a.handshake()
	b.handshake()
	if r := a.subscribe(`"/foo/*"`); !r.Successful {
		t.Fatalf("subscribe %+v", r)
	}
	ch := a.asyncPost(testCtx(t), a.connectBody("c2", ""))
	if err := srv.WaitHeld(testCtx(t), 1); err != nil {
		t.Fatal(err)
	}
	pr := b.post(fmt.Sprintf(`[{"channel":"/foo/x","clientId":%q,"data":{"wake":true},"id":"9","ext":{"k":1}}]`, b.id))
	if len(pr) != 1 || !pr[0].Successful || pr[0].ID != "9" || pr[0].Data != nil {
		t.Fatalf("publish reply %+v", pr)
	}
	msgs := a.await(ch)
	if got := channels(msgs); !slices.Equal(got, []string{"/meta/connect", "/foo/x"}) {
		t.Fatalf("released connect carried %v", got)
	}
	ev := msgs[1]
	if ev.ClientID != "" || string(ev.Data) != `{"wake":true}` || ev.ID != "9" || ev.Ext["k"] != float64(1) {
		t.Errorf("event %+v", ev)
	}
}

func TestConnectWithQueuedEventsAnsweredAtOnce(t *testing.T) {
	srv := newServer(t, bayeuxtest.WithTimeout(long))
	a, b := newPeer(t, srv), newPeer(t, srv)
	a.handshake()
	b.handshake()
	a.subscribe(`"/q"`)
	b.publish("/q", `1`)
	b.publish("/q", `2`)
	msgs := a.connect("")
	if got := channels(msgs); !slices.Equal(got, []string{"/meta/connect", "/q", "/q"}) {
		t.Fatalf("got %v", got)
	}
	if string(msgs[1].Data) != "1" || string(msgs[2].Data) != "2" {
		t.Errorf("events out of order: %s %s", msgs[1].Data, msgs[2].Data)
	}
}

func TestDuplicateConnectReleasesTheOldOne(t *testing.T) {
	srv := newServer(t, bayeuxtest.WithTimeout(long))
	a, b := newPeer(t, srv), newPeer(t, srv)
	a.handshake()
	b.handshake()
	a.subscribe(`"/d"`)
	first := a.asyncPost(testCtx(t), a.connectBody("c1", ""))
	if err := srv.WaitHeld(testCtx(t), 1); err != nil {
		t.Fatal(err)
	}
	second := a.asyncPost(testCtx(t), a.connectBody("c2", ""))
	m1 := a.await(first)
	if len(m1) != 1 || m1[0].ID != "c1" || !m1[0].Successful {
		t.Fatalf("superseded connect reply %+v", m1)
	}
	if err := srv.WaitHeld(testCtx(t), 1); err != nil {
		t.Fatal(err)
	}
	b.publish("/d", `"x"`)
	m2 := a.await(second)
	if got := channels(m2); m2[0].ID != "c2" || !slices.Equal(got, []string{"/meta/connect", "/d"}) {
		t.Fatalf("second connect %+v", m2)
	}
}

func TestSubscribe(t *testing.T) {
	srv := newServer(t)
	p := newPeer(t, srv)
	p.handshake()

	raw := p.postRaw(fmt.Sprintf(`[{"channel":"/meta/subscribe","clientId":%q,"subscription":"/foo","id":"1"}]`, p.id))
	obj := rawObjects(t, raw)[0]
	if obj["subscription"] != "/foo" || obj["successful"] != true || obj["id"] != "1" {
		t.Errorf("string form not echoed: %s", raw)
	}
	raw = p.postRaw(fmt.Sprintf(`[{"channel":"/meta/subscribe","clientId":%q,"subscription":["/bar"],"id":"2"}]`, p.id))
	if !containsBytes(raw, `"subscription":["/bar"]`) {
		t.Errorf("array form not echoed: %s", raw)
	}
	if r := p.subscribe(`["/a/*","/a/**"]`); !r.Successful || len(r.Subscription) != 2 {
		t.Errorf("array subscribe %+v", r)
	}
	if err := srv.WaitSubscribed(testCtx(t), "/a/**"); err != nil {
		t.Fatal(err)
	}
	want := []bayeux.Channel{"/a/*", "/a/**", "/bar", "/foo"}
	if got := srv.Subscriptions(p.id); !slices.Equal(got, want) {
		t.Errorf("Subscriptions %v, want %v", got, want)
	}

	// Refusals.
	for _, tc := range []struct {
		sub  string
		code int
	}{
		{`"/meta/connect"`, 403},
		{`"/meta/*"`, 403},
		{`"foo"`, 405},
		{`"/foo/*/bar"`, 405},
		{`"/foo//bar"`, 405},
		{`["/ok","/meta/**"]`, 403},
		{`["/ok2","bad"]`, 405},
	} {
		r := p.subscribe(tc.sub)
		requireError(t, r, tc.code)
		if len(r.Subscription) == 0 {
			t.Errorf("%s: subscription not echoed", tc.sub)
		}
	}
	if srv.Subscribers("/ok") != 0 || srv.Subscribers("/ok2") != 0 {
		t.Error("a refused array subscription was partly applied")
	}
	r := p.post(fmt.Sprintf(`[{"channel":"/meta/subscribe","clientId":%q,"id":"3"}]`, p.id))[0]
	if me := requireError(t, r, 402); len(me.ErrorArgs) != 1 || me.ErrorArgs[0] != "subscription" {
		t.Errorf("missing subscription error %q", r.Error)
	}

	// /service subscriptions succeed but are not recorded.
	if r := p.subscribe(`"/service/x"`); !r.Successful {
		t.Errorf("service subscribe %+v", r)
	}
	if srv.Subscribers("/service/x") != 0 {
		t.Error("service subscription recorded")
	}

	// Unsubscribe, echoing the form; unknown channels are fine.
	msgs := p.post(fmt.Sprintf(`[{"channel":"/meta/unsubscribe","clientId":%q,"subscription":["/foo","/never"],"id":"u"}]`, p.id))
	if !msgs[0].Successful || !msgs[0].SubscriptionIsArray() {
		t.Errorf("unsubscribe %+v", msgs[0])
	}
	if srv.Subscribers("/foo") != 0 {
		t.Error("still subscribed after unsubscribe")
	}
}

func TestWildcardDelivery(t *testing.T) {
	srv := newServer(t)
	one, two, exact, pub := newPeer(t, srv), newPeer(t, srv), newPeer(t, srv), newPeer(t, srv)
	for _, p := range []*peer{one, two, exact, pub} {
		p.handshake()
	}
	one.subscribe(`"/foo/*"`)
	two.subscribe(`"/foo/**"`)
	exact.subscribe(`"/foo"`)
	for _, ch := range []string{"/foo", "/foo/bar", "/foo/bar/baz", "/foobar"} {
		pub.publish(ch, fmt.Sprintf("%q", ch))
	}
	check := func(p *peer, want ...string) {
		t.Helper()
		if got := channels(p.poll()); !slices.Equal(got, want) {
			t.Errorf("got %v, want %v", got, want)
		}
	}
	check(one, "/foo/bar")
	check(two, "/foo/bar", "/foo/bar/baz")
	check(exact, "/foo")
}

func TestOneCopyPerSession(t *testing.T) {
	srv := newServer(t)
	a, b := newPeer(t, srv), newPeer(t, srv)
	a.handshake()
	b.handshake()
	a.subscribe(`["/a/*","/a/**","/a/b","/**"]`)
	b.publish("/a/b", `"once"`)
	if got := a.poll(); len(got) != 1 || dataString(t, got[0]) != "once" {
		t.Fatalf("want one copy, got %+v", got)
	}
}

func TestPublish(t *testing.T) {
	srv := newServer(t)
	p := newPeer(t, srv)
	p.handshake()
	p.subscribe(`"/self"`)

	// The publish reply has no data; the publisher's own copy rides on the
	// same (immediate) response.
	raw := p.postRaw(fmt.Sprintf(`[{"channel":"/self","clientId":%q,"data":{"n":1},"id":"42"}]`, p.id))
	objs := rawObjects(t, raw)
	if len(objs) != 2 {
		t.Fatalf("want reply and event, got %s", raw)
	}
	reply, ev := objs[0], objs[1]
	if reply["channel"] != "/self" || reply["id"] != "42" || reply["successful"] != true {
		t.Errorf("reply %v", reply)
	}
	if _, ok := reply["data"]; ok {
		t.Errorf("publish reply carries data: %v", reply)
	}
	if _, ok := ev["clientId"]; ok {
		t.Errorf("event leaks the publisher's clientId: %v", ev)
	}
	if _, ok := ev["successful"]; ok || ev["channel"] != "/self" || ev["data"] == nil {
		t.Errorf("event %v", ev)
	}

	for _, tc := range []struct {
		msg  string
		code int
	}{
		{`{"channel":"/meta/foo","data":1}`, 403},
		{`{"channel":"/meta/connectx","connectionType":"long-polling"}`, 403},
		{`{"channel":"/meta/subscribe/x","subscription":"/y"}`, 403},
		{`{"channel":"/foo/*","data":1}`, 405},
		{`{"channel":"/foo/**","data":1}`, 405},
		{`{"channel":"foo","data":1}`, 405},
		{`{"channel":"","data":1}`, 405},
		{`{"channel":"/foo"}`, 402},
		{`{"channel":"/foo","data":null}`, 402},
	} {
		msg := strings.TrimSuffix(tc.msg, "}") + fmt.Sprintf(`,"clientId":%q,"id":"e"}`, p.id)
		r := p.post("[" + msg + "]")[0]
		requireError(t, r, tc.code)
		if r.ID != "e" {
			t.Errorf("%s: id not echoed: %+v", tc.msg, r)
		}
	}
	if srv.Subscribers("/y") != 0 {
		t.Error("/meta/subscribe/x acted as a subscribe")
	}
}

func TestEventsRideOnImmediateResponses(t *testing.T) {
	srv := newServer(t, bayeuxtest.WithTimeout(long))
	a, b := newPeer(t, srv), newPeer(t, srv)
	a.handshake()
	b.handshake()
	a.subscribe(`"/news"`)
	b.publish("/news", `"first"`)
	// a's next response, whatever it answers, carries the event.
	msgs := a.publish("/elsewhere", `0`)
	if got := channels(msgs); !slices.Equal(got, []string{"/elsewhere", "/news"}) {
		t.Fatalf("got %v", got)
	}

	// While a's connect is held, its own publish to a subscribed channel is
	// delivered on the publish response, not by waking the connect.
	held := a.asyncPost(testCtx(t), a.connectBody("h", ""))
	if err := srv.WaitHeld(testCtx(t), 1); err != nil {
		t.Fatal(err)
	}
	msgs = a.publish("/news", `"mine"`)
	if got := channels(msgs); !slices.Equal(got, []string{"/news", "/news"}) || dataString(t, msgs[1]) != "mine" {
		t.Fatalf("got %+v", msgs)
	}
	if srv.HeldConnects() != 1 {
		t.Error("the held connect was woken")
	}
	b.publish("/news", `"wake"`)
	if got := channels(a.await(held)); !slices.Equal(got, []string{"/meta/connect", "/news"}) {
		t.Fatalf("held connect got %v", got)
	}
}

func TestEventsBeforeReplies(t *testing.T) {
	srv := newServer(t, bayeuxtest.WithEventsBeforeReplies(true))
	a, b := newPeer(t, srv), newPeer(t, srv)
	a.handshake()
	b.handshake()
	a.subscribe(`"/e"`)
	b.publish("/e", `1`)
	if got := channels(a.post(a.connectBody("c", `,"advice":{"timeout":0}`))); !slices.Equal(got, []string{"/e", "/meta/connect"}) {
		t.Fatalf("got %v", got)
	}
}

func TestServiceChannels(t *testing.T) {
	srv := newServer(t)
	var mu sync.Mutex
	var seen []bayeux.Message
	srv.HandleService("/service/echo", func(m bayeux.Message) (any, error) {
		mu.Lock()
		seen = append(seen, m)
		mu.Unlock()
		return json.RawMessage(m.Data), nil
	})
	srv.HandleService("/service/fail", func(bayeux.Message) (any, error) { return nil, errors.New("boom") })
	srv.HandleService("/service/panic", func(bayeux.Message) (any, error) { panic("oops") })
	srv.HandleService("/service/obj/**", func(m bayeux.Message) (any, error) {
		return map[string]string{"channel": string(m.Channel)}, nil
	})

	p, spy := newPeer(t, srv), newPeer(t, srv)
	p.handshake()
	spy.handshake()
	spy.subscribe(`["/**","/service/**"]`)

	r := p.publish("/service/echo", `{"x":1}`)
	if len(r) != 1 || !r[0].Successful || r[0].ID != "p" || string(r[0].Data) != `{"x":1}` {
		t.Fatalf("echo reply %+v", r)
	}
	mu.Lock()
	if len(seen) != 1 || seen[0].ClientID != p.id {
		t.Errorf("handler saw %+v", seen)
	}
	mu.Unlock()
	r = p.publish("/service/obj/a/b", `0`)
	if string(r[0].Data) != `{"channel":"/service/obj/a/b"}` {
		t.Errorf("pattern handler reply %+v", r[0])
	}
	r = p.publish("/service/fail", `0`)
	if requireError(t, r[0], 500); r[0].Error != "500::boom" {
		t.Errorf("error %q", r[0].Error)
	}
	requireError(t, p.publish("/service/panic", `0`)[0], 500)
	r = p.publish("/service/none", `0`)
	if !r[0].Successful || r[0].Data != nil {
		t.Errorf("unhandled service reply %+v", r[0])
	}
	if got := spy.poll(); len(got) != 0 {
		t.Errorf("service messages were broadcast: %+v", got)
	}
}

func TestUnknownClient(t *testing.T) {
	srv := newServer(t)
	p := newPeer(t, srv)
	for _, id := range []string{"bogus", "__proto__", "constructor", ""} {
		for _, msg := range []string{
			`{"channel":"/meta/connect","connectionType":"long-polling"}`,
			`{"channel":"/meta/subscribe","subscription":"/foo"}`,
			`{"channel":"/meta/unsubscribe","subscription":["/foo"]}`,
			`{"channel":"/meta/disconnect"}`,
			`{"channel":"/foo","data":1}`,
		} {
			body := "[" + strings.TrimSuffix(msg, "}") + fmt.Sprintf(`,"clientId":%q,"id":"u"}]`, id)
			r := p.post(body)[0]
			me := requireError(t, r, 402)
			if r.Error != "402:"+id+":Unknown client" || me.ErrorMessage != "Unknown client" {
				t.Errorf("%s: error %q", body, r.Error)
			}
			if r.Advice == nil || r.Advice.Reconnect != "handshake" || !r.Advice.HasInterval() || r.Advice.Interval != 0 {
				t.Errorf("%s: advice %+v", body, r.Advice)
			}
			if r.ID != "u" || r.ClientID != "" {
				t.Errorf("%s: reply %+v", body, r)
			}
			if strings.Contains(msg, "subscription") && len(r.Subscription) != 1 {
				t.Errorf("%s: subscription not echoed", body)
			}
		}
	}
}

func TestSessionExpiry(t *testing.T) {
	srv := newServer(t, bayeuxtest.WithMaxInterval(100*time.Millisecond), bayeuxtest.WithTimeout(20*time.Millisecond))
	p := newPeer(t, srv)
	id := p.handshake()
	if err := srv.WaitFor(testCtx(t), func(s *bayeuxtest.Server) bool { return len(s.Sessions()) == 0 }); err != nil {
		t.Fatal(err)
	}
	r := p.connect("")
	requireError(t, r[0], 402)
	if !strings.Contains(r[0].Error, id) {
		t.Errorf("error %q", r[0].Error)
	}
}

func TestConnectsKeepSessionAlive(t *testing.T) {
	srv := newServer(t, bayeuxtest.WithMaxInterval(150*time.Millisecond), bayeuxtest.WithTimeout(40*time.Millisecond))
	p := newPeer(t, srv)
	p.handshake()
	// Ten held connects in a row span several maxIntervals' worth of sweeps
	// only if the session survives them.
	for range 10 {
		if r := p.connect(""); !r[0].Successful {
			t.Fatalf("connect %+v", r[0])
		}
	}
}

func TestDisconnect(t *testing.T) {
	srv := newServer(t, bayeuxtest.WithTimeout(long))
	p := newPeer(t, srv)
	p.handshake()
	p.subscribe(`"/x"`)
	held := p.asyncPost(testCtx(t), p.connectBody("h", ""))
	if err := srv.WaitHeld(testCtx(t), 1); err != nil {
		t.Fatal(err)
	}
	r := p.post(fmt.Sprintf(`[{"channel":"/meta/disconnect","clientId":%q,"id":"d"}]`, p.id))
	if len(r) != 1 || !r[0].Successful || r[0].ID != "d" {
		t.Fatalf("disconnect reply %+v", r)
	}
	hr := p.await(held)
	if len(hr) != 1 || !hr[0].Successful || hr[0].Advice == nil || hr[0].Advice.Reconnect != "none" {
		t.Errorf("released connect %+v", hr)
	}
	if len(srv.Sessions()) != 0 || srv.Subscribers("/x") != 0 {
		t.Error("session survived disconnect")
	}
	requireError(t, p.connect("")[0], 402)
}

func TestExpireSession(t *testing.T) {
	srv := newServer(t, bayeuxtest.WithTimeout(long))
	a, b := newPeer(t, srv), newPeer(t, srv)
	a.handshake()
	b.handshake()
	held := a.asyncPost(testCtx(t), a.connectBody("h", ""))
	if err := srv.WaitHeld(testCtx(t), 1); err != nil {
		t.Fatal(err)
	}
	if !srv.ExpireSession(a.id) || srv.ExpireSession(a.id) || srv.ExpireSession("nope") {
		t.Fatal("ExpireSession result")
	}
	r := a.await(held)
	requireError(t, r[0], 402)
	if r[0].ID != "h" || r[0].Advice.Reconnect != "handshake" {
		t.Errorf("released connect %+v", r[0])
	}
	if got := srv.Sessions(); len(got) != 1 || got[0] != b.id {
		t.Errorf("Sessions %v", got)
	}
	srv.ExpireAllSessions()
	requireError(t, b.connect("")[0], 402)
}

func TestCookieBinding(t *testing.T) {
	srv := newServer(t, bayeuxtest.WithCookieBinding(true))
	p := newPeer(t, srv)
	p.handshake() // the jar sends the cookie back
	thief := newPeer(t, srv)
	thief.id = p.id
	requireError(t, thief.connect(`,"advice":{"timeout":0}`)[0], 402)
	r := thief.publish("/x", "1")
	requireError(t, r[0], 402)
	if r := p.publish("/x", "1"); !r[0].Successful {
		t.Errorf("owner's publish %+v", r[0])
	}
}

func TestStrictMessageIDs(t *testing.T) {
	srv := newServer(t)
	p := newPeer(t, srv)
	r := p.post(`[{"channel":"/meta/handshake","version":"1.0","supportedConnectionTypes":["long-polling"],"id":"<script>"}]`)[0]
	requireError(t, r, 405)
	if srv.HandshakeCount() != 0 {
		t.Error("message with an invalid id was processed")
	}
	lax := newServer(t, bayeuxtest.WithStrictMessageIDs(false))
	r = newPeer(t, lax).post(`[{"channel":"/meta/handshake","version":"1.0","supportedConnectionTypes":["long-polling"],"id":"a-1"}]`)[0]
	if !r.Successful || r.ID != "a-1" {
		t.Errorf("lax server: %+v", r)
	}
}

func TestExtensions(t *testing.T) {
	var mu sync.Mutex
	var order []string
	deny := bayeuxtest.ExtensionFuncs{
		In: func(m *bayeux.Message) {
			if m.Channel == bayeux.MetaHandshake && m.Ext["token"] != "ok" {
				m.Error = "403::Handshake denied"
			}
			if m.Channel == bayeux.MetaSubscribe && slices.Contains(m.Subscription, "/secret") {
				m.Error = "403:/secret:Forbidden"
			}
		},
		Out: func(m *bayeux.Message) {
			mu.Lock()
			order = append(order, "first")
			mu.Unlock()
			m.GetExt(true)["seen"] = "yes"
		},
	}
	second := bayeuxtest.ExtensionFuncs{Out: func(*bayeux.Message) {
		mu.Lock()
		order = append(order, "second")
		mu.Unlock()
	}}
	srv := newServer(t, bayeuxtest.WithExtension(deny), bayeuxtest.WithExtension(second))
	p := newPeer(t, srv)
	r := p.post(handshakeBody)[0]
	requireError(t, r, 403)
	if r.Advice == nil || r.Advice.Reconnect != "none" || r.ClientID != "" || r.Ext["seen"] != "yes" {
		t.Errorf("denied handshake %+v", r)
	}
	mu.Lock()
	if !slices.Equal(order, []string{"second", "first"}) {
		t.Errorf("Outgoing order %v, want reverse of registration", order)
	}
	mu.Unlock()

	r = p.post(`[{"channel":"/meta/handshake","version":"1.0","supportedConnectionTypes":["long-polling"],"ext":{"token":"ok"}}]`)[0]
	if !r.Successful {
		t.Fatalf("handshake %+v", r)
	}
	p.id = r.ClientID
	sr := p.subscribe(`"/secret"`)
	if sr.Error != "403:/secret:Forbidden" || sr.Successful || len(sr.Subscription) != 1 {
		t.Errorf("denied subscribe %+v", sr)
	}
	if srv.Subscribers("/secret") != 0 {
		t.Error("denied subscription recorded")
	}
	p.subscribe(`"/open"`)
	msgs := p.publish("/open", `1`)
	for _, m := range msgs {
		if m.Ext["seen"] != "yes" {
			t.Errorf("Outgoing did not see %+v", m)
		}
	}
	// Incoming saw the client-sent error field cleared: a message with
	// "error" from a client is processed normally.
	if r := p.post(fmt.Sprintf(`[{"channel":"/meta/subscribe","clientId":%q,"subscription":"/z","error":"999::x"}]`, p.id))[0]; !r.Successful {
		t.Errorf("client-sent error field was honoured: %+v", r)
	}
}

func TestServerPublishAndDeliver(t *testing.T) {
	srv := newServer(t)
	a, b := newPeer(t, srv), newPeer(t, srv)
	a.handshake()
	b.handshake()
	a.subscribe(`"/tick"`)
	if err := srv.Publish("/tick", map[string]int{"n": 1}); err != nil {
		t.Fatal(err)
	}
	got := a.poll()
	if len(got) != 1 || string(got[0].Data) != `{"n":1}` || got[0].ID != "" {
		t.Fatalf("got %+v", got)
	}
	if len(b.poll()) != 0 {
		t.Error("unsubscribed session got the event")
	}
	ok, err := srv.Deliver(b.id, "/private", "hi")
	if !ok || err != nil {
		t.Fatal(ok, err)
	}
	if got := b.poll(); len(got) != 1 || dataString(t, got[0]) != "hi" {
		t.Errorf("deliver: %+v", got)
	}
	for _, ch := range []bayeux.Channel{"/a/*", "/meta/x", "/service/x", "bad"} {
		if err := srv.Publish(ch, 1); err == nil {
			t.Errorf("Publish(%s) accepted", ch)
		}
	}
	if err := srv.Publish("/ok", json.RawMessage(`{bad`)); err == nil {
		t.Error("invalid raw data accepted")
	}
	if ok, _ := srv.Deliver("nope", "/x", 1); ok {
		t.Error("Deliver to unknown session")
	}
}

func TestReceived(t *testing.T) {
	srv := newServer(t)
	p := newPeer(t, srv)
	p.handshake()
	p.publish("/r", `{"a":[1,2]}`)
	got := srv.Received()
	if ch := channels(got); !slices.Equal(ch, []string{"/meta/handshake", "/meta/connect", "/r"}) {
		t.Fatalf("Received %v", ch)
	}
	got[2].Data[0] = 'X'
	got[2].Channel = "/changed"
	if again := srv.Received(); again[2].Channel != "/r" || again[2].Data[0] != '{' {
		t.Error("Received returned shared memory")
	}
	if srv.Count(bayeux.MetaConnect) != 1 {
		t.Errorf("Count %d", srv.Count(bayeux.MetaConnect))
	}
	srv.ResetReceived()
	if len(srv.Received()) != 0 || srv.Count("/r") != 0 {
		t.Error("ResetReceived")
	}
	lim := newServer(t, bayeuxtest.WithReceivedLimit(2))
	q := newPeer(t, lim)
	q.handshake()
	q.publish("/r", "1")
	if got := channels(lim.Received()); !slices.Equal(got, []string{"/meta/connect", "/r"}) {
		t.Errorf("limited Received %v", got)
	}
}

func TestHostsAdvice(t *testing.T) {
	srv := newServer(t, bayeuxtest.WithHostsAdvice([]string{"alt.example:8080"}))
	p := newPeer(t, srv)
	r := p.post(handshakeBody)[0]
	if r.Advice == nil || !slices.Equal(r.Advice.Hosts, []string{"alt.example:8080"}) {
		t.Errorf("advice %+v", r.Advice)
	}
}

func TestWaitForEndsOnClose(t *testing.T) {
	srv := bayeuxtest.NewServer()
	errc := make(chan error, 1)
	go func() {
		errc <- srv.WaitFor(context.Background(), func(*bayeuxtest.Server) bool { return false })
	}()
	srv.Close()
	if err := <-errc; !errors.Is(err, bayeuxtest.ErrServerClosed) {
		t.Errorf("WaitFor after Close: %v", err)
	}
	if err := srv.Publish("/x", 1); !errors.Is(err, bayeuxtest.ErrServerClosed) {
		t.Errorf("Publish after Close: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	srv2 := newServer(t)
	if err := srv2.WaitFor(ctx, func(*bayeuxtest.Server) bool { return false }); !errors.Is(err, context.Canceled) {
		t.Errorf("WaitFor with cancelled ctx: %v", err)
	}
}

func TestCloseReleasesHeldConnects(t *testing.T) {
	srv := bayeuxtest.NewServer(bayeuxtest.WithTimeout(long))
	p := newPeer(t, srv)
	p.handshake()
	held := p.asyncPost(context.Background(), p.connectBody("h", ""))
	if err := srv.WaitHeld(testCtx(t), 1); err != nil {
		t.Fatal(err)
	}
	srv.Close()
	srv.Close() // idempotent
	if r := <-held; r.err == nil {
		t.Errorf("held connect answered %d %s on Close; want a torn connection", r.status, r.body)
	}
}

func TestRestart(t *testing.T) {
	srv := newServer(t, bayeuxtest.WithTimeout(long))
	p := newPeer(t, srv)
	old := p.handshake()
	p.subscribe(`"/r"`)
	held := p.asyncPost(testCtx(t), p.connectBody("h", ""))
	if err := srv.WaitHeld(testCtx(t), 1); err != nil {
		t.Fatal(err)
	}
	srv.Restart()
	if r := <-held; r.err == nil {
		t.Errorf("held connect answered %d on restart; want a torn connection", r.status)
	}
	requireError(t, p.connect("")[0], 402)
	if srv.Subscribers("/r") != 0 || len(srv.Sessions()) != 0 {
		t.Error("state survived Restart")
	}
	if id := p.handshake(); id == old {
		t.Error("same clientId after restart")
	}
	if srv.HandshakeCount() != 2 {
		t.Errorf("HandshakeCount %d", srv.HandshakeCount())
	}
}

func TestUnstartedServer(t *testing.T) {
	srv := bayeuxtest.NewUnstartedServer(bayeuxtest.WithPath("/cometd/"))
	if srv.URL != "" {
		t.Error("URL set before Start")
	}
	srv.Start()
	defer srv.Close()
	if !strings.HasSuffix(srv.URL, "/cometd") || !strings.HasPrefix(srv.URL, "http://127.0.0.1:") {
		t.Errorf("URL %q", srv.URL)
	}
	if r := newPeer(t, srv).post(handshakeBody)[0]; !r.Successful {
		t.Errorf("handshake %+v", r)
	}
	bayeuxtest.NewUnstartedServer().Close() // closing an unstarted server is fine
}

func TestConcurrentSessions(t *testing.T) {
	srv := newServer(t, bayeuxtest.WithTimeout(50*time.Millisecond))
	pub := newPeer(t, srv)
	pub.handshake()
	const n = 8
	var wg sync.WaitGroup
	subs := make([]*peer, n)
	for i := range subs {
		subs[i] = newPeer(t, srv)
		subs[i].handshake()
		subs[i].subscribe(`"/load/**"`)
	}
	for i := range subs {
		wg.Add(1)
		go func(p *peer) {
			defer wg.Done()
			got := 0
			for got < 20 {
				status, b, _, err := p.do(context.Background(), p.connectBody("c", ""))
				if err != nil || status != 200 {
					t.Errorf("connect: %v %d", err, status)
					return
				}
				msgs, _ := bayeux.DecodeMessages(b)
				got += len(msgs) - 1
			}
		}(subs[i])
	}
	for i := range 20 {
		pub.publish(fmt.Sprintf("/load/%d", i), fmt.Sprint(i))
	}
	wg.Wait()
}
