package conformance

import (
	"slices"
	"strings"

	"github.com/bayeux-go/sdk/conformance/internal/raw"
)

// invalidNames are channel names the grammar forbids (relative to a valid
// base channel b).
func invalidNames(b string) []string {
	return []string{"foo" + strings.ReplaceAll(b, "/", ""), b + "//x", b + "/*/x", b + "/**/x", b + "/x<y>", b + "/"}
}

// checkRefusedEach sends one message per name, each from a fresh session
// (some servers stop working for a session after a refused name), and
// reports names that were accepted.
func (t *T) checkRefusedEach(names []string, build func(name string) msg, replyChannel func(name string) string) {
	var accepted []string
	for _, n := range names {
		s := t.open("")
		x, err := s.send(t.ctx, build(n))
		if ok, seen := refused(x, err, replyChannel(n)); !ok {
			accepted = append(accepted, n+" -> "+seen)
		}
	}
	if len(accepted) > 0 {
		t.Fatalf("accepted: %s", strings.Join(accepted, "; "))
	}
}

// deliveries subscribes a fresh session to patterns, publishes on each of
// names from another session, then on a marker channel, and returns the
// channels received in order (the marker excluded).
func (t *T) deliveries(patterns []string, names []string, marker string) []string {
	sub := t.open("")
	t.subscribe(sub, append(slices.Clone(patterns), marker))
	pub := t.open("")
	for _, n := range names {
		t.publish(pub, n, map[string]any{"to": n})
	}
	t.publish(pub, marker, map[string]any{"marker": true})
	t.control(sub, marker)
	var got []string
	for _, m := range sub.received(func(m raw.Msg) bool { return m.S("channel") != marker }) {
		got = append(got, m.S("channel"))
	}
	return got
}

func channelCases() []caseDef {
	return []caseDef{
		{id: "channels.invalid-subscribe", section: secChannels, matrix: true, level: Grammar, source: srcChannel,
			rule: "Subscribing to an invalid channel name (no leading /, empty segment, wildcard not last, < or >) is refused",
			run: func(t *T) {
				t.checkRefusedEach(invalidNames(t.channel()),
					func(n string) msg { return msg{"channel": "/meta/subscribe", "subscription": n} },
					func(string) string { return "/meta/subscribe" })
			}},
		{id: "channels.invalid-unsubscribe", section: secChannels, matrix: true, level: Grammar, source: srcChannel,
			rule: "Unsubscribing from an invalid channel name is refused",
			run: func(t *T) {
				t.checkRefusedEach(invalidNames(t.channel()),
					func(n string) msg { return msg{"channel": "/meta/unsubscribe", "subscription": n} },
					func(string) string { return "/meta/unsubscribe" })
			}},
		{id: "channels.invalid-publish", section: secChannels, matrix: true, level: Grammar, source: srcChannel,
			rule: "Publishing to an invalid channel name is refused",
			run: func(t *T) {
				b := t.channel()
				t.checkRefusedEach([]string{b + "//x", b + "/x<y>", b + "/"},
					func(n string) msg { return msg{"channel": n, "data": map[string]any{}} },
					func(n string) string { return n })
			}},
		{id: "channels.wildcard-publish", section: secChannels, matrix: true, level: Grammar, source: srcWild,
			rule: "Publishing to a wildcard channel (/a/* or /a/**) is refused: patterns are for subscriptions",
			run: func(t *T) {
				b := t.channel()
				t.checkRefusedEach([]string{b + "/*", b + "/**"},
					func(n string) msg { return msg{"channel": n, "data": map[string]any{}} },
					func(n string) string { return n })
			}},
		{id: "channels.star", section: secChannels, matrix: true, level: Must, source: srcWild,
			rule: "/a/* matches exactly one more segment: /a/b, not /a, /ab or /a/b/c",
			run: func(t *T) {
				b := t.channel()
				got := t.deliveries([]string{b + "/*"}, []string{b, b + "x", b + "/b", b + "/b/c"}, t.channel())
				if !slices.Equal(got, []string{b + "/b"}) {
					t.Fatalf("subscribed to %s/*, received %v (want only %s/b)", b, got, b)
				}
			}},
		{id: "channels.starstar", section: secChannels, matrix: true, level: Must, source: srcWild,
			rule: "/a/** matches one or more segments: /a/b and /a/b/c, not /a or /ab/c",
			run: func(t *T) {
				b := t.channel()
				got := t.deliveries([]string{b + "/**"}, []string{b, b + "x/c", b + "/b", b + "/b/c"}, t.channel())
				if !slices.Equal(got, []string{b + "/b", b + "/b/c"}) {
					t.Fatalf("subscribed to %s/**, received %v (want %s/b and %s/b/c)", b, got, b, b)
				}
			}},
		{id: "channels.root-starstar", section: secChannels, matrix: true, level: Must, source: srcWild,
			rule: "/** matches every channel, at any depth",
			run: func(t *T) {
				b := t.channel()
				sub := t.open("")
				t.subscribe(sub, "/**")
				pub := t.open("")
				t.publish(pub, b+"/x/y/z", map[string]any{"deep": true})
				if len(sub.await(t.ctx, onChannel(b+"/x/y/z"), 1, t.wait())) == 0 {
					t.Fatalf("subscribed to /**, did not receive %s/x/y/z", b)
				}
			}},
		{id: "channels.one-copy", section: secChannels, matrix: true, level: Convention, source: srcWild + " (CometD and Faye deliver once per session)",
			rule: "A session subscribed through several matching patterns (/a/*, /a/**, /a/b) receives one copy of each event",
			run: func(t *T) {
				b := t.channel()
				got := t.deliveries([]string{b + "/*", b + "/**", b + "/b"}, []string{b + "/b"}, t.channel())
				if len(got) != 1 {
					t.Fatalf("received %d copies of one event on %s/b", len(got), b)
				}
			}},
		{id: "channels.grammar-marks", section: secChannels, matrix: true, level: Grammar, source: srcChannel,
			rule: "Channel segments may use every mark of the grammar (- _ ! ~ ( ) $ @)",
			run: func(t *T) {
				b := t.channel()
				name := b + "/a-b_c!d~e(f)g$h@i"
				got := t.deliveries([]string{name}, []string{name}, t.channel())
				if len(got) != 1 {
					t.Fatalf("subscribed and published to %s, received %v", name, got)
				}
			}},
	}
}
