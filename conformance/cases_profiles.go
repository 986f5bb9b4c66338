package conformance

import (
	"encoding/json"
	"time"

	"github.com/bayeux-go/sdk/conformance/internal/raw"
)

// extMember returns ext[k] of m.
func extMember(m raw.Msg, k string) (json.RawMessage, bool) { return m.Member("ext", k) }

// ackSession opens a long-polling session negotiating the ack extension,
// or skips the case when the server does not support it.
func (t *T) ackSession() *session {
	s := t.newSession(LongPolling)
	hs := handshakeMsg(LongPolling)
	hs["ext"] = map[string]any{"ack": true}
	x := t.must(s.send(t.ctx, hs))
	r, ok := x.reply("/meta/handshake", "")
	if !ok || !r.Successful() {
		t.Fatalf("setup: handshake failed: %s", clip(x.body))
	}
	s.clientID = r.S("clientId")
	v, ok := extMember(r, "ack")
	if !ok {
		t.Skipf("the server does not offer the ack extension (no ext.ack in the handshake reply)")
	}
	var enabled struct{ Enabled bool }
	if string(v) != "true" && (json.Unmarshal(v, &enabled) != nil || !enabled.Enabled) {
		t.Fatalf("ext.ack in the handshake reply is %s, want true or {enabled:true}", v)
	}
	return s
}

// ackConnect sends a connect acknowledging batch id and returns the batch
// id of the reply.
func (t *T) ackConnect(s *session, ack int64, hold time.Duration) (int64, *exchange) {
	x := t.must(s.send(t.ctx, msg{"channel": "/meta/connect", "connectionType": LongPolling,
		"advice": map[string]any{"timeout": hold.Milliseconds()}, "ext": map[string]any{"ack": ack}}))
	r, ok := x.reply("/meta/connect", "")
	if !ok {
		t.Fatalf("no connect reply: %s", clip(x.body))
	}
	v, ok := extMember(r, "ack")
	var n int64
	if !ok || json.Unmarshal(v, &n) != nil {
		t.Fatalf("connect reply without an integer ext.ack: %s", clip(r.Raw))
	}
	return n, x
}

func profileCases() []caseDef {
	return []caseDef{
		{id: "ack.negotiate", section: secProfiles, level: May, source: srcAck,
			rule: "A server offering the ack extension answers a handshake with ext.ack:true with ext.ack true or {enabled:true}",
			run:  func(t *T) { t.ackSession() }},
		{id: "ack.connect-ids", section: secProfiles, level: May, source: srcAck,
			rule: "With ack negotiated, every /meta/connect reply carries an integer ext.ack batch id",
			run: func(t *T) {
				s := t.ackSession()
				a, _ := t.ackConnect(s, -1, 0)
				t.ackConnect(s, a, 0)
			}},
		{id: "ack.redelivery", section: secProfiles, level: May, source: srcAck,
			rule: "With ack negotiated, a connect acknowledging an earlier batch gets the unacknowledged events again, in order",
			run: func(t *T) {
				s := t.ackSession()
				ch := t.channel()
				a0, _ := t.ackConnect(s, -1, 0)
				t.subscribe(s, ch)
				pub := t.open(LongPolling)
				t.publish(pub, ch, map[string]any{"n": 1})
				t.publish(pub, ch, map[string]any{"n": 2})
				time.Sleep(200 * time.Millisecond)
				_, x := t.ackConnect(s, a0, 0)
				if len(x.events) < 2 {
					t.Skipf("setup: events did not arrive on the connect (%s)", channelsOf(x.msgs))
				}
				_, again := t.ackConnect(s, a0, 0) // as if that response was lost
				var ns []string
				for _, m := range again.events {
					n, _ := m.Member("data", "n")
					ns = append(ns, string(n))
				}
				if len(ns) != 2 || ns[0] != "1" || ns[1] != "2" {
					t.Fatalf("after acknowledging the earlier batch again, got events %v, want [1 2]", ns)
				}
			}},
		{id: "timesync.reply", section: secProfiles, level: May, source: srcTimesync,
			rule: "A server offering timesync answers ext.timesync {tc,l,o} with {tc (echoed), ts, p}",
			run: func(t *T) {
				tc := time.Now().UnixMilli()
				hs := handshakeMsg(LongPolling)
				hs["ext"] = map[string]any{"timesync": map[string]any{"tc": tc, "l": 0, "o": 0}}
				r, _ := t.rawHandshake(hs)
				v, ok := extMember(r, "timesync")
				if !ok {
					t.Skipf("the server does not offer timesync (no ext.timesync in the handshake reply)")
				}
				var ts struct {
					TC *int64 `json:"tc"`
					TS *int64 `json:"ts"`
					P  *int64 `json:"p"`
				}
				if json.Unmarshal(v, &ts) != nil || ts.TC == nil || *ts.TC != tc || ts.TS == nil || ts.P == nil {
					t.Fatalf("ext.timesync %s, want tc %d echoed with ts and p", v, tc)
				}
				if *ts.TS < tc-60_000 {
					t.Fatalf("ts %d is long before tc %d", *ts.TS, tc)
				}
			}},
		{id: "replay.negotiate", section: secProfiles, level: May, source: srcReplay,
			rule: "A server offering replay echoes ext.replay:true in the handshake reply",
			run:  func(t *T) { t.replaySession() }},
		{id: "replay.ids", section: secProfiles, level: May, source: srcReplay,
			rule: "With replay negotiated, a subscription with ext.replay {channel: -1} gets events carrying data.event.replayId",
			run: func(t *T) {
				s := t.replaySession()
				ch := t.channel()
				x := t.must(s.send(t.ctx, msg{"channel": "/meta/subscribe", "subscription": ch, "ext": map[string]any{"replay": map[string]any{ch: -1}}}))
				if r, ok := x.reply("/meta/subscribe", ""); !ok || !r.Successful() {
					t.Fatalf("subscribe with ext.replay refused: %s", clip(x.body))
				}
				t.publish(t.open(LongPolling), ch, map[string]any{"n": 1})
				got := s.await(t.ctx, onChannel(ch), 1, t.wait())
				if len(got) == 0 {
					t.Fatalf("no event")
				}
				ev, _ := got[0].Member("data", "event")
				var e struct {
					ReplayID *int64 `json:"replayId"`
				}
				if json.Unmarshal(ev, &e) != nil || e.ReplayID == nil {
					t.Fatalf("event without data.event.replayId: %s", clip(got[0].Raw))
				}
			}},
		{id: "binary.passthrough", section: secProfiles, matrix: true, level: Convention, source: srcBinary,
			rule: "A message with ext.binary and data {data, last, meta} reaches subscribers unchanged",
			run: func(t *T) {
				s := t.open("")
				ch := t.channel()
				t.subscribe(s, ch)
				data := map[string]any{"data": "nm=QNzY&b1A+]nf", "last": true, "meta": map[string]any{"name": "x.bin"}}
				pub := t.open("")
				t.must(pub.send(t.ctx, msg{"channel": ch, "data": data, "ext": map[string]any{"binary": map[string]any{}}}))
				got := s.await(t.ctx, onChannel(ch), 1, t.wait())
				if len(got) == 0 {
					t.Fatalf("no event")
				}
				want, _ := json.Marshal(data)
				if !jsonEqual(got[0].Fields["data"], want) {
					t.Fatalf("sent %s, received %s", want, got[0].Fields["data"])
				}
			}},
	}
}

// replaySession opens a session negotiating replay, or skips.
func (t *T) replaySession() *session {
	s := t.open("", msg{"ext": map[string]any{"replay": true}})
	if v, ok := extMember(s.handshake, "replay"); !ok || string(v) != "true" {
		if ok {
			t.Fatalf("ext.replay in the handshake reply is %s, want true", v)
		}
		t.Skipf("the server does not offer replay (no ext.replay in the handshake reply)")
	}
	return s
}
