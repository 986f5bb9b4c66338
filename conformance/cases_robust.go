package conformance

import (
	"bytes"
	"fmt"
	"strings"
)

// prototypeNames are identifiers that break servers keeping state in plain
// JavaScript objects.
var prototypeNames = []string{"__proto__", "constructor", "hasOwnProperty", "toString", "prototype", "valueOf"}

// postRaw posts body as JSON from a fresh session and returns the answer.
func (t *T) postRaw(body []byte) (*exchange, error) {
	return t.newSession(LongPolling).post(t.ctx, "application/json", body)
}

// notMessages are JSON bodies that are not Bayeux messages.
var notMessages = []string{`"x"`, `42`, `[1,2]`, `[{}]`, `[{"channel":42}]`}

func robustnessCases() []caseDef {
	return []caseDef{
		{id: "robust.prototype-clientid", section: secRobust, level: Convention, source: srcFayeLog + " (Faye 1.4.2)",
			rule: "clientIds such as __proto__ and constructor are unknown clients like any other",
			run: func(t *T) {
				s := t.newSession(LongPolling)
				for _, id := range prototypeNames {
					for _, m := range []msg{
						{"channel": "/meta/connect", "connectionType": LongPolling, "clientId": id, "advice": map[string]any{"timeout": 0}},
						{"channel": "/meta/subscribe", "subscription": t.channel(), "clientId": id},
						{"channel": "/meta/disconnect", "clientId": id},
					} {
						x, err := s.send(t.ctx, m)
						if ok, seen := refused(x, err, m["channel"].(string)); !ok {
							t.Fatalf("%s with clientId %s: %s", m["channel"], id, seen)
						}
					}
				}
				t.alive()
			}},
		{id: "robust.prototype-channel", section: secRobust, matrix: true, level: Convention, source: srcFayeLog + " (Faye 1.4.2)",
			rule: "Channels named /x/__proto__, /x/constructor... are ordinary channels: delivered to their subscribers only",
			run: func(t *T) {
				b := t.channel()
				var names []string
				for _, n := range prototypeNames {
					names = append(names, b+"/"+n)
				}
				got := t.deliveries(names, names, t.channel())
				if strings.Join(got, " ") != strings.Join(names, " ") {
					t.Fatalf("published on %v, received %v", names, got)
				}
				other := t.deliveries([]string{b + "/other"}, names, t.channel())
				if len(other) > 0 {
					t.Fatalf("a subscriber of %s/other received %v", b, other)
				}
			}},
		{id: "robust.prototype-id", section: secRobust, matrix: true, level: Convention, source: srcID,
			rule: "Message ids such as constructor and valueOf are echoed like any other",
			run: func(t *T) {
				s := t.open("")
				for _, id := range []string{"constructor", "valueOf", "toString"} {
					x := t.must(s.send(t.ctx, msg{"channel": "/meta/subscribe", "subscription": t.channel(), "id": id}))
					if _, ok := x.reply("/meta/subscribe", id); !ok {
						t.Fatalf("id %s not echoed: %s", id, clip(x.body))
					}
				}
			}},
		{id: "robust.prototype-data", section: secRobust, matrix: true, level: Convention, source: srcData,
			rule: "data and ext with __proto__ and constructor keys are delivered unchanged",
			run: func(t *T) {
				s := t.open("")
				ch := t.channel()
				t.subscribe(s, ch)
				pub := t.open(LongPolling)
				body := fmt.Sprintf(`[{"channel":%q,"clientId":%q,"id":"9","data":{"__proto__":{"polluted":true},"constructor":{"prototype":1}}}]`, ch, pub.clientID)
				t.must(pub.post(t.ctx, "application/json", []byte(body)))
				got := s.await(t.ctx, onChannel(ch), 1, t.wait())
				if len(got) == 0 {
					t.Fatalf("no event")
				}
				if !jsonEqual(got[0].Fields["data"], []byte(`{"__proto__":{"polluted":true},"constructor":{"prototype":1}}`)) {
					t.Fatalf("received %s", got[0].Fields["data"])
				}
				t.alive()
			}},
		{id: "robust.jsonp-injection", section: secRobust, level: Security, source: srcFaye + " (the JSONP callback must be a plain identifier)", transport: CallbackPolling,
			rule: "A JSONP callback name holding script (statements, a newline, markup) is never echoed as it was sent: the answer cannot run it",
			run: func(t *T) {
				s := t.newSession(CallbackPolling)
				body, _ := s.prepare([]msg{handshakeMsg(CallbackPolling)})
				var bad []string
				for _, cb := range []string{"alert(1);x", "x\nalert(1)", "<script>x", "x;alert(1)//"} {
					x, err := s.jsonp(t.ctx, body, cb)
					if err != nil || x.resp.Status >= 400 {
						continue // refused
					}
					if bytes.Contains(x.resp.Body, []byte(cb+"(")) {
						bad = append(bad, fmt.Sprintf("%q echoed: %s", cb, clip(x.resp.Body)))
					}
				}
				if len(bad) > 0 {
					t.Fatalf("%s", strings.Join(bad, "; "))
				}
				t.alive()
			}},
		{id: "robust.jsonp-callback", section: secRobust, level: Convention, source: srcCometDConf + " (callbackParameterMaxLength) " + srcFaye, transport: CallbackPolling,
			rule: "Hostile JSONP callback names (script, statements, spaces, over 64 characters) are refused, not reflected",
			run: func(t *T) {
				s := t.newSession(CallbackPolling)
				body, _ := s.prepare([]msg{handshakeMsg(CallbackPolling)})
				var bad []string
				for _, cb := range []string{"alert(1);x", "<script>", "a b", "x\nalert(1)", strings.Repeat("a", 200)} {
					x, err := s.jsonp(t.ctx, body, cb)
					if err != nil {
						continue
					}
					if x.resp.Status < 400 {
						bad = append(bad, fmt.Sprintf("%q -> HTTP %d %s", clip([]byte(cb)), x.resp.Status, clip(x.resp.Body)))
					}
				}
				if len(bad) > 0 {
					t.Fatalf("accepted: %s", strings.Join(bad, "; "))
				}
				t.alive()
			}},
		{id: "robust.oversized", section: secRobust, level: Convention, source: srcCometDConf + " (maxMessageSize)",
			rule: "An oversized request (a 4 MiB publish) is refused, and the server keeps working",
			run: func(t *T) {
				s := t.open(LongPolling)
				// Held connects keep the session alive while 4 MiB
				// travel: refused, it must be for its size, not because
				// the session expired on the way.
				t.keepSession(s)
				big := strings.Repeat("x", 4<<20)
				x, err := s.send(t.ctx, msg{"channel": t.channel(), "data": map[string]any{"big": big}})
				if ok, seen := refused(x, err, ""); !ok {
					t.Errorf("accepted: %s", seen)
				} else {
					t.Logf("%s", seen)
				}
				t.alive()
			}},
		{id: "robust.malformed-json", section: secRobust, level: Convention, source: srcCometDConf + " " + srcFaye,
			rule: "A request body that is not valid JSON is answered HTTP 400, and the server keeps working",
			run: func(t *T) {
				for _, b := range []string{`[{"channel":"/meta/handshake",`, `[{"channel":}]`, "\xff\xfe[]", ""} {
					x, err := t.postRaw([]byte(b))
					if err != nil {
						t.Fatalf("%q: no answer: %v", b, err)
					}
					if x.resp.Status < 400 || x.resp.Status >= 500 {
						t.Fatalf("%q: HTTP %d %s", b, x.resp.Status, clip(x.resp.Body))
					}
				}
				t.alive()
			}},
		{id: "robust.not-messages", section: secRobust, level: Convention, source: srcFields,
			rule: "JSON that is not messages (a scalar, an array of numbers, a message without channel) is refused with HTTP 400 or an unsuccessful reply",
			run: func(t *T) {
				for _, b := range notMessages {
					x, err := t.postRaw([]byte(b))
					if ok, seen := refused(x, err, ""); !ok || (x != nil && x.resp.Status >= 500) {
						t.Fatalf("%s: %s", b, seen)
					}
					// An unsuccessful reply is a refusal only when it is a
					// Bayeux message: one with a string channel.
					for _, m := range x.msgs {
						if c, ok := m.Str("channel"); !ok || c == "" {
							t.Fatalf("%s: refused with a reply that has no string channel: %s", b, clip(m.Raw))
						}
					}
				}
				t.alive()
			}},
		{id: "robust.deep-nesting", section: secRobust, level: Convention, source: srcRFC8259,
			rule: "A message with data nested 10000 levels deep is answered (refused or delivered), and the server keeps working",
			run: func(t *T) {
				s := t.open(LongPolling)
				ch := t.channel()
				deep := strings.Repeat("[", 10000) + strings.Repeat("]", 10000)
				body := fmt.Sprintf(`[{"channel":%q,"clientId":%q,"id":"5","data":{"d":%s}}]`, ch, s.clientID, deep)
				x, err := s.post(t.ctx, "application/json", []byte(body))
				if err != nil {
					t.Fatalf("no answer: %v", err)
				}
				if x.resp.Status >= 500 {
					t.Fatalf("HTTP %d", x.resp.Status)
				}
				t.Logf("HTTP %d", x.resp.Status)
				t.alive()
			}},
		{id: "robust.empty-array", section: secRobust, level: Convention, source: srcFields + " (an empty array holds no message; CometD answers HTTP 400)",
			rule: "A POST of [] is answered without a server error (HTTP 4xx, or an array), and the server keeps working",
			run: func(t *T) {
				x, err := t.postRaw([]byte(`[]`))
				if err != nil {
					t.Fatalf("no answer: %v", err)
				}
				if x.resp.Status >= 500 {
					t.Fatalf("HTTP %d %s", x.resp.Status, clip(x.resp.Body))
				}
				if x.resp.Status == 200 && x.err != nil {
					t.Fatalf("answered 200 with %v", x.err)
				}
				t.Logf("HTTP %d %s", x.resp.Status, clip(x.resp.Body))
				t.alive()
			}},
	}
}
