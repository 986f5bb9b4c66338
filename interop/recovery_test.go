package interop

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/bayeux-go/sdk/bayeux"
)

// Recovery: the server restarted on the same port (every session lost), the
// session expired on the server, the connection torn. In each case the
// client must end up with a working session and subscription, and
// messages must flow again.

func TestFayeRecovery(t *testing.T) {
	srv := startPeer(t, "faye")
	for _, tr := range []string{lp, cp, ws} {
		t.Run(tr, func(t *testing.T) {
			t.Run("ServerRestart", func(t *testing.T) { testRestart(t, srv, tr) })
			t.Run("SessionDropped", func(t *testing.T) { testSessionDropped(t, srv, tr) })
			t.Run("ConnectionTorn", func(t *testing.T) { testTorn(t, srv, tr) })
		})
	}
	// Faye forgets a client that sent no /meta/connect for 2 x timeout.
	t.Run(lp+"/SessionExpired", func(t *testing.T) { testExpired(t, srv, lp) })
}

func TestCometDRecovery(t *testing.T) {
	// A short maxInterval, so that a session expires within a second or two
	// of its client going silent.
	srv := startPeer(t, "cometd", "COMETD_MAX_INTERVAL=1000", "COMETD_SWEEP=100")
	t.Run(lp, func(t *testing.T) {
		t.Run("ServerRestart", func(t *testing.T) { testRestart(t, srv, lp) })
		t.Run("SessionDropped", func(t *testing.T) { testSessionDropped(t, srv, lp) })
		t.Run("ConnectionTorn", func(t *testing.T) { testTorn(t, srv, lp) })
		t.Run("SessionExpired", func(t *testing.T) { testExpired(t, srv, lp) })
	})
}

// watchSubscribe returns a channel that receives every successful
// /meta/subscribe reply for ch the client gets from now on.
func watchSubscribe(t *testing.T, c *tclient, ch string) <-chan bayeux.Message {
	t.Helper()
	got := make(chan bayeux.Message, 100)
	_, err := c.AddListener(bayeux.MetaSubscribe, func(m bayeux.Message) {
		if m.Successful && slices.Contains(m.Subscription, bayeux.Channel(ch)) {
			select {
			case got <- m:
			default:
			}
		}
	})
	if err != nil {
		t.Fatalf("AddListener(/meta/subscribe): %v", err)
	}
	return got
}

// waitNewSession waits until the client runs a new session that the server
// knows.
func waitNewSession(t *testing.T, srv *peer, c *tclient, old string) {
	t.Helper()
	eventually(t, "client "+c.name+" re-handshaken and connected", func() bool {
		id := c.ClientID()
		return id != "" && id != old && c.State() == bayeux.StateConnected && srv.sessionExists(t, id)
	})
}

// waitResubscribed waits for a successful /meta/subscribe reply on watch.
func waitResubscribed(t *testing.T, c *tclient, watch <-chan bayeux.Message) {
	t.Helper()
	select {
	case <-watch:
	case <-c.Done():
		t.Fatalf("client %s shut down (Err %v) instead of re-subscribing", c.name, c.Err())
	case <-ctxLong(t).Done():
		t.Fatalf("client %s did not re-subscribe within %v", c.name, waitLong)
	}
}

func testRestart(t *testing.T, srv *peer, tr string) {
	base := uniqueChannel(t)
	sub := newClient(t, "subscriber", srv.URL(), []string{tr})
	pub := newClient(t, "publisher", srv.URL(), []string{tr})
	sub.connect(t)
	pub.connect(t)
	_, in := sub.subscribe(t, base)
	pub.publish(t, base, payload{N: 1})
	expect(t, "before the restart", in, base+"#1")

	oldSub, oldPub := sub.ClientID(), pub.ClientID()
	watch := watchSubscribe(t, sub, base)
	srv.restart(t)
	sub.wire.mark("server restarted")
	pub.wire.mark("server restarted")

	waitNewSession(t, srv, sub, oldSub)
	waitResubscribed(t, sub, watch)
	waitNewSession(t, srv, pub, oldPub)
	pub.publish(t, base, payload{N: 2})
	expect(t, "after the restart", in, base+"#2")
	checkConnectionType(t, sub, tr)
}

// testSessionDropped removes the session on the server through the test
// hook (what an expiry does, without waiting for one).
func testSessionDropped(t *testing.T, srv *peer, tr string) {
	base := uniqueChannel(t)
	sub := newClient(t, "subscriber", srv.URL(), []string{tr})
	pub := newClient(t, "publisher", srv.URL(), []string{tr})
	sub.connect(t)
	pub.connect(t)
	_, in := sub.subscribe(t, base)
	pub.publish(t, base, payload{N: 1})
	expect(t, "before the session is dropped", in, base+"#1")

	old := sub.ClientID()
	watch := watchSubscribe(t, sub, base)
	sub.wire.mark("dropping session %s on the server", old)
	if !srv.destroy(t, old) {
		t.Fatalf("the server did not know session %s", old)
	}
	waitNewSession(t, srv, sub, old)
	waitResubscribed(t, sub, watch)
	checkUnknownClientSeen(t, srv, sub)
	pub.publish(t, base, payload{N: 2})
	expect(t, "after the new session", in, base+"#2")
}

// checkUnknownClientSeen checks that the client re-handshook because the
// server said it did not know the session (Faye 401, CometD 402, both with
// advice reconnect handshake).
func checkUnknownClientSeen(t *testing.T, srv *peer, c *tclient) {
	t.Helper()
	want := map[string]int{"faye": 401, "cometd": 402}[srv.kind]
	seen := anyMsg(c.wire.messages("in"), func(m bayeux.Message) bool {
		if m.Successful || !m.IsMeta() {
			return false
		}
		me, err := m.ParseError()
		return err == nil && me.ErrorCode == want
	})
	if !seen {
		t.Errorf("client %s re-handshook without a %d unknown-client reply on the wire", c.name, want)
	}
}

// testExpired makes the server expire the session for real: the client's
// connections go through a proxy that refuses them until the server has
// forgotten the session.
func testExpired(t *testing.T, srv *peer, tr string) {
	base := uniqueChannel(t)
	px := newProxy(t, srv.addr())
	sub := newClient(t, "subscriber", "http://"+px.Addr()+srv.path, []string{tr})
	pub := newClient(t, "publisher", srv.URL(), []string{tr})
	sub.connect(t)
	pub.connect(t)
	_, in := sub.subscribe(t, base)
	pub.publish(t, base, payload{N: 1})
	expect(t, "before the outage", in, base+"#1")

	old := sub.ClientID()
	watch := watchSubscribe(t, sub, base)
	sub.wire.mark("network down")
	px.Refuse()
	eventually(t, "the server expires session "+old, func() bool { return !srv.sessionExists(t, old) })
	sub.wire.mark("network up")
	px.Accept()

	waitNewSession(t, srv, sub, old)
	waitResubscribed(t, sub, watch)
	pub.publish(t, base, payload{N: 2})
	expect(t, "after the expiry", in, base+"#2")
}

// testTorn tears the client's connections while its /meta/connect is held:
// the session survives on the server, so the client must reconnect with the
// same clientId, and messages must flow again. A message the server pushes
// before it notices the torn connection is written to the dead socket and
// lost (neither server re-sends without the ack extension, see
// docs/interop.md), so the test publishes until one arrives.
func testTorn(t *testing.T, srv *peer, tr string) {
	base := uniqueChannel(t)
	px := newProxy(t, srv.addr())
	sub := newClient(t, "subscriber", "http://"+px.Addr()+srv.path, []string{tr})
	pub := newClient(t, "publisher", srv.URL(), []string{tr})
	sub.connect(t)
	pub.connect(t)
	_, in := sub.subscribe(t, base)
	pub.publish(t, base, payload{N: 1})
	expect(t, "before the tear", in, base+"#1")

	id := sub.ClientID()
	eventually(t, "a /meta/connect held", func() bool { return connectOutstanding(sub) })
	sub.wire.mark("tearing connections")
	accepted := px.Accepted()
	if n := px.Tear(); n == 0 {
		t.Fatalf("no connection to tear")
	}
	eventually(t, "the client connects again", func() bool { return px.Accepted() > accepted })
	publishUntilReceived(t, pub, base, in, 2)
	if got := sub.ClientID(); got != id {
		t.Errorf("clientId changed from %s to %s: the session was still valid on the server, the client should have reconnected, not re-handshaken", id, got)
	}
	if sub.Err() != nil {
		t.Errorf("client Err = %v", sub.Err())
	}
}

// publishUntilReceived publishes {"n": k} to ch for k = from, from+1, ...
// until in receives one, then publishes a last message and checks that
// everything in between arrived in order, on ch.
func publishUntilReceived(t *testing.T, pub *tclient, ch string, in *inbox, from int) {
	t.Helper()
	const last = 1_000_000
	deadline := time.Now().Add(waitLong)
	for k := from; ; k++ {
		pub.publish(t, ch, payload{N: k})
		select {
		case m := <-in.ch:
			if got := decode(t, m).N; m.Channel != bayeux.Channel(ch) || got < from || got > k {
				t.Fatalf("received %s n=%d, want %s with n in [%d, %d]", m.Channel, got, ch, from, k)
			}
			pub.publish(t, ch, payload{N: last})
			prev := decode(t, m).N
			for prev != last {
				m := in.next(t, "messages after the first one back")
				n := decode(t, m).N
				if m.Channel != bayeux.Channel(ch) || n <= prev || (n > k && n != last) {
					t.Fatalf("received %s n=%d after n=%d, want %s in publish order up to %d", m.Channel, n, prev, ch, last)
				}
				prev = n
			}
			return
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("no message on %s received within %v of publishing", ch, waitLong)
		}
	}
}

// connectOutstanding reports whether the client's last /meta/connect has no
// reply yet.
func connectOutstanding(c *tclient) bool {
	_, ok := lastConnect(c)
	return ok
}

// lastConnect returns the id of the client's last /meta/connect if it has no
// reply yet.
func lastConnect(c *tclient) (string, bool) {
	var last string
	for _, m := range c.wire.messages("out") {
		if m.Channel == bayeux.MetaConnect {
			last = m.ID
		}
	}
	if last == "" {
		return "", false
	}
	for _, m := range c.wire.messages("in") {
		if m.Channel == bayeux.MetaConnect && m.ID == last {
			return "", false
		}
	}
	return last, true
}

func newProxy(t *testing.T, target string) *Proxy {
	t.Helper()
	px, err := NewProxy(target)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = px.Close() })
	return px
}

// Transport negotiation against real servers.

func TestNegotiation(t *testing.T) {
	faye := startPeer(t, "faye")
	cometd := startPeer(t, "cometd")

	t.Run("FayeUpgradeToWebsocket", func(t *testing.T) {
		c := newClient(t, "a", faye.URL(), []string{ws, lp}, bayeux.WithTransportStrategy(bayeux.StrategyUpgrade))
		c.connect(t)
		selfDelivery(t, c)
		if got := c.TransportName(); got != ws {
			t.Errorf("TransportName() = %q, want websocket after the upgrade", got)
		}
	})
	t.Run("CometDFallbackToLongPolling", func(t *testing.T) {
		// cometd-nodejs-server answers the websocket upgrade with HTTP 400.
		c := newClient(t, "a", cometd.URL(), []string{ws, lp})
		c.connect(t)
		selfDelivery(t, c)
		if got := c.TransportName(); got != lp {
			t.Errorf("TransportName() = %q, want long-polling", got)
		}
		checkConnectionType(t, c, lp)
	})
	t.Run("CometDUpgradeStaysOnLongPolling", func(t *testing.T) {
		c := newClient(t, "a", cometd.URL(), []string{ws, lp}, bayeux.WithTransportStrategy(bayeux.StrategyUpgrade))
		c.connect(t)
		selfDelivery(t, c)
		checkConnectionType(t, c, lp)
	})
	for _, tr := range []string{ws, cp} {
		t.Run("CometDOnly-"+tr, func(t *testing.T) {
			// No transport in common: the server only speaks long-polling
			// (HTTP 400 to a websocket upgrade and to any GET).
			c := newClient(t, "a", cometd.URL(), []string{tr})
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			defer cancel()
			err := c.Connect(ctx)
			if err == nil {
				t.Fatalf("Connect over %s to a long-polling-only server succeeded", tr)
			}
			var te *bayeux.TransportError
			if !errors.As(err, &te) && !slices.ContainsFunc(c.wire.errors(), func(e error) bool { return errors.As(e, &te) }) {
				t.Errorf("Connect = %v, and no *TransportError reported (errors: %v)", err, c.wire.errors())
			} else {
				t.Logf("Connect over %s: %v (transport error: %v, status %d, refused %v)", tr, err, te, te.StatusCode, te.Refused)
			}
		})
	}
}

// selfDelivery subscribes the client to a fresh channel and publishes to it.
func selfDelivery(t *testing.T, c *tclient) {
	t.Helper()
	base := uniqueChannel(t)
	_, in := c.subscribe(t, base)
	c.publish(t, base, payload{N: 7})
	expect(t, "self-delivery", in, base+"#7")
}
