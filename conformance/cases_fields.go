package conformance

import (
	"bytes"
	"encoding/json"
	"math/big"
	"regexp"
	"strings"

	"github.com/google/go-cmp/cmp"
)

func fieldCases() []caseDef {
	return []caseDef{
		{id: "fields.array", section: secFields, level: Must, source: srcFields,
			rule: "A server accepts a JSON array of messages and answers with a JSON array",
			run: func(t *T) {
				s := t.newSession(LongPolling)
				x, err := s.send(t.ctx, handshakeMsg(LongPolling))
				if err != nil {
					t.Fatalf("no answer: %v", err)
				}
				if x.err != nil {
					t.Fatalf("%v", x.err)
				}
				if r, ok := x.reply("/meta/handshake", ""); ok {
					s.clientID = r.S("clientId")
				}
			}},
		{id: "fields.bare-object", section: secFields, level: May, source: srcFields,
			rule: "A server may accept a single message object instead of an array; if it does, it answers with an array",
			run: func(t *T) {
				s := t.newSession(LongPolling)
				b, _ := json.Marshal(handshakeMsg(LongPolling))
				x, err := s.sendRaw(t.ctx, b, nil)
				if err != nil {
					t.Fatalf("no answer: %v", err)
				}
				if x.resp.Status >= 400 {
					t.Skipf("the server does not accept a bare object (HTTP %d), which it may refuse", x.resp.Status)
				}
				if x.err != nil {
					t.Fatalf("a bare object was accepted, but the answer is not an array of messages: %v", x.err)
				}
				if r, ok := x.reply("/meta/handshake", ""); ok {
					s.clientID = r.S("clientId")
				}
			}},
		{id: "fields.channel", section: secFields, level: Must, source: srcFields,
			rule: "Every message a server sends has exactly one non-empty string channel, even in answer to a message without one (a reply to [{}] or [{\"channel\":42}])",
			run: func(t *T) {
				for _, m := range t.everyReply() {
					if c, ok := m.Str("channel"); !ok || c == "" {
						t.Fatalf("message without a channel: %s", clip(m.Raw))
					}
				}
				for _, b := range []string{`[{}]`, `[{"channel":42}]`, `[{"id":"1","data":{}}]`} {
					x, err := t.postRaw([]byte(b))
					if err != nil || x.err != nil {
						continue // an HTTP error or a body that is not messages: no message sent
					}
					for _, m := range x.msgs {
						if c, ok := m.Str("channel"); !ok || c == "" {
							t.Fatalf("answering %s, a message without a string channel: %s", b, clip(m.Raw))
						}
					}
				}
			}},
		{id: "fields.meta-id", section: secFields, matrix: true, level: Must, source: srcID,
			rule: "A reply to a /meta message carries the id of the request",
			run: func(t *T) {
				s := t.open("")
				ch := t.channel()
				for _, m := range []msg{
					{"channel": "/meta/subscribe", "subscription": ch, "id": "77"},
					{"channel": "/meta/unsubscribe", "subscription": ch, "id": "78"},
					{"channel": "/meta/connect", "connectionType": s.transport, "advice": map[string]any{"timeout": 0}, "id": "79"},
					{"channel": "/meta/subscribe", "id": "80"},
				} {
					x := t.must(s.send(t.ctx, m))
					want := m["id"].(string)
					if _, ok := x.reply(m["channel"].(string), want); !ok {
						t.Fatalf("reply to %s id %s does not carry that id: %s", m["channel"], want, channelsOf(x.replies)+" "+clip(x.body))
					}
				}
			}},
		{id: "fields.handshake-id", section: secFields, level: Must, source: srcID + " (responses to /meta messages MUST carry the id of the request)",
			rule: "A /meta/handshake reply carries the id of the handshake, successful or not",
			run: func(t *T) {
				for _, hs := range []msg{
					{"channel": "/meta/handshake", "version": "1.0", "supportedConnectionTypes": []string{LongPolling}, "id": "h7"},
					{"channel": "/meta/handshake", "version": "1.0", "supportedConnectionTypes": []string{"carrier-pigeon"}, "id": "h8"},
				} {
					s := t.newSession(LongPolling)
					x := t.must(s.send(t.ctx, hs))
					r, ok := x.reply("/meta/handshake", "")
					if ok && r.Successful() {
						s.clientID = r.S("clientId")
					}
					if !ok || r.S("id") != hs["id"] {
						t.Fatalf("the reply to a handshake with id %s: %s", hs["id"], clip(x.body))
					}
				}
			}},
		{id: "fields.disconnect-id", section: secFields, matrix: true, level: Must, source: srcID + " (responses to /meta messages MUST carry the id of the request)",
			rule: "A /meta/disconnect reply carries the id of the disconnect",
			run: func(t *T) {
				s := t.open("")
				x := t.must(s.send(t.ctx, msg{"channel": "/meta/disconnect", "id": "d9"}))
				s.gone = true
				if _, ok := x.reply("/meta/disconnect", "d9"); !ok {
					t.Fatalf("the reply to a disconnect with id d9: %s", clip(x.body))
				}
			}},
		{id: "fields.service-id", section: secFields, matrix: true, level: Should, source: srcID,
			rule: "A reply to a /service message carries the id of the request",
			run: func(t *T) {
				s := t.open("")
				ch := "/service" + t.channel()
				x := t.must(s.send(t.ctx, msg{"channel": ch, "data": map[string]any{"q": 1}, "id": "91"}))
				if len(x.replies) == 0 && s.transport != WebSocket {
					t.Skipf("the server sent no reply to a /service message (a publish reply is optional)")
				}
				if _, ok := x.reply(ch, "91"); !ok {
					t.Fatalf("reply to a /service message with id 91 does not carry it: %s", clip(x.body))
				}
			}},
		{id: "fields.successful", section: secFields, level: Must, source: srcSuccessful,
			rule: "Replies to handshake, connect, subscribe, unsubscribe, disconnect and publish carry a boolean successful",
			run: func(t *T) {
				for _, m := range t.everyReply() {
					if !m.IsReply() {
						continue
					}
					if _, ok := m.Bool("successful"); !ok {
						t.Fatalf("reply without a boolean successful: %s", clip(m.Raw))
					}
				}
			}},
		{id: "fields.error-grammar", section: secFields, matrix: true, level: Should, source: srcError,
			rule: `Every error value follows the grammar code ":" args ":" message, with a 3-digit code`,
			run: func(t *T) {
				s := t.open("")
				var errs []string
				for _, m := range []msg{
					{"channel": "/meta/subscribe"},
					{"channel": "/meta/subscribe", "subscription": "/meta/connect"},
					{"channel": "/meta/connect", "connectionType": s.transport, "clientId": t.unknownID()},
					{"channel": "/meta/subscribe", "subscription": t.channel(), "clientId": t.unknownID()},
				} {
					x, err := s.send(t.ctx, m)
					if err != nil || x.err != nil {
						continue
					}
					for _, r := range x.replies {
						if e, ok := r.Str("error"); ok {
							errs = append(errs, e)
						}
					}
				}
				if len(errs) == 0 {
					t.Skipf("the server sent no error strings")
				}
				for _, e := range errs {
					if !errorGrammar.MatchString(e) {
						t.Fatalf("error %q does not follow code:args:message", e)
					}
				}
				t.Logf("errors seen: %s", strings.Join(errs, ", "))
			}},
		{id: "fields.unique-keys", section: secFields, level: Should, source: srcRFC8259,
			rule: "Message objects have unique member names",
			run: func(t *T) {
				for _, m := range t.everyReply() {
					if len(m.Dups) > 0 {
						t.Fatalf("duplicate keys %v in %s", m.Dups, clip(m.Raw))
					}
				}
			}},
		{id: "fields.exact-names", section: secFields, level: Must, source: srcFields,
			rule: `Field names are spelled exactly as the specification does (JSON names are case-sensitive: "Channel" is not "channel")`,
			run: func(t *T) {
				for _, m := range t.everyReply() {
					if len(m.Folded) > 0 {
						t.Fatalf("case-folded field names %v in %s", m.Folded, clip(m.Raw))
					}
				}
			}},
		{id: "fields.types", section: secFields, level: Must, source: srcFields,
			rule: "Fields have their specified JSON types (channel, clientId, id, version, error: strings; successful: boolean; supportedConnectionTypes: array of strings; advice, ext: objects)",
			run: func(t *T) {
				for _, m := range t.everyReply() {
					if len(m.WrongType) > 0 {
						t.Fatalf("wrong-typed fields %v in %s", m.WrongType, clip(m.Raw))
					}
				}
			}},
		{id: "fields.ext-ignored", section: secFields, level: Must, source: srcExt,
			rule: "Unknown ext members are ignored: a handshake, subscribe and publish carrying them succeed",
			run: func(t *T) {
				ext := map[string]any{"org.example.conformance": map[string]any{"unknown": true}}
				s := t.open("", msg{"ext": ext})
				ch := t.channel()
				x := t.must(s.send(t.ctx, msg{"channel": "/meta/subscribe", "subscription": ch, "ext": ext}))
				if r, ok := x.reply("/meta/subscribe", ""); !ok || !r.Successful() {
					t.Fatalf("subscribe with an unknown ext member failed: %s", clip(x.body))
				}
			}},
		{id: "fields.advice", section: secFields, level: Must, source: srcAdvice,
			rule: "advice, when present, has integer interval and timeout (ms) and reconnect one of retry, handshake, none",
			run: func(t *T) {
				n := 0
				for _, m := range t.everyReply() {
					a, ok := m.Object("advice")
					if !ok {
						continue
					}
					n++
					for _, k := range []string{"interval", "timeout", "maxInterval"} {
						if v, has := a[k]; has && !isInteger(v) {
							t.Fatalf("advice.%s is not an integer: %s", k, clip(m.Raw))
						}
					}
					if v, has := a["reconnect"]; has {
						var r string
						if json.Unmarshal(v, &r) != nil || (r != "retry" && r != "handshake" && r != "none") {
							t.Fatalf("advice.reconnect is %s: %s", v, clip(m.Raw))
						}
					}
				}
				t.Logf("%d messages with advice", n)
			}},
		{id: "fields.timestamp", section: secFields, level: Should, source: srcTimestamp,
			rule: "A timestamp, when present, is ISO 8601 (YYYY-MM-DDThh:mm:ss.ss) in GMT",
			run: func(t *T) {
				n := 0
				for _, m := range t.everyReply() {
					if ts, ok := m.Str("timestamp"); ok {
						n++
						if !isoTimestamp.MatchString(ts) {
							t.Fatalf("timestamp %q is not ISO 8601: %s", ts, clip(m.Raw))
						}
					}
				}
				t.Logf("%d timestamps", n)
			}},
		{id: "fields.message-id-grammar", section: secFields, matrix: true, level: Convention, source: srcID + " (CometD checks it; see also " + srcCometDSec + ")",
			rule: "A message id that is not alphanumeric (such as <script>) is refused",
			run: func(t *T) {
				s := t.open("")
				x, err := s.send(t.ctx, msg{"channel": "/meta/subscribe", "subscription": t.channel(), "id": "<script>"})
				if ok, seen := refused(x, err, "/meta/subscribe"); !ok {
					t.Fatalf("id <script> accepted: %s", seen)
				}
			}},
		{id: "fields.unicode", section: secFields, matrix: true, level: Must, source: srcData + " " + srcRFC8259,
			rule: "Multibyte and escaped characters in data round-trip exactly",
			run: func(t *T) {
				s := t.open("")
				ch := t.channel()
				t.subscribe(s, ch)
				data := map[string]any{"s": "héllo ✓ 𝄞 \u2028\u2029 \"q\" \\ \u0001", "n": 1.5}
				t.publish(s, ch, data)
				got := s.await(t.ctx, onChannel(ch), 1, t.wait())
				if len(got) == 0 {
					t.Fatalf("the event never arrived")
				}
				want, _ := json.Marshal(data)
				if !jsonEqual(got[0].Fields["data"], want) {
					t.Fatalf("sent data %s, received %s", want, got[0].Fields["data"])
				}
			}},
	}
}

var isoTimestamp = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]00:?00)?$`)

func isInteger(v json.RawMessage) bool {
	var f float64
	return json.Unmarshal(v, &f) == nil && f == float64(int64(f))
}

// jsonEqual reports whether a and b hold the same JSON value, types and
// all: a number is equal only to a number of the same value (12.5 and
// 12.50, never "12.5"), a string to the same string, and so on, however
// the two are spaced or their keys ordered.
func jsonEqual(a, b []byte) bool {
	x, errX := decodeExact(a)
	y, errY := decodeExact(b)
	if errX != nil || errY != nil {
		return bytes.Equal(a, b)
	}
	return cmp.Equal(x, y, cmp.Comparer(func(p, q json.Number) bool {
		r, ok1 := new(big.Rat).SetString(string(p))
		s, ok2 := new(big.Rat).SetString(string(q))
		return ok1 && ok2 && r.Cmp(s) == 0
	}))
}

// decodeExact decodes b keeping numbers as json.Number.
func decodeExact(b []byte) (any, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, err
	}
	return v, nil
}
