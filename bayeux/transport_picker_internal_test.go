package bayeux

import (
	"log/slog"
	"testing"
	"time"
)

// A refused transport is left aside for TransportRetry, doubled on each
// consecutive refusal up to maxTransportRetryFactor times (the value
// docs/concepts.md, docs/design.md and docs/transports.md state is checked
// against it by the docs package's TestDocsClaims).
func TestTransportRetryDoublesUpToTheCap(t *testing.T) {
	const retry = time.Second
	now := time.Unix(1e9, 0)
	p := &transportPicker{
		c:     &Client{opts: Options{TransportRetry: retry}, log: slog.New(slog.DiscardHandler)},
		names: []string{ConnectionTypeWebSocket}, until: make([]time.Time, 1), refusals: make([]int, 1),
		now: func() time.Time { return now },
	}
	want := retry
	for refusal := 1; refusal <= 8; refusal++ {
		p.refusedAt(0)
		if got := p.until[0].Sub(now); got != want {
			t.Errorf("refusal %d: left aside for %v, want %v", refusal, got, want)
		}
		want = min(2*want, maxTransportRetryFactor*retry)
	}
}
