package conformance

import (
	"strings"

	"github.com/bayeux-go/sdk/conformance/internal/raw"
)

func metaCases() []caseDef {
	return []caseDef{
		{id: "meta.publish-refused", section: secMeta, matrix: true, level: Must, source: srcMetaChans,
			rule: "A remote publish to an unknown /meta channel (/meta/foo) is refused",
			run: func(t *T) {
				s := t.open("")
				x, err := s.send(t.ctx, msg{"channel": "/meta/conformance" + t.e.run, "data": map[string]any{}})
				if ok, seen := refused(x, err, ""); !ok {
					t.Fatalf("publish to /meta/conformance%s accepted: %s", t.e.run, seen)
				} else {
					t.Logf("%s", seen)
				}
			}},
		{id: "meta.not-delivered", section: secMeta, matrix: true, level: Must, source: srcMetaChans,
			rule: "Messages on /meta channels are never delivered to remote clients, not even to a /** subscriber",
			run: func(t *T) {
				sub := t.open("")
				t.subscribe(sub, "/**")
				other := t.open("")
				ch := t.channel()
				t.subscribe(other, ch)
				t.publish(other, ch, map[string]any{"n": 1})
				other.await(t.ctx, onChannel(ch), 1, t.wait())
				t.control(sub, ch)
				metas := sub.received(func(m raw.Msg) bool { return strings.HasPrefix(m.S("channel"), "/meta/") })
				if len(metas) > 0 {
					t.Fatalf("a /** subscriber received /meta messages as events: %s", clip(metas[0].Raw))
				}
			}},
		{id: "meta.lookalike-subscribe", section: secMeta, matrix: true, level: Must, source: srcFayeCVE,
			rule: "Look-alikes of /meta channels (/meta/subscribe/x, /meta/subscribex, /meta/connectx) are not treated as the meta operation: a subscription sent on them is not made",
			run: func(t *T) {
				for _, look := range []string{"/meta/subscribe/x", "/meta/subscribex", "/meta/subscribe/", "/meta/connectx"} {
					s := t.open("")
					ch, ctl := t.channel(), t.channel()
					t.subscribe(s, ctl)
					x, err := s.send(t.ctx, msg{"channel": look, "subscription": ch, "data": map[string]any{}})
					pub := t.open("")
					t.publish(pub, ch, map[string]any{"n": 1})
					t.publish(pub, ctl, map[string]any{"control": true})
					t.control(s, ctl)
					if got := s.received(onChannel(ch)); len(got) > 0 {
						t.Fatalf("a message on %s subscribed the session to %s", look, ch)
					}
					if err == nil && x.err == nil {
						if r, ok := x.reply(look, ""); ok && r.Successful() {
							t.Fatalf("a message on %s was answered successfully: %s", look, clip(r.Raw))
						}
					}
				}
			}},
		{id: "meta.lookalike-publish", section: secMeta, matrix: true, level: Must, source: srcFayeCVE,
			rule: "A publish to a /meta look-alike (/meta/connectx, /meta/handshake/x) is refused",
			run: func(t *T) {
				s := t.open("")
				for _, look := range []string{"/meta/connectx", "/meta/handshake/x"} {
					x, err := s.send(t.ctx, msg{"channel": look, "data": map[string]any{}})
					if ok, seen := refused(x, err, ""); !ok {
						t.Fatalf("publish to %s accepted: %s", look, seen)
					}
				}
			}},
		{id: "meta.subscribe-refused", section: secMeta, matrix: true, level: Should, source: srcMetaChans,
			rule: "A remote subscription to /meta channels (/meta/connect, /meta/*) is refused",
			run: func(t *T) {
				t.checkRefusedEach([]string{"/meta/connect", "/meta/*", "/meta/**"},
					func(n string) msg { return msg{"channel": "/meta/subscribe", "subscription": n} },
					func(string) string { return "/meta/subscribe" })
			}},
		{id: "meta.service-not-recorded", section: secMeta, matrix: true, level: Should, source: srcServiceChan,
			rule: "A subscription to a /service channel is not recorded (it may be refused): the subscriber gets nothing published there",
			run: func(t *T) {
				ch, ctl := "/service"+t.channel(), t.channel()
				sub := t.open("")
				t.subscribe(sub, ctl)
				x := t.must(sub.send(t.ctx, msg{"channel": "/meta/subscribe", "subscription": ch}))
				if r, ok := x.reply("/meta/subscribe", ""); ok {
					t.Logf("subscribe reply: %s", clip(r.Raw))
				}
				pub := t.open("")
				t.must(pub.send(t.ctx, msg{"channel": ch, "data": map[string]any{"n": 1}}))
				t.publish(pub, ctl, map[string]any{"control": true})
				t.control(sub, ctl)
				if got := sub.received(onChannel(ch)); len(got) > 0 {
					t.Fatalf("the /service subscriber received another client's message: %s", clip(got[0].Raw))
				}
			}},
		{id: "meta.service-not-broadcast", section: secMeta, matrix: true, level: Must, source: srcServiceChan,
			rule: "Messages published to /service channels are not broadcast, not even to a /** subscriber",
			run: func(t *T) {
				ch, ctl := "/service"+t.channel(), t.channel()
				sub := t.open("")
				t.subscribe(sub, "/**")
				pub := t.open("")
				t.must(pub.send(t.ctx, msg{"channel": ch, "data": map[string]any{"n": 1}}))
				t.publish(pub, ctl, map[string]any{"control": true})
				t.control(sub, ctl)
				if got := sub.received(onChannel(ch)); len(got) > 0 {
					t.Fatalf("a /** subscriber received a /service message: %s", clip(got[0].Raw))
				}
			}},
	}
}
