package conformance

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// held is the outcome of a request sent in the background.
type held struct {
	done chan struct{}
	x    *exchange
	err  error
	at   time.Time // when the answer arrived
}

// async sends msgs from s in the background; the case waits for it (or
// cancels it) when it ends. Over HTTP it goes on a connection of its own
// and is never sent again (the server may hold it: see raw.HTTP.Held).
func (t *T) async(s *session, msgs ...msg) *held {
	ctx, cancel := context.WithCancel(context.WithValue(t.ctx, heldKey{}, true))
	h := &held{done: make(chan struct{})}
	var wg sync.WaitGroup
	wg.Go(func() {
		defer close(h.done)
		h.x, h.err = s.send(ctx, msgs...)
		h.at = time.Now()
	})
	t.cleanup(func() { cancel(); wg.Wait() })
	return h
}

// keepSession keeps s alive while the case runs, as a client does: one
// held connect after the other, each on a connection of its own, until
// the case ends or a connect is not successful.
func (t *T) keepSession(s *session) {
	ctx, cancel := context.WithCancel(context.WithValue(t.ctx, heldKey{}, true))
	var wg sync.WaitGroup
	wg.Go(func() {
		for ctx.Err() == nil {
			m, _ := t.holdMsg(s)
			start := time.Now()
			x, err := s.send(ctx, m)
			if err != nil {
				return
			}
			if r, ok := x.reply("/meta/connect", ""); !ok || !r.Successful() {
				return
			}
			if d := time.Since(start); d < 100*time.Millisecond {
				time.Sleep(100*time.Millisecond - d) // a server that does not hold is not flooded
			}
		}
	})
	t.cleanup(func() { cancel(); wg.Wait() })
}

// answered waits up to d for h.
func (h *held) answered(d time.Duration) bool {
	select {
	case <-h.done:
		return true
	default:
	}
	select {
	case <-h.done:
		return true
	case <-time.After(d):
		return false
	}
}

// holdMsg is a lone connect the server should hold, and how long: the
// server's advised timeout, or (when it advises none or one longer than
// the suite waits) the suite's hold asked through advice.
func (t *T) holdMsg(s *session) (msg, time.Duration) {
	m := msg{"channel": "/meta/connect", "connectionType": s.transport}
	if t.e.timeout > 0 && t.e.timeout <= t.e.cfg.maxWait {
		return m, t.e.timeout
	}
	m["advice"] = map[string]any{"timeout": t.e.hold.Milliseconds()}
	return m, t.e.hold
}

// needHold skips a timing case when holds are too short to measure.
func (t *T) needHold(min time.Duration) time.Duration {
	_, d := t.holdMsg(&session{transport: LongPolling})
	if d < min {
		t.Skipf("the server holds connects for %s, too short to tell a hold from an immediate answer", since(d))
	}
	return d
}

func connectCases() []caseDef {
	return []caseDef{
		{id: "connect.missing-clientid", section: secConnect, level: Must, source: srcConnect,
			rule: "A /meta/connect without clientId is unsuccessful",
			run: func(t *T) {
				s := t.open(LongPolling)
				t.mustRefuse(s, msg{"channel": "/meta/connect", "connectionType": LongPolling, "clientId": nil})
			}},
		{id: "connect.missing-type", section: secConnect, level: Should, source: srcConnType + " (connectionType is a MUST of the request, a duty of the client; the spec does not say what the server does without it)",
			rule: "A /meta/connect without connectionType is unsuccessful",
			run: func(t *T) {
				s := t.open(LongPolling)
				t.mustRefuse(s, msg{"channel": "/meta/connect", "advice": map[string]any{"timeout": 0}})
			}},
		{id: "connect.unknown-type", section: secConnect, level: Convention, source: srcConnType + " (Faye answers 301)",
			rule: "A /meta/connect with a connection type the server does not offer (carrier-pigeon) is unsuccessful",
			run: func(t *T) {
				s := t.open(LongPolling)
				t.mustRefuse(s, msg{"channel": "/meta/connect", "connectionType": "carrier-pigeon", "advice": map[string]any{"timeout": 0}})
			}},
		{id: "connect.unknown-client", section: secConnect, level: Must, source: srcReconnect,
			rule: `A /meta/connect with an unknown clientId is unsuccessful and advises reconnect "handshake"`,
			run: func(t *T) {
				s := t.newSession(LongPolling)
				x := t.must(s.send(t.ctx, msg{"channel": "/meta/connect", "connectionType": LongPolling, "clientId": t.unknownID()}))
				r, ok := x.reply("/meta/connect", "")
				if !ok || r.Successful() {
					t.Fatalf("not refused: %s", clip(x.body))
				}
				if v, _ := r.Member("advice", "reconnect"); string(v) != `"handshake"` {
					t.Fatalf(`advice.reconnect is not "handshake": %s`, clip(r.Raw))
				}
			}},
		{id: "connect.first-immediate", section: secConnect, level: Convention, source: srcMetaConnect + " (CometD answers the first connect at once)",
			rule: "The first /meta/connect after a handshake is answered at once, even without advice {timeout:0}",
			run: func(t *T) {
				t.needHold(time.Second)
				s := t.newSession(LongPolling)
				x := t.must(s.send(t.ctx, handshakeMsg(LongPolling)))
				r, _ := x.reply("/meta/handshake", "")
				s.clientID = r.S("clientId")
				c := t.must(s.send(t.ctx, msg{"channel": "/meta/connect", "connectionType": LongPolling}))
				if c.elapsed > 500*time.Millisecond {
					t.Fatalf("the first connect was held %s", since(c.elapsed))
				}
			}},
		{id: "connect.timeout-zero", section: secConnect, level: Should, source: srcTimeout,
			rule: "A /meta/connect with advice {timeout:0} is answered at once",
			run: func(t *T) {
				t.needHold(time.Second)
				s := t.open(LongPolling)
				c := t.must(s.connect(t.ctx, 0))
				if c.elapsed > 500*time.Millisecond {
					t.Fatalf("held %s", since(c.elapsed))
				}
			}},
		{id: "connect.client-timeout", section: secConnect, level: Should, source: srcTimeout,
			rule: "The server honours a shorter advice timeout sent by the client (500 ms)",
			run: func(t *T) {
				t.needHold(1500 * time.Millisecond)
				s := t.open(LongPolling)
				c := t.must(s.connect(t.ctx, 500*time.Millisecond))
				if c.elapsed > 1200*time.Millisecond {
					t.Fatalf("asked for 500 ms, held %s", since(c.elapsed))
				}
				t.Logf("held %s", since(c.elapsed))
			}},
		{id: "connect.held", section: secConnect, level: May, source: srcConnect + " (the server MAY wait before responding if there are no messages)",
			rule: "A lone /meta/connect with nothing to deliver is held about the advised timeout, then answered successfully",
			run: func(t *T) {
				t.needHold(400 * time.Millisecond)
				s := t.open(LongPolling)
				m, d := t.holdMsg(s)
				x := t.must(s.send(t.ctx, m))
				r, ok := x.reply("/meta/connect", "")
				if !ok || !r.Successful() {
					t.Fatalf("not successful: %s", clip(x.body))
				}
				if x.elapsed < d/2 || x.elapsed > d+2*time.Second {
					t.Fatalf("held %s, the timeout is %s", since(x.elapsed), since(d))
				}
				t.Logf("held %s of %s", since(x.elapsed), since(d))
			}},
		{id: "connect.wake", section: secConnect, level: May, source: srcConnect + " (the server MAY hold a connect until messages are available; answering it early with them is how a holding server delivers)",
			rule: "A held /meta/connect is answered early when an event for the session is published, with the event",
			run: func(t *T) {
				d := t.needHold(time.Second)
				s := t.open(LongPolling)
				ch := t.channel()
				t.subscribe(s, ch)
				m, _ := t.holdMsg(s)
				h := t.async(s, m)
				time.Sleep(min(300*time.Millisecond, d/4))
				pub := t.open(LongPolling)
				start := time.Now()
				t.publish(pub, ch, map[string]any{"n": 1})
				if !h.answered(d / 2) {
					t.Fatalf("the held connect was not answered within %s of the publish", since(d/2))
				}
				if h.err != nil || h.x.err != nil {
					t.Fatalf("the held connect failed: %v %v", h.err, h.x)
				}
				if len(s.received(onChannel(ch))) == 0 {
					t.Fatalf("answered after %s without the event: %s", since(h.at.Sub(start)), clip(h.x.body))
				}
				t.Logf("answered %s after the publish", since(h.at.Sub(start)))
			}},
		{id: "connect.one-outstanding", section: secConnect, level: Convention, source: srcMetaConnect + " (the spec's MUST of one outstanding connect binds the client; CometD ends the held one, DuplicateMetaConnectTest)",
			rule: "A second /meta/connect of a session ends the held one at once with an HTTP answer (one outstanding connect per client)",
			run: func(t *T) {
				d, first := t.supersede()
				if !first.answered(d / 2) {
					t.Fatalf("the first connect was still unanswered %s after the second was sent", since(d/2))
				}
				if first.err != nil {
					t.Fatalf("the first connect ended without an answer: %v", first.err)
				}
				t.Logf("the first connect was answered HTTP %d %s", first.x.resp.Status, clip(first.x.body))
			}},
		{id: "connect.superseded-reply", section: secConnect, level: Must, source: srcConnect + " (the server MUST respond to a connect, with channel and successful)",
			rule: "A held /meta/connect ended by a second connect of its session still gets a Bayeux /meta/connect reply with a boolean successful (not an HTTP error, not silence)",
			run: func(t *T) {
				d, first := t.supersede()
				if !first.answered(d + 2*time.Second) {
					t.Fatalf("the first connect was never answered (waited %s after the second was sent)", since(d+2*time.Second))
				}
				if first.err != nil {
					t.Fatalf("the first connect ended without an answer: %v", first.err)
				}
				if first.x.err != nil {
					t.Fatalf("the first connect was answered with no Bayeux response: %v", first.x.err)
				}
				r, ok := first.x.reply("/meta/connect", "")
				if !ok {
					t.Fatalf("the first connect's answer holds no /meta/connect reply: %s", clip(first.x.body))
				}
				if _, isBool := r.Bool("successful"); !isBool {
					t.Fatalf("the /meta/connect reply has no boolean successful: %s", clip(r.Raw))
				}
				t.Logf("the first connect was answered %s", clip(r.Raw))
			}},
		{id: "connect.second-held", section: secConnect, level: Convention, source: srcMetaConnect + " (CometD DuplicateMetaConnectTest: the second connect proceeds normally)",
			rule: "The second /meta/connect, which ended the held one, is itself held like any lone connect",
			run: func(t *T) {
				d, _ := t.supersedeWith(func(second *held, sent time.Time) {
					if second.answered(d4(t)) {
						t.Fatalf("the second connect was answered after %s: %s", since(second.at.Sub(sent)), heldSeen(second))
					}
				})
				t.Logf("the second connect was held past %s of %s", since(d/4), since(d))
			}},
		{id: "connect.piggyback", section: secConnect, level: Should, source: srcMetaConnect,
			rule: "While a connect is held, an event for the session rides on the immediate response to another request of that session",
			run: func(t *T) {
				t.needHold(time.Second)
				s := t.open(LongPolling)
				ch := t.channel()
				t.subscribe(s, ch)
				m, _ := t.holdMsg(s)
				t.async(s, m)
				time.Sleep(300 * time.Millisecond)
				x := t.publish(s, ch, map[string]any{"self": true})
				if len(x.events) == 0 {
					t.Fatalf("the publish response carries no event: %s", clip(x.body))
				}
			}},
		{id: "connect.batched-not-held", section: secConnect, level: Convention, source: srcMetaConnect + " (CometD never holds a connect batched with other messages)",
			rule: "A /meta/connect batched with other messages is answered at once, replies in request order",
			run: func(t *T) {
				d := t.needHold(time.Second)
				s := t.open(LongPolling)
				ch := t.channel()
				x := t.must(s.send(t.ctx, msg{"channel": "/meta/connect", "connectionType": LongPolling}, msg{"channel": "/meta/subscribe", "subscription": ch}))
				if x.elapsed > d/2 {
					t.Errorf("held %s", since(x.elapsed))
				}
				if len(x.replies) != 2 || x.replies[0].S("channel") != "/meta/connect" {
					t.Errorf("replies %s, want [/meta/connect /meta/subscribe]", channelsOf(x.replies))
				}
			}},
		{id: "connect.same-transport", section: secConnect, matrix: true, level: Must, source: srcConnect + " (the server MUST respond to a connect over the same transport)",
			rule: "A /meta/connect is answered over the transport it came on (in the HTTP response, the JSONP callback, or on the socket), with channel and a boolean successful",
			run: func(t *T) {
				s := t.open("")
				ctx, cancel := context.WithTimeout(t.ctx, t.wait())
				defer cancel()
				x, err := s.connect(ctx, 0)
				if err != nil {
					t.Fatalf("no answer over %s: %v", s.transport, err)
				}
				if x.err != nil {
					t.Fatalf("the answer over %s is not Bayeux: %v", s.transport, x.err)
				}
				r, ok := x.reply("/meta/connect", "")
				if !ok {
					t.Fatalf("no /meta/connect reply over %s: %s", s.transport, clip(x.body))
				}
				if _, isBool := r.Bool("successful"); !isBool {
					t.Fatalf("no boolean successful: %s", clip(r.Raw))
				}
			}},
	}
}

// supersede holds a connect of a fresh long-polling session, then sends a
// second one; it returns the hold and the first connect.
func (t *T) supersede() (time.Duration, *held) {
	return t.supersedeWith(nil)
}

// supersedeWith is supersede; then (when not nil) is called with the
// second connect and when it was sent.
func (t *T) supersedeWith(then func(second *held, sent time.Time)) (time.Duration, *held) {
	d := t.needHold(1500 * time.Millisecond)
	s := t.open(LongPolling)
	m, _ := t.holdMsg(s)
	first := t.async(s, m)
	time.Sleep(300 * time.Millisecond)
	if first.answered(0) {
		t.Skipf("not run: the first connect was not held (%s), so there is nothing to supersede", heldSeen(first))
	}
	m2, _ := t.holdMsg(s)
	sent := time.Now()
	second := t.async(s, m2)
	if then != nil {
		then(second, sent)
	}
	return d, first
}

// d4 is a quarter of the hold: long enough to tell a held connect from one
// answered at once.
func d4(t *T) time.Duration {
	_, d := t.holdMsg(&session{transport: LongPolling})
	return d / 4
}

// heldSeen describes the outcome of a background request.
func heldSeen(h *held) string {
	switch {
	case h.err != nil:
		return h.err.Error()
	case h.x == nil:
		return "no answer"
	case h.x.resp != nil && h.x.resp.Status != 200:
		return fmt.Sprintf("HTTP %d %s", h.x.resp.Status, clip(h.x.body))
	}
	return clip(h.x.body)
}
