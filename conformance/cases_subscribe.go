package conformance

import (
	"context"
	"encoding/json"
	"slices"
	"strconv"

	"github.com/bayeux-go/sdk/conformance/internal/raw"
)

// echo checks that the reply on channel echoes subscription as sent.
func (t *T) echo(x *exchange, channel string, sub any) {
	r, ok := x.reply(channel, "")
	if !ok || !r.Successful() {
		t.Fatalf("not successful: %s", clip(x.body))
	}
	want, _ := json.Marshal(sub)
	if got := r.Fields["subscription"]; !jsonEqual(got, want) {
		t.Fatalf("subscription %s echoed as %s", want, got)
	}
}

func subscribeCases() []caseDef {
	return []caseDef{
		{id: "subscribe.echo", section: secSubscribe, matrix: true, level: Must, source: srcSubField,
			rule: "A /meta/subscribe reply is successful and echoes subscription (a string) as sent",
			run: func(t *T) {
				s := t.open("")
				ch := t.channel()
				t.echo(t.must(s.send(t.ctx, msg{"channel": "/meta/subscribe", "subscription": ch})), "/meta/subscribe", ch)
			}},
		{id: "subscribe.echo-array", section: secSubscribe, matrix: true, level: Must, source: srcSubField,
			rule: "A /meta/subscribe with an array of channels is answered with the same array",
			run: func(t *T) {
				s := t.open("")
				sub := []string{t.channel(), t.channel()}
				t.echo(t.must(s.send(t.ctx, msg{"channel": "/meta/subscribe", "subscription": sub})), "/meta/subscribe", sub)
			}},
		{id: "subscribe.array", section: secSubscribe, matrix: true, level: Must, source: srcSubField,
			rule: "A /meta/subscribe with an array subscribes to every channel listed",
			run: func(t *T) {
				a, b := t.channel(), t.channel()
				got := t.deliveries([]string{a, b}, []string{a, b}, t.channel())
				if !slices.Contains(got, a) || !slices.Contains(got, b) {
					t.Fatalf("subscribed to [%s %s], received %v", a, b, got)
				}
			}},
		{id: "subscribe.missing", section: secSubscribe, matrix: true, level: Should, source: srcSubscribe + " (subscription is a MUST of the request, a duty of the client)",
			rule: "A /meta/subscribe without subscription is unsuccessful",
			run: func(t *T) {
				s := t.open("")
				t.mustRefuse(s, msg{"channel": "/meta/subscribe"})
			}},
		{id: "subscribe.delivers", section: secSubscribe, matrix: true, level: Must, source: specRef + " (delivery)",
			rule: "Every subscriber of a channel receives each event published there (three subscribers)",
			run: func(t *T) {
				ch := t.channel()
				subs := []*session{t.open(""), t.open(""), t.open("")}
				for _, s := range subs {
					t.subscribe(s, ch)
				}
				t.publish(t.open(""), ch, map[string]any{"n": 1})
				for i, s := range subs {
					if got := s.await(t.ctx, onChannel(ch), 1, t.wait()); len(got) != 1 {
						t.Fatalf("subscriber %d received %d copies", i+1, len(got))
					}
				}
			}},
		{id: "unsubscribe.echo", section: secSubscribe, matrix: true, level: Must, source: srcSubField,
			rule: "A /meta/unsubscribe reply is successful and echoes subscription as sent",
			run: func(t *T) {
				s := t.open("")
				ch := t.channel()
				t.subscribe(s, ch)
				t.echo(t.must(s.send(t.ctx, msg{"channel": "/meta/unsubscribe", "subscription": ch})), "/meta/unsubscribe", ch)
			}},
		{id: "unsubscribe.stops", section: secSubscribe, matrix: true, level: Must, source: srcUnsubscribe,
			rule: "After /meta/unsubscribe the session receives nothing more from that channel",
			run: func(t *T) {
				s := t.open("")
				ch, other := t.channel(), t.channel()
				t.subscribe(s, []string{ch, other})
				t.must(s.send(t.ctx, msg{"channel": "/meta/unsubscribe", "subscription": ch}))
				pub := t.open("")
				t.publish(pub, ch, map[string]any{"n": 1})
				t.publish(pub, other, map[string]any{"n": 2})
				t.control(s, other)
				if got := s.received(onChannel(ch)); len(got) > 0 {
					t.Fatalf("received %s after unsubscribing", clip(got[0].Raw))
				}
			}},
		{id: "unsubscribe.array", section: secSubscribe, matrix: true, level: Must, source: srcSubField,
			rule: "A /meta/unsubscribe with an array unsubscribes from every channel listed",
			run: func(t *T) {
				s := t.open("")
				a, b, marker := t.channel(), t.channel(), t.channel()
				t.subscribe(s, []string{a, b, marker})
				t.echo(t.must(s.send(t.ctx, msg{"channel": "/meta/unsubscribe", "subscription": []string{a, b}})), "/meta/unsubscribe", []string{a, b})
				pub := t.open("")
				for _, ch := range []string{a, b, marker} {
					t.publish(pub, ch, map[string]any{"n": 1})
				}
				t.control(s, marker)
				if got := s.received(func(m raw.Msg) bool { return m.S("channel") == a || m.S("channel") == b }); len(got) > 0 {
					t.Fatalf("received %s after unsubscribing", clip(got[0].Raw))
				}
			}},
		{id: "unsubscribe.missing", section: secSubscribe, matrix: true, level: Should, source: srcUnsubscribe + " (subscription is a MUST of the request, a duty of the client)",
			rule: "A /meta/unsubscribe without subscription is unsuccessful",
			run: func(t *T) {
				s := t.open("")
				t.mustRefuse(s, msg{"channel": "/meta/unsubscribe"})
			}},
		{id: "unsubscribe.never-subscribed", section: secSubscribe, matrix: true, level: Must, source: srcUnsubscribe + " (the unsubscribe response MUST contain channel, successful and subscription)",
			rule: "A /meta/unsubscribe from a channel the session never subscribed to gets a reply with a boolean successful and subscription as sent",
			run: func(t *T) {
				s := t.open("")
				ch := t.channel()
				x := t.must(s.send(t.ctx, msg{"channel": "/meta/unsubscribe", "subscription": ch}))
				r, ok := x.reply("/meta/unsubscribe", "")
				if !ok {
					t.Fatalf("no /meta/unsubscribe reply: %s", clip(x.body))
				}
				if _, isBool := r.Bool("successful"); !isBool {
					t.Fatalf("no boolean successful: %s", clip(r.Raw))
				}
				want, _ := json.Marshal(ch)
				if got := r.Fields["subscription"]; !jsonEqual(got, want) {
					t.Fatalf("subscription %s echoed as %s", want, got)
				}
				t.Logf("%s", clip(r.Raw))
			}},
		{id: "unsubscribe.wildcard", section: secSubscribe, matrix: true, level: Must, source: srcUnsubscribe,
			rule: "After /meta/unsubscribe from a pattern (/a/*) the session receives nothing more through it",
			run: func(t *T) {
				s := t.open("")
				base, ctl := t.channel(), t.channel()
				t.subscribe(s, []string{base + "/*", ctl})
				t.echo(t.must(s.send(t.ctx, msg{"channel": "/meta/unsubscribe", "subscription": base + "/*"})), "/meta/unsubscribe", base+"/*")
				pub := t.open("")
				t.publish(pub, base+"/x", map[string]any{"n": 1})
				t.publish(pub, ctl, map[string]any{"control": true})
				t.control(s, ctl)
				if got := s.received(onChannel(base + "/x")); len(got) > 0 {
					t.Fatalf("received %s after unsubscribing from %s/*", clip(got[0].Raw), base)
				}
			}},
		{id: "subscribe.duplicate", section: secSubscribe, matrix: true, level: Convention, source: srcWild + " (CometD and Faye deliver each message once per session, whatever its subscriptions)",
			rule: "A session that subscribes twice to one channel receives one copy of each event",
			run: func(t *T) {
				s := t.open("")
				ch := t.channel()
				t.subscribe(s, ch)
				t.subscribe(s, ch)
				pub := t.open("")
				t.publish(pub, ch, map[string]any{"n": 1})
				t.publish(pub, ch, map[string]any{"control": true})
				t.controlOn(s, ch)
				if got := s.received(func(m raw.Msg) bool { return m.S("channel") == ch && !isControl(m) }); len(got) != 1 {
					t.Fatalf("received %d copies of one event", len(got))
				}
			}},
	}
}

func publishCases() []caseDef {
	return []caseDef{
		{id: "publish.reply", section: secPublish, matrix: true, level: Must, source: srcData + " (the publish response is optional for the server; when sent it MUST contain channel and successful)",
			rule: "A publish reply, when the server sends one, has the published channel and a boolean successful",
			run: func(t *T) {
				r := t.publishReply()
				if _, isBool := r.Bool("successful"); !isBool || r.S("channel") == "" {
					t.Fatalf("reply %s", clip(r.Raw))
				}
			}},
		{id: "publish.reply-id", section: secPublish, matrix: true, level: May, source: srcData + " (the publish response MAY contain id)",
			rule: "A publish reply carries the id of the publish",
			run: func(t *T) {
				if r := t.publishReply(); r.S("id") != "42" {
					t.Fatalf("the reply to the publish with id 42 does not carry it: %s", clip(r.Raw))
				}
			}},
		{id: "publish.reply-no-data", section: secPublish, matrix: true, level: Convention, source: srcFayeLog + " (Faye 1.3.0; the CometD JavaScript client tells a publish reply from an event by the absence of data)",
			rule: "A publish reply has no data (clients tell replies from events by it)",
			run: func(t *T) {
				if r := t.publishReply(); r.Has("data") {
					t.Fatalf("reply %s", clip(r.Raw))
				}
			}},
		{id: "publish.batched", section: secPublish, matrix: true, level: Must, source: srcFields + " (a server MUST accept an array of messages; a publish MAY share a request with anything but a handshake)",
			rule: "A publish batched with a subscribe and a connect in one request is processed: each gets its reply and the event reaches the subscriber",
			run: func(t *T) {
				sub := t.open("")
				ch := t.channel()
				t.subscribe(sub, ch)
				s := t.open("")
				ctx, cancel := context.WithTimeout(t.ctx, t.wait())
				defer cancel()
				x, err := s.send(ctx, msg{"channel": "/meta/subscribe", "subscription": t.channel()}, msg{"channel": ch, "data": map[string]any{"batched": true}},
					msg{"channel": "/meta/connect", "connectionType": s.transport, "advice": map[string]any{"timeout": 0}})
				x = t.must(x, err)
				for _, c := range []string{"/meta/subscribe", "/meta/connect"} {
					if _, ok := x.reply(c, ""); !ok {
						t.Fatalf("no reply on %s: %s", c, clip(x.body))
					}
				}
				if got := sub.await(t.ctx, onChannel(ch), 1, t.wait()); len(got) == 0 {
					t.Fatalf("the batched publish never reached the subscriber")
				}
			}},
		{id: "publish.event-fields", section: secPublish, matrix: true, level: Must, source: srcData,
			rule: "A delivered event has channel and data",
			run: func(t *T) {
				s := t.open("")
				ch := t.channel()
				t.subscribe(s, ch)
				t.publish(t.open(""), ch, map[string]any{"n": 1})
				got := s.await(t.ctx, func(m raw.Msg) bool { return m.S("channel") == ch || !m.Has("channel") }, 1, t.wait())
				if len(got) == 0 {
					t.Fatalf("no event arrived")
				}
				if !got[0].Has("data") || got[0].S("channel") != ch {
					t.Fatalf("event %s", clip(got[0].Raw))
				}
			}},
		{id: "publish.no-clientid-leak", section: secPublish, matrix: true, level: Must, source: srcClientID,
			rule: "A delivered event never carries the publisher's clientId",
			run: func(t *T) {
				s := t.open("")
				ch := t.channel()
				t.subscribe(s, ch)
				pub := t.open("")
				t.publish(pub, ch, map[string]any{"n": 1})
				got := s.await(t.ctx, onChannel(ch), 1, t.wait())
				if len(got) == 0 {
					t.Fatalf("no event arrived")
				}
				if got[0].Has("clientId") {
					t.Fatalf("event %s", clip(got[0].Raw))
				}
			}},
		{id: "publish.to-self", section: secPublish, matrix: true, level: Convention, source: srcCometDConf + " (broadcastToPublisher; Faye always)",
			rule: "A publisher subscribed to the channel receives its own message",
			run: func(t *T) {
				s := t.open("")
				ch := t.channel()
				t.subscribe(s, ch)
				t.publish(s, ch, map[string]any{"n": 1})
				if got := s.await(t.ctx, onChannel(ch), 1, t.wait()); len(got) == 0 {
					t.Fatalf("the publisher did not receive its own message")
				}
			}},
		{id: "publish.missing-data", section: secPublish, matrix: true, level: Should, source: srcData + " (data is a MUST of the publish, a duty of the client; the spec does not say what the server does without it)",
			rule: "A publish without data is refused (data is required)",
			run: func(t *T) {
				s := t.open("")
				ch := t.channel()
				x, err := s.send(t.ctx, msg{"channel": ch})
				if ok, seen := refused(x, err, ch); !ok {
					t.Fatalf("accepted: %s", seen)
				}
			}},
		{id: "publish.order", section: secPublish, matrix: true, level: Convention, source: specRef + " (no text in the specification; CometD MessageProcessingOrderTest, the CometD JavaScript batch documentation)",
			rule: "Messages of one client are delivered to a subscriber in publish order, in one batch and across requests",
			run: func(t *T) {
				s := t.open("")
				ch := t.channel()
				t.subscribe(s, ch)
				pub := t.open("")
				var batch []msg
				for i := range 10 {
					batch = append(batch, msg{"channel": ch, "data": map[string]any{"n": i}})
				}
				t.must(pub.send(t.ctx, batch...))
				for i := 10; i < 15; i++ {
					t.publish(pub, ch, map[string]any{"n": i})
				}
				got := s.await(t.ctx, onChannel(ch), 15, t.wait())
				var ns []int
				for _, m := range got {
					n, _ := m.Member("data", "n")
					v, _ := strconv.Atoi(string(n))
					ns = append(ns, v)
				}
				if len(ns) != 15 || !slices.IsSorted(ns) {
					t.Fatalf("received %v", ns)
				}
			}},
		{id: "publish.data-shapes", section: secPublish, matrix: true, level: Convention, source: srcData + " (CometD and Faye deliver any JSON value)",
			rule: "A delivered event keeps the publisher's data exactly, whatever its shape (object, array, string, number)",
			run: func(t *T) {
				s := t.open("")
				ch := t.channel()
				t.subscribe(s, ch)
				datas := []any{map[string]any{"a": []any{1.0, "x", nil}}, []any{1.0, 2.0}, "text", 12.5}
				pub := t.open("")
				for _, d := range datas {
					t.publish(pub, ch, d)
				}
				got := s.await(t.ctx, onChannel(ch), len(datas), t.wait())
				if len(got) != len(datas) {
					t.Fatalf("received %d of %d events", len(got), len(datas))
				}
				for i, d := range datas {
					want, _ := json.Marshal(d)
					if !jsonEqual(got[i].Fields["data"], want) {
						t.Fatalf("sent %s, received %s", want, got[i].Fields["data"])
					}
				}
			}},
	}
}

// publishReply publishes with id 42 and returns the reply; the case is
// skipped when the server sends none over HTTP (it is optional there).
func (t *T) publishReply() raw.Msg {
	s := t.open("")
	ch := t.channel()
	x := t.must(s.send(t.ctx, msg{"channel": ch, "data": map[string]any{"n": 1}, "id": "42"}))
	r, ok := x.reply(ch, "")
	if !ok {
		if s.transport != WebSocket && len(x.replies) == 0 {
			t.Skipf("no publish reply (optional for the server)")
		}
		t.Fatalf("no reply on %s: %s", ch, clip(x.body))
	}
	return r
}
