package conformance

import (
	"cmp"
	"context"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/bayeux-go/sdk/conformance/internal/raw"
)

var (
	versionGrammar = regexp.MustCompile(`^[0-9]+(\.[0-9A-Za-z_-]+)*$`)
	alnum          = regexp.MustCompile(`^[0-9A-Za-z]+$`)
)

// rawHandshake sends m as a handshake over long-polling and returns the
// handshake reply; the session is disconnected when the case ends.
func (t *T) rawHandshake(m msg) (raw.Msg, *exchange) {
	s := t.newSession(LongPolling)
	x := t.must(s.send(t.ctx, m))
	r, ok := x.reply("/meta/handshake", "")
	if !ok {
		t.Fatalf("no /meta/handshake reply: %s", clip(x.body))
	}
	if r.Successful() {
		s.clientID = r.S("clientId")
	}
	return r, x
}

// handshakes makes n handshakes concurrently and returns the clientIds.
func (t *T) handshakes(n int) []string {
	ids := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			s := t.newSession(LongPolling)
			x, err := s.send(t.ctx, handshakeMsg(LongPolling))
			if err == nil && x.err == nil {
				if r, ok := x.reply("/meta/handshake", ""); ok {
					ids[i] = r.S("clientId")
					s.clientID = ids[i]
				}
			}
		})
	}
	wg.Wait()
	return ids
}

// failedHandshake returns the reply to a handshake the server should
// refuse, or skips the case when it refuses none.
func (t *T) failedHandshake() raw.Msg {
	for _, m := range []msg{
		{"channel": "/meta/handshake", "version": "1.0", "supportedConnectionTypes": []string{"carrier-pigeon"}},
		{"channel": "/meta/handshake", "supportedConnectionTypes": []string{LongPolling}},
		{"channel": "/meta/handshake", "version": "1.0"},
	} {
		if r, _ := t.rawHandshake(m); !r.Successful() {
			return r
		}
	}
	t.Skipf("the server accepted every handshake it should have refused")
	return raw.Msg{}
}

func handshakeCases() []caseDef {
	return []caseDef{
		{id: "handshake.success", section: secHandshake, level: Must, source: srcHandshake,
			rule: "A successful handshake reply has channel, successful:true, a version, a non-empty supportedConnectionTypes and a clientId",
			run: func(t *T) {
				r, _ := t.rawHandshake(handshakeMsg(LongPolling))
				if !r.Successful() {
					t.Fatalf("handshake refused: %s", clip(r.Raw))
				}
				if v, ok := r.Str("version"); !ok || !versionGrammar.MatchString(v) {
					t.Errorf("no valid version: %s", clip(r.Raw))
				}
				if ts, ok := r.Strings("supportedConnectionTypes"); !ok || len(ts) == 0 {
					t.Errorf("no supportedConnectionTypes: %s", clip(r.Raw))
				}
				if id, ok := r.Str("clientId"); !ok || id == "" {
					t.Errorf("no clientId: %s", clip(r.Raw))
				}
			}},
		{id: "handshake.common-type", section: secHandshake, level: Must, source: srcConnTypes,
			rule: "The supportedConnectionTypes of a successful handshake reply share at least one type with the request",
			run: func(t *T) {
				r, _ := t.rawHandshake(handshakeMsg(LongPolling))
				ts, _ := r.Strings("supportedConnectionTypes")
				if r.Successful() && !slices.Contains(ts, LongPolling) {
					t.Fatalf("asked for long-polling, the reply offers %v", ts)
				}
			}},
		{id: "handshake.no-common-type", section: secHandshake, level: Must, source: srcConnTypes,
			rule: "A handshake with no connection type in common with the server is unsuccessful",
			run: func(t *T) {
				r, _ := t.rawHandshake(msg{"channel": "/meta/handshake", "version": "1.0", "supportedConnectionTypes": []string{"carrier-pigeon"}})
				if r.Successful() {
					t.Fatalf("a handshake offering only carrier-pigeon succeeded: %s", clip(r.Raw))
				}
			}},
		{id: "handshake.missing-version", section: secHandshake, level: Should, source: srcHandshake,
			rule: "A handshake without version is unsuccessful (version is a required field)",
			run: func(t *T) {
				r, _ := t.rawHandshake(msg{"channel": "/meta/handshake", "supportedConnectionTypes": []string{LongPolling}})
				if r.Successful() {
					t.Fatalf("a handshake without version succeeded: %s", clip(r.Raw))
				}
			}},
		{id: "handshake.missing-types", section: secHandshake, level: Should, source: srcHandshake,
			rule: "A handshake without supportedConnectionTypes is unsuccessful (a required field)",
			run: func(t *T) {
				r, _ := t.rawHandshake(msg{"channel": "/meta/handshake", "version": "1.0"})
				if r.Successful() {
					t.Fatalf("a handshake without supportedConnectionTypes succeeded: %s", clip(r.Raw))
				}
			}},
		{id: "handshake.failure-fields", section: secHandshake, level: Must, source: srcHandshake,
			rule: "An unsuccessful handshake reply has an error and no clientId",
			run: func(t *T) {
				r := t.failedHandshake()
				if _, ok := r.Str("error"); !ok {
					t.Errorf("no error: %s", clip(r.Raw))
				}
				if r.Has("clientId") {
					t.Errorf("carries a clientId: %s", clip(r.Raw))
				}
			}},
		{id: "handshake.failure-advice", section: secHandshake, level: Convention, source: srcReconnect,
			rule: `An unsuccessful handshake reply advises reconnect "handshake" (retry the negotiation) or "none"`,
			run: func(t *T) {
				r := t.failedHandshake()
				var rc string
				if v, ok := r.Member("advice", "reconnect"); ok {
					rc = strings.Trim(string(v), `"`)
				}
				if rc != "handshake" && rc != "none" {
					t.Fatalf("advice.reconnect is %q: %s", rc, clip(r.Raw))
				}
			}},
		{id: "handshake.clientid-unique", section: secHandshake, level: Must, source: srcClientID,
			rule: "clientIds are unique across handshakes",
			run: func(t *T) {
				ids := t.handshakes(20)
				seen := map[string]bool{}
				for _, id := range ids {
					if id == "" {
						t.Fatalf("a handshake failed")
					}
					if seen[id] {
						t.Fatalf("clientId %s issued twice in 20 handshakes", id)
					}
					seen[id] = true
				}
			}},
		{id: "handshake.clientid-alnum", section: secHandshake, level: Grammar, source: srcClientID + " (clientId = alphanum *( alphanum ), the grammar)",
			rule: "A clientId is an alphanumeric string",
			run: func(t *T) {
				r, _ := t.rawHandshake(handshakeMsg(LongPolling))
				if id := r.S("clientId"); !alnum.MatchString(id) {
					t.Fatalf("clientId %q is not alphanumeric", id)
				}
			}},
		{id: "handshake.clientid-entropy", section: secHandshake, level: Should, source: srcClientID,
			rule: "A clientId holds at least 128 random bits (judged from its length and alphabet)",
			run: func(t *T) {
				ids := t.handshakes(8)
				alphabet := map[rune]bool{}
				for _, id := range ids {
					for _, c := range id {
						alphabet[c] = true
					}
				}
				size := 16.0
				switch {
				case len(alphabet) > 36:
					size = 62
				case len(alphabet) > 16:
					size = 36
				}
				bits := float64(len(ids[0])) * math.Log2(size)
				t.Logf("clientId %q: %d characters of a %.0f-letter alphabet, about %.0f bits", ids[0], len(ids[0]), size, bits)
				if bits < 128 {
					t.Fatalf("clientId %q holds at most %.0f bits", ids[0], bits)
				}
			}},
		{id: "handshake.batch-ignored", section: secHandshake, level: Must, source: srcHandshake,
			rule: "Other messages in the request of a handshake are ignored (here, a publish that would reach a subscriber)",
			run: func(t *T) {
				sub := t.open(LongPolling)
				ch := t.channel()
				t.subscribe(sub, ch)
				other := t.open(LongPolling)
				s := t.newSession(LongPolling)
				x, err := s.send(t.ctx, handshakeMsg(LongPolling),
					msg{"channel": ch, "data": map[string]any{"batched": true}, "clientId": other.clientID})
				if err == nil && x.err == nil {
					if r, ok := x.reply("/meta/handshake", ""); ok {
						s.clientID = r.S("clientId")
					}
					t.Logf("answer: %s", clip(x.body))
				} else if err == nil {
					t.Logf("answer: %v", x.err)
				}
				t.publish(other, ch, map[string]any{"control": true})
				t.controlOn(sub, ch)
				if got := sub.received(func(m raw.Msg) bool { return m.S("channel") == ch && !isControl(m) }); len(got) > 0 {
					t.Fatalf("the publish batched with a handshake was delivered: %s", clip(got[0].Raw))
				}
			}},
		{id: "handshake.no-events", section: secHandshake, level: Must, source: srcHandshake + " (events MAY ride on any response except a /meta/handshake response)",
			rule: "A handshake response carries no event messages, not even when the handshake comes from a client whose session has events queued",
			run: func(t *T) {
				if _, x := t.rawHandshake(handshakeMsg(LongPolling)); len(x.events) > 0 || len(x.msgs) != 1 {
					t.Fatalf("a first handshake's response holds %d messages: %s", len(x.msgs), clip(x.body))
				}
				// A session with an event queued (subscribed, no connect
				// held) handshakes again from the same client (its cookies,
				// its old clientId in the message, as clients re-handshaking
				// after advice do).
				s := t.open(LongPolling)
				ch := t.channel()
				t.subscribe(s, ch)
				t.publish(t.open(LongPolling), ch, map[string]any{"control": true})
				old := s.clientID
				hs := handshakeMsg(LongPolling)
				hs["clientId"] = old
				x := t.must(s.send(t.ctx, hs))
				if r, ok := x.reply("/meta/handshake", ""); ok {
					if id := r.S("clientId"); id != "" && id != old {
						defer func() {
							ctx, cancel := context.WithTimeout(context.Background(), time.Second)
							defer cancel()
							_, _ = s.send(ctx, msg{"channel": "/meta/disconnect", "clientId": id})
						}()
					}
				}
				if len(x.events) > 0 {
					t.Fatalf("the handshake response of a client with a queued event holds events: %s", clip(x.body))
				}
				// Control: the event was queued for the old session and is
				// delivered to it.
				s.mu.Lock()
				s.events = nil
				s.mu.Unlock()
				t.controlOn(s, ch)
			}},
		{id: "handshake.advice", section: secHandshake, level: May, source: srcHandshake + " (a successful handshake response MAY contain advice)",
			rule: "A successful handshake reply carries advice with reconnect",
			run: func(t *T) {
				r, _ := t.rawHandshake(handshakeMsg(LongPolling))
				if _, ok := r.Member("advice", "reconnect"); !ok {
					t.Fatalf("no advice.reconnect: %s", clip(r.Raw))
				}
			}},
		{id: "handshake.success-advice", section: secHandshake, level: Convention, source: srcReconnect + " (the CometD JavaScript client rejects other values)",
			rule: `Successful handshake and connect replies advise reconnect "retry" or "none", never "handshake"`,
			run: func(t *T) {
				for _, m := range t.everyReply() {
					if !m.Successful() {
						continue
					}
					if v, ok := m.Member("advice", "reconnect"); ok && string(v) == `"handshake"` {
						t.Fatalf("successful reply advising handshake: %s", clip(m.Raw))
					}
				}
			}},
		{id: "handshake.browser-cookie", section: secHandshake, level: Convention, source: srcCometDSec,
			rule: "A successful handshake over HTTP sets the BAYEUX_BROWSER cookie, HttpOnly (CometD)",
			run: func(t *T) {
				_, x := t.rawHandshake(handshakeMsg(LongPolling))
				for _, c := range x.resp.Cookies {
					if c.Name == "BAYEUX_BROWSER" {
						if !c.HttpOnly {
							t.Fatalf("BAYEUX_BROWSER is not HttpOnly: %s", c.String())
						}
						return
					}
				}
				t.Fatalf("no BAYEUX_BROWSER cookie (Set-Cookie: %q)", x.resp.Header.Values("Set-Cookie"))
			}},
		{id: "handshake.version-reply", section: secHandshake, level: Must, source: srcHandshake,
			rule: "A handshake offering a higher version (2.0, minimumVersion 1.0) is answered with a version the client accepts",
			run: func(t *T) {
				r, _ := t.rawHandshake(msg{"channel": "/meta/handshake", "version": "2.0", "minimumVersion": "1.0", "supportedConnectionTypes": []string{LongPolling}})
				if !r.Successful() {
					t.Fatalf("refused, though the client accepts every version from 1.0 to 2.0: %s", clip(r.Raw))
				}
				v := r.S("version")
				if !versionGrammar.MatchString(v) || compareVersions(v, "1.0") < 0 || compareVersions(v, "2.0") > 0 {
					t.Fatalf("version %q is not between the client's minimumVersion 1.0 and version 2.0: %s", v, clip(r.Raw))
				}
				t.Logf("version %s", v)
			}},
	}
}

// compareVersions compares Bayeux versions element by element (numerically
// where both elements are numbers), as the specification says.
func compareVersions(a, b string) int {
	as, bs := strings.Split(a, "."), strings.Split(b, ".")
	for i := range max(len(as), len(bs)) {
		x, y := "0", "0"
		if i < len(as) {
			x = as[i]
		}
		if i < len(bs) {
			y = bs[i]
		}
		nx, ex := strconv.Atoi(x)
		ny, ey := strconv.Atoi(y)
		var c int
		if ex == nil && ey == nil {
			c = cmp.Compare(nx, ny)
		} else {
			c = strings.Compare(x, y)
		}
		if c != 0 {
			return c
		}
	}
	return 0
}
