package interop

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/bayeux-go/sdk/bayeux"
	"github.com/bayeux-go/sdk/transport/callbackpoll"
)

// The basic suite, run against every server over every transport it
// supports: handshake, subscriptions (exact and wildcards) delivered to
// several clients, publish replies and denials, unsubscribe, pull mode,
// batches, remote calls on /service/echo, disconnect.

func TestFaye(t *testing.T) {
	srv := startPeer(t, "faye")
	for _, tr := range []string{lp, cp, ws} {
		t.Run(tr, func(t *testing.T) { basicSuite(t, srv, tr) })
	}
}

func TestCometD(t *testing.T) {
	srv := startPeer(t, "cometd")
	t.Run(lp, func(t *testing.T) { basicSuite(t, srv, lp) })
}

func basicSuite(t *testing.T, srv *peer, tr string) {
	for _, c := range []struct {
		name string
		fn   func(*testing.T, *peer, string)
	}{
		{"Handshake", testHandshake},
		{"SubscribeWildcardsSeveralClients", testSubscribe},
		{"PublishReplyAndDenial", testPublishDenied},
		{"Unsubscribe", testUnsubscribe},
		{"PullModeAndBatch", testPullAndBatch},
		{"ServiceCall", testServiceCall},
		{"ManyMessagesInOrder", testVolume},
		{"LargeMessage", testLarge},
		{"Disconnect", testDisconnect},
	} {
		t.Run(c.name, func(t *testing.T) {
			srv.checkAlive(t)
			c.fn(t, srv, tr)
			srv.checkAlive(t)
		})
	}
}

// checkConnectionType fails unless every /meta/connect the client sent used
// connection type tr.
func checkConnectionType(t *testing.T, c *tclient, tr string) {
	t.Helper()
	n := 0
	for _, m := range c.wire.messages("out") {
		if m.Channel == bayeux.MetaConnect {
			n++
			if m.ConnectionType != tr {
				t.Errorf("client %s sent /meta/connect with connectionType %q, want %q", c.name, m.ConnectionType, tr)
			}
		}
	}
	if n == 0 {
		t.Errorf("client %s sent no /meta/connect", c.name)
	}
}

// checkOwnCookie fails if a CometD server saw two clients of this process
// behind one BAYEUX_BROWSER cookie (it then answers connects at once with
// advice multiple-clients): every Client needs its own cookie jar.
func checkOwnCookie(t *testing.T, cs ...*tclient) {
	t.Helper()
	for _, c := range cs {
		for _, m := range c.wire.messages("in") {
			if m.Advice != nil && m.Advice.MultipleClients {
				t.Errorf("client %s got advice multiple-clients (shared BAYEUX_BROWSER cookie?): %+v", c.name, m)
			}
		}
	}
}

func testHandshake(t *testing.T, srv *peer, tr string) {
	c := newClient(t, "a", srv.URL(), []string{tr})
	c.connect(t)
	eventually(t, "state connected", func() bool { return c.State() == bayeux.StateConnected })
	if !srv.sessionExists(t, c.ClientID()) {
		t.Fatalf("the server does not know the clientId %q the client reports", c.ClientID())
	}
	if got := c.TransportName(); got != tr {
		t.Errorf("TransportName() = %q, want %q", got, tr)
	}
	out := c.wire.messages("out")
	if len(out) == 0 || out[0].Channel != bayeux.MetaHandshake {
		t.Fatalf("first message sent is not a handshake: %+v", out)
	}
	hs := out[0]
	if hs.Version != "1.0" || len(hs.SupportedConnectionTypes) == 0 {
		t.Errorf("handshake lacks version or supportedConnectionTypes: %+v", hs)
	}
	checkConnectionType(t, c, tr)
}

func testSubscribe(t *testing.T, srv *peer, tr string) {
	base := uniqueChannel(t)
	exact := newClient(t, "exact", srv.URL(), []string{tr})
	one := newClient(t, "one-level", srv.URL(), []string{tr})
	deep := newClient(t, "any-depth", srv.URL(), []string{tr})
	pub := newClient(t, "publisher", srv.URL(), []string{tr})
	for _, c := range []*tclient{exact, one, deep, pub} {
		c.connect(t)
	}
	_, inExact := exact.subscribe(t, base+"/x")
	_, inOne := one.subscribe(t, base+"/*")
	_, inDeep := deep.subscribe(t, base+"/**")

	pub.publish(t, base+"/x", payload{N: 1})
	pub.publish(t, base+"/x/y", payload{N: 2})
	pub.publish(t, base+"/z", payload{N: 3})
	pub.publish(t, base, payload{N: 4}) // matched by no pattern, and not by the exact /x
	pub.publish(t, base+"/x", payload{N: 5})

	// Each server delivers one client's messages in publish order, so the
	// last message (n 5, which everybody gets) proves nothing else came.
	expect(t, "exact "+base+"/x", inExact, base+"/x#1", base+"/x#5")
	expect(t, "one-level "+base+"/*", inOne, base+"/x#1", base+"/z#3", base+"/x#5")
	expect(t, "any-depth "+base+"/**", inDeep, base+"/x#1", base+"/x/y#2", base+"/z#3", base+"/x#5")
	for _, c := range []*tclient{exact, one, deep, pub} {
		checkConnectionType(t, c, tr)
	}
	checkOwnCookie(t, exact, one, deep, pub)
}

func testPublishDenied(t *testing.T, srv *peer, tr string) {
	base := uniqueChannel(t)
	c := newClient(t, "a", srv.URL(), []string{tr})
	c.connect(t)
	_, in := c.subscribe(t, base)
	ctx := ctxLong(t)

	// The servers deny /forbidden/** (an extension in Faye, the security
	// policy in CometD), with a 403.
	err := c.Publish(ctx, "/forbidden/p", payload{N: 1})
	var se *bayeux.ServerError
	if !errors.As(err, &se) || !errors.Is(err, bayeux.ErrPublishDenied) {
		t.Fatalf("Publish(/forbidden/p) = %v, want a *ServerError matching ErrPublishDenied", err)
	}
	if se.Code != 403 || se.Channel != "/forbidden/p" {
		t.Errorf("denied publish: code %d channel %q (raw %q), want 403 on /forbidden/p", se.Code, se.Channel, se.Raw)
	}
	_, err = c.Subscribe(ctx, "/forbidden/s", func(bayeux.Message) {})
	if !errors.As(err, &se) || !errors.Is(err, bayeux.ErrSubscriptionDenied) {
		t.Fatalf("Subscribe(/forbidden/s) = %v, want a *ServerError matching ErrSubscriptionDenied", err)
	}
	if se.Code != 403 {
		t.Errorf("denied subscribe: code %d (raw %q), want 403", se.Code, se.Raw)
	}
	if errors.Is(err, bayeux.ErrUnknownClient) {
		t.Errorf("a denied subscription is not a lost session: %v", err)
	}

	// The session is unharmed: publishing (and its own delivery) works.
	c.publish(t, base, payload{N: 2})
	expect(t, "self-delivery after denials", in, base+"#2")
	if c.State() != bayeux.StateConnected {
		t.Errorf("state after denials = %s, want connected", c.State())
	}
}

func testUnsubscribe(t *testing.T, srv *peer, tr string) {
	base := uniqueChannel(t)
	c := newClient(t, "subscriber", srv.URL(), []string{tr})
	pub := newClient(t, "publisher", srv.URL(), []string{tr})
	c.connect(t)
	pub.connect(t)
	subU, inU := c.subscribe(t, base+"/u")
	_, inV := c.subscribe(t, base+"/v")

	pub.publish(t, base+"/u", payload{N: 1})
	expect(t, "before unsubscribe", inU, base+"/u#1")

	if err := subU.Unsubscribe(ctxLong(t)); err != nil {
		t.Fatalf("Unsubscribe: %v", err)
	}
	pub.publish(t, base+"/u", payload{N: 2})
	pub.publish(t, base+"/v", payload{N: 3})
	// The /v message was published after the /u one: once it is here, the
	// /u one would be too, had it been delivered.
	expect(t, "other subscription", inV, base+"/v#3")
	inU.empty(t, "unsubscribed channel")

	var unsub int
	for _, m := range c.wire.messages("out") {
		if m.Channel == bayeux.MetaUnsubscribe {
			unsub++
			if len(m.Subscription) != 1 || m.Subscription[0] != bayeux.Channel(base+"/u") {
				t.Errorf("/meta/unsubscribe for %v, want [%s/u]", m.Subscription, base)
			}
		}
	}
	if unsub != 1 {
		t.Errorf("client sent %d /meta/unsubscribe, want 1", unsub)
	}
}

func testPullAndBatch(t *testing.T, srv *peer, tr string) {
	base := uniqueChannel(t)
	c := newClient(t, "puller", srv.URL(), []string{tr})
	pub := newClient(t, "batcher", srv.URL(), []string{tr})
	c.connect(t)
	pub.connect(t)
	ctx := ctxLong(t)
	sub, err := c.Subscribe(ctx, bayeux.Channel(base+"/**"), nil)
	if err != nil {
		t.Fatalf("Subscribe pull mode: %v", err)
	}
	b := pub.Batch()
	for n := 1; n <= 3; n++ {
		b.Publish(bayeux.Channel(fmt.Sprintf("%s/b/%d", base, n)), payload{N: n})
	}
	if err := b.Send(ctx); err != nil {
		t.Fatalf("Batch.Send: %v", err)
	}
	n := 0
	for m := range sub.All(ctx) {
		n++
		if want := fmt.Sprintf("%s/b/%d", base, n); string(m.Channel) != want || decode(t, m).N != n {
			t.Fatalf("pull message %d: %s %s, want %s n=%d", n, m.Channel, m.Data, want, n)
		}
		if n == 3 {
			break
		}
	}
	if n != 3 {
		t.Fatalf("pull mode got %d messages, want 3 (ctx: %v)", n, ctx.Err())
	}
	out := pub.wire.messages("out")
	run := 0
	for _, m := range out {
		if !m.IsMeta() {
			run++
		}
	}
	if run != 3 {
		t.Errorf("batcher sent %d publish messages, want 3", run)
	}
}

func testServiceCall(t *testing.T, srv *peer, tr string) {
	c := newClient(t, "caller", srv.URL(), []string{tr})
	c.connect(t)
	want := map[string]any{"ping": "pong", "n": 42.0, "nested": []any{"a", 1.0}}
	for i := 0; i < 3; i++ {
		reply, err := c.Call(ctxLong(t), "/service/echo", want)
		if err != nil {
			t.Fatalf("Call(/service/echo) #%d: %v", i, err)
		}
		var got map[string]any
		if err := json.Unmarshal(reply.Data, &got); err != nil {
			t.Fatalf("Call reply data %s: %v", reply.Data, err)
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("Call reply data = %v, want %v", got, want)
		}
		if !reply.Successful || reply.Channel != "/service/echo" {
			t.Errorf("Call reply = %+v, want a successful reply on /service/echo", reply)
		}
	}
}

func testDisconnect(t *testing.T, srv *peer, tr string) {
	c := newClient(t, "a", srv.URL(), []string{tr})
	c.connect(t)
	base := uniqueChannel(t)
	c.subscribe(t, base)
	eventually(t, "state connected", func() bool { return c.State() == bayeux.StateConnected })
	id := c.ClientID()
	if err := c.Disconnect(ctxLong(t)); err != nil {
		t.Fatalf("Disconnect: %v", err)
	}
	// Done also waits for the handlers, which Disconnect does not.
	select {
	case <-c.Done():
	case <-ctxLong(t).Done():
		t.Fatal("Done not closed after Disconnect")
	}
	if st := c.State(); st != bayeux.StateDisconnected {
		t.Errorf("State after Disconnect = %s", st)
	}
	if srv.sessionExists(t, id) {
		t.Errorf("the server still knows session %s after Disconnect", id)
	}
	if !anyMsg(c.wire.messages("in"), func(m bayeux.Message) bool {
		return m.Channel == bayeux.MetaDisconnect && m.Successful
	}) {
		t.Errorf("no successful /meta/disconnect reply seen")
	}
	if err := c.Publish(ctxLong(t), bayeux.Channel(base), payload{N: 1}); !errors.Is(err, bayeux.ErrClosed) {
		t.Errorf("Publish after Disconnect = %v, want ErrClosed", err)
	}
	if err := c.Disconnect(context.Background()); err != nil {
		t.Errorf("second Disconnect = %v, want nil", err)
	}
}

// testVolume sends 300 messages, in batches of 30 and one by one, and checks
// that the subscriber gets all of them, in order, over many connect cycles
// and multi-message responses.
func testVolume(t *testing.T, srv *peer, tr string) {
	base := uniqueChannel(t)
	sub := newClient(t, "subscriber", srv.URL(), []string{tr})
	pub := newClient(t, "publisher", srv.URL(), []string{tr})
	sub.connect(t)
	pub.connect(t)
	_, in := sub.subscribe(t, base+"/*")
	ctx := ctxLong(t)
	const batches, per = 8, 30
	n := 0
	for b := 0; b < batches; b++ {
		batch := pub.Batch()
		for i := 0; i < per; i++ {
			n++
			batch.Publish(bayeux.Channel(fmt.Sprintf("%s/%d", base, n%7)), payload{N: n})
		}
		if err := batch.Send(ctx); err != nil {
			t.Fatalf("batch %d: %v", b, err)
		}
	}
	for ; n < batches*per+60; n++ {
		pub.publish(t, fmt.Sprintf("%s/%d", base, (n+1)%7), payload{N: n + 1})
	}
	for want := 1; want <= n; want++ {
		m := in.next(t, fmt.Sprintf("message %d of %d", want, n))
		if got := decode(t, m).N; got != want || string(m.Channel) != fmt.Sprintf("%s/%d", base, want%7) {
			t.Fatalf("message %d: got %s n=%d", want, m.Channel, got)
		}
	}
}

// testLarge publishes a large message (256 KiB) and checks it arrives
// intact. Callback-polling carries messages in the URL, which the transport
// keeps under 2000 bytes by default: there a small message must pass, a
// larger one must fail with ErrTooLarge and leave the session working, and
// with a raised limit (Node accepts 16 KiB of request head) 4 KiB must pass.
func testLarge(t *testing.T, srv *peer, tr string) {
	const unit = "0123456789abcdef\"<>&\\/"
	big := func(size int) string { return strings.Repeat(unit, size/len(unit)+1)[:size] + "é✓𝄞" }
	roundTrip := func(c *tclient, text string) {
		t.Helper()
		base := uniqueChannel(t)
		_, in := c.subscribe(t, base)
		c.publish(t, base, payload{N: 1, Text: text})
		m := in.next(t, "large message")
		if p := decode(t, m); p.N != 1 || p.Text != text {
			t.Fatalf("message came back with n=%d and %d bytes of text, want %d bytes", p.N, len(p.Text), len(text))
		}
	}
	c := newClient(t, "a", srv.URL(), []string{tr})
	c.connect(t)
	if tr != cp {
		roundTrip(c, big(256<<10))
		return
	}
	roundTrip(c, big(300))
	err := c.Publish(ctxLong(t), bayeux.Channel(uniqueChannel(t)), payload{N: 2, Text: big(4 << 10)})
	if !errors.Is(err, bayeux.ErrTooLarge) {
		t.Fatalf("Publish of 4 KiB over callback-polling = %v, want an error matching ErrTooLarge", err)
	}
	roundTrip(c, "still working")

	wide := newClient(t, "wide", srv.URL(), nil, bayeux.WithTransports(callbackpoll.New(callbackpoll.WithMaxURLLength(14000))))
	wide.connect(t)
	roundTrip(wide, big(4<<10))
}
