package interop

import (
	"context"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/bayeux-go/sdk/conformance"
)

// knownDeviations are the cases each server does not pass, with the status
// they get; docs/conformance.md explains each one with the evidence. A new
// failure or warning, or a deviation that goes away, fails the test.
var knownDeviations = map[string]map[string]conformance.Status{
	"faye": {
		"meta.service-not-broadcast": conformance.Fail,
		"handshake.batch-ignored":    conformance.Fail,
		"connect.one-outstanding":    conformance.Fail,
		"fields.message-id-grammar":  conformance.Warn,
		"handshake.browser-cookie":   conformance.Warn,
		"connect.first-immediate":    conformance.Warn,
		"connect.piggyback":          conformance.Warn,
		"connect.batched-not-held":   conformance.Warn,
		"session.unknown-publish":    conformance.Warn,
		"robust.prototype-data":      conformance.Warn,
		"robust.jsonp-callback":      conformance.Warn,
		"robust.oversized":           conformance.Warn,
	},
	"cometd": {
		"channels.invalid-subscribe":   conformance.Fail,
		"channels.invalid-unsubscribe": conformance.Fail,
		"channels.invalid-publish":     conformance.Fail,
		"channels.wildcard-publish":    conformance.Fail,
		"handshake.no-common-type":     conformance.Fail,
		"connect.missing-type":         conformance.Fail,
		"publish.missing-data":         conformance.Fail,
		"callback-polling.offered":     conformance.Warn,
		"fields.message-id-grammar":    conformance.Warn,
		"channels.one-copy":            conformance.Warn,
		"handshake.missing-version":    conformance.Warn,
		"handshake.missing-types":      conformance.Warn,
		"connect.unknown-type":         conformance.Warn,
		"connect.first-immediate":      conformance.Warn,
		"robust.oversized":             conformance.Warn,
	},
}

// TestConformance runs the conformance suite against Faye and
// cometd-nodejs-server and compares what they do not pass with the known
// deviations.
func TestConformance(t *testing.T) {
	for _, kind := range []string{"faye", "cometd"} {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			p := startPeer(t, kind, "COMETD_MAX_INTERVAL=3000")
			rep, err := conformance.Run(context.Background(), p.URL())
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]conformance.Status{}
			for _, r := range rep.Results {
				if r.Status == conformance.Fail || r.Status == conformance.Warn {
					got[r.ID] = r.Status
					if knownDeviations[kind][r.ID] != r.Status {
						t.Errorf("new deviation %s %s: %s", r.ID, r.Status, r.Seen)
					}
				}
			}
			for id, st := range knownDeviations[kind] {
				if got[id] != st {
					r, _ := rep.Result(id)
					t.Errorf("known deviation %s (%s) is now %s: %s", id, st, r.Status, r.Seen)
				}
			}
			p.checkAlive(t)
			if t.Failed() || verbose {
				var b strings.Builder
				_ = rep.WriteText(&b)
				t.Logf("report:\n%s", b.String())
			}
			t.Logf("%s: %d cases in %s; deviations %v", kind, len(rep.Results), rep.Duration, slices.Sorted(maps.Keys(got)))
		})
	}
}
