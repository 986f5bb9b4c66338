package conformance

import (
	"net/url"
	"time"

	"github.com/bayeux-go/sdk/conformance/internal/raw"
)

func sessionCases() []caseDef {
	return []caseDef{
		{id: "session.expiry", section: secSession, level: Should, source: srcMetaConnect,
			rule: "A session with no /meta/connect for longer than the server's maximum interval expires; its clientId is then unknown",
			run: func(t *T) {
				s, start, seen := t.expire()
				t.Logf("expired after at most %s: %s", since(time.Since(start)), seen)
				s.gone = true
			}},
		{id: "session.expired-advice", section: secSession, level: Must, source: srcReconnect + " (an unknown or expired clientId: unsuccessful, reconnect \"handshake\")",
			rule: `Once a session has expired, a /meta/connect with its clientId is unsuccessful and advises reconnect "handshake"`,
			run: func(t *T) {
				s, _, _ := t.expire()
				x := t.must(s.send(t.ctx, msg{"channel": "/meta/connect", "connectionType": LongPolling, "advice": map[string]any{"timeout": 0}}))
				s.gone = true
				r, ok := x.reply("/meta/connect", "")
				if !ok || r.Successful() {
					t.Fatalf("the connect of the expired session was not refused: %s", clip(x.body))
				}
				if v, _ := r.Member("advice", "reconnect"); string(v) != `"handshake"` {
					t.Fatalf(`advice.reconnect is not "handshake": %s`, clip(r.Raw))
				}
			}},
		{id: "session.unknown-subscribe", section: secSession, level: Must, source: srcReconnect,
			rule: "A /meta/subscribe with an unknown clientId is unsuccessful",
			run: func(t *T) {
				s := t.newSession(LongPolling)
				t.mustRefuse(s, msg{"channel": "/meta/subscribe", "subscription": t.channel(), "clientId": t.unknownID()})
			}},
		{id: "session.unknown-unsubscribe", section: secSession, level: Must, source: srcReconnect,
			rule: "A /meta/unsubscribe with an unknown clientId is unsuccessful",
			run: func(t *T) {
				s := t.newSession(LongPolling)
				t.mustRefuse(s, msg{"channel": "/meta/unsubscribe", "subscription": t.channel(), "clientId": t.unknownID()})
			}},
		{id: "session.unknown-publish", section: secSession, matrix: true, level: Convention, source: srcReconnect + " (CometD refuses; publishing without a session is optional for servers)",
			rule: "A publish with an unknown clientId is refused rather than delivered",
			run: func(t *T) {
				sub := t.open("")
				ch := t.channel()
				t.subscribe(sub, ch)
				s := t.newSession(LongPolling)
				x, err := s.send(t.ctx, msg{"channel": ch, "data": map[string]any{"n": 1}, "clientId": t.unknownID()})
				ok, seen := refused(x, err, ch)
				t.publish(t.open(""), ch, map[string]any{"control": true})
				t.controlOn(sub, ch)
				if got := sub.received(func(m raw.Msg) bool { return m.S("channel") == ch && !isControl(m) }); len(got) > 0 {
					t.Fatalf("delivered (%s)", seen)
				}
				if !ok {
					t.Fatalf("accepted: %s", seen)
				}
			}},
		{id: "session.no-clientid-answered", section: secSession, level: Must, source: specRef + " (unconnected operation)",
			rule: "A publish without clientId is answered (successfully or not): the server must respond",
			run: func(t *T) {
				s := t.newSession(LongPolling)
				ch := t.channel()
				x := t.must(s.send(t.ctx, msg{"channel": ch, "data": map[string]any{"n": 1}}))
				if _, ok := x.reply(ch, ""); !ok {
					t.Fatalf("no reply on %s: %s", ch, clip(x.body))
				}
			}},
		{id: "session.hijack", section: secSession, level: Convention, source: srcCometDSec,
			rule: "Where sessions are bound to the BAYEUX_BROWSER cookie, a message with another session's clientId but without its cookie does not act on it",
			run: func(t *T) {
				victim := t.open(LongPolling)
				if !t.hasBrowserCookie(victim) {
					t.Skipf("the server sets no BAYEUX_BROWSER cookie: sessions are identified by clientId alone")
				}
				ch := t.channel()
				thief := t.newSession(LongPolling)
				x, err := thief.send(t.ctx, msg{"channel": "/meta/subscribe", "subscription": ch, "clientId": victim.clientID})
				if ok, seen := refused(x, err, "/meta/subscribe"); !ok {
					t.Fatalf("a subscribe with the victim's clientId and no cookie was accepted: %s", seen)
				}
			}},
		{id: "session.multiple-clients", section: secSession, level: Should, source: srcMultiple,
			rule: "When two sessions share one browser (BAYEUX_BROWSER cookie), the second's /meta/connect is not held while the first's is, and is told so (advice multiple-clients or a polling interval)",
			run: func(t *T) {
				d := t.needHold(1500 * time.Millisecond)
				first := t.open(LongPolling)
				if !t.hasBrowserCookie(first) {
					t.Skipf("the server sets no BAYEUX_BROWSER cookie: it cannot tell browsers apart")
				}
				second := t.newSession(LongPolling)
				second.h = first.h // the same browser: the same cookies
				x := t.must(second.send(t.ctx, handshakeMsg(LongPolling)))
				r, _ := x.reply("/meta/handshake", "")
				if second.clientID = r.S("clientId"); second.clientID == "" {
					t.Fatalf("setup: second handshake failed: %s", clip(x.body))
				}
				t.must(second.connect(t.ctx, 0))
				m, _ := t.holdMsg(first)
				t.async(first, m)
				time.Sleep(300 * time.Millisecond)
				m2, _ := t.holdMsg(second)
				c := t.must(second.send(t.ctx, m2))
				cr, _ := c.reply("/meta/connect", "")
				if c.elapsed > d/2 {
					t.Fatalf("the second session's connect was held %s: %s", since(c.elapsed), clip(cr.Raw))
				}
				mc, _ := cr.Member("advice", "multiple-clients")
				iv, _ := cr.Number("advice", "interval")
				if string(mc) != "true" && iv <= 0 {
					t.Fatalf("answered at once without advice multiple-clients or an interval: %s", clip(cr.Raw))
				}
				t.Logf("%s", clip(cr.Raw))
			}},
	}
}

// hasBrowserCookie reports whether s holds a BAYEUX_BROWSER cookie.
func (t *T) hasBrowserCookie(s *session) bool {
	for _, c := range s.h.Jar().Cookies(mustURL(t.e.url)) {
		if c.Name == "BAYEUX_BROWSER" {
			return true
		}
	}
	return false
}

func mustURL(s string) *url.URL {
	u, _ := url.Parse(s)
	return u
}

func disconnectCases() []caseDef {
	return []caseDef{
		{id: "disconnect.success", section: secDisconnect, matrix: true, level: Must, source: srcDisconnect,
			rule: "A /meta/disconnect is answered successful:true",
			run: func(t *T) {
				s := t.open("")
				x := t.must(s.send(t.ctx, msg{"channel": "/meta/disconnect"}))
				s.gone = true
				if r, ok := x.reply("/meta/disconnect", ""); !ok || !r.Successful() {
					t.Fatalf("not successful: %s", clip(x.body))
				}
			}},
		{id: "disconnect.forgets-advice", section: secDisconnect, level: Must, source: srcReconnect + " (after a disconnect the clientId is unknown: unsuccessful, reconnect \"handshake\")",
			rule: `After a /meta/disconnect, a /meta/connect with the clientId is answered with advice reconnect "handshake"`,
			run: func(t *T) {
				s := t.open(LongPolling)
				t.must(s.send(t.ctx, msg{"channel": "/meta/disconnect"}))
				s.gone = true
				x := t.must(s.send(t.ctx, msg{"channel": "/meta/connect", "connectionType": LongPolling, "advice": map[string]any{"timeout": 0}}))
				r, ok := x.reply("/meta/connect", "")
				if !ok || r.Successful() {
					t.Fatalf("the connect after disconnect was not refused: %s", clip(x.body))
				}
				if v, _ := r.Member("advice", "reconnect"); string(v) != `"handshake"` {
					t.Fatalf(`advice.reconnect is not "handshake": %s`, clip(r.Raw))
				}
			}},
		{id: "disconnect.forgets", section: secDisconnect, level: Must, source: srcDisconnect,
			rule: "After a /meta/disconnect the clientId is unknown: a /meta/connect with it is unsuccessful",
			run: func(t *T) {
				s := t.open(LongPolling)
				t.must(s.send(t.ctx, msg{"channel": "/meta/disconnect"}))
				s.gone = true
				x, err := s.send(t.ctx, msg{"channel": "/meta/connect", "connectionType": LongPolling, "advice": map[string]any{"timeout": 0}})
				if ok, seen := refused(x, err, "/meta/connect"); !ok {
					t.Fatalf("the connect after disconnect was accepted: %s", seen)
				}
			}},
		{id: "disconnect.releases-connect", section: secDisconnect, level: Should, source: srcDisconnect,
			rule: "A /meta/connect held when the session disconnects is answered promptly",
			run: func(t *T) {
				d := t.needHold(1500 * time.Millisecond)
				s := t.open(LongPolling)
				m, _ := t.holdMsg(s)
				h := t.async(s, m)
				time.Sleep(300 * time.Millisecond)
				t.must(s.send(t.ctx, msg{"channel": "/meta/disconnect"}))
				s.gone = true
				if !h.answered(d / 2) {
					t.Fatalf("the held connect was still unanswered %s after the disconnect", since(d/2))
				}
			}},
		{id: "disconnect.unknown", section: secDisconnect, level: Must, source: srcDisconnect,
			rule: "A /meta/disconnect with an unknown clientId is unsuccessful",
			run: func(t *T) {
				s := t.newSession(LongPolling)
				t.mustRefuse(s, msg{"channel": "/meta/disconnect", "clientId": t.unknownID()})
			}},
	}
}

// expire opens a long-polling session and lets it expire: no connect for
// longer than the server's maximum interval (twice its timeout when it
// advises none). It returns the session, when its last connect was
// answered, and the refusal that showed the expiry; the case is skipped
// when the wait would be longer than the suite waits, and fails when the
// session outlives it.
func (t *T) expire() (*session, time.Time, string) {
	limit := t.e.maxInterval
	if limit == 0 {
		limit = 2 * t.e.timeout
	}
	if limit > t.e.cfg.maxWait {
		t.Skipf("the session would live %s, longer than the suite waits (%s)", since(limit), since(t.e.cfg.maxWait))
	}
	s := t.open(LongPolling)
	start := time.Now()
	ch := t.channel()
	time.Sleep(limit + 500*time.Millisecond)
	// Probe with gaps that double: a server that counts any message as
	// activity still expires the session once a gap exceeds its maximum
	// interval.
	gap := time.Second
	for {
		x, err := s.send(t.ctx, msg{"channel": "/meta/subscribe", "subscription": ch})
		if ok, seen := refused(x, err, "/meta/subscribe"); ok {
			return s, start, seen
		}
		if time.Since(start)+gap > t.e.cfg.maxWait {
			t.Fatalf("still alive %s after its last connect", since(time.Since(start)))
		}
		time.Sleep(gap)
		gap *= 2
	}
}
