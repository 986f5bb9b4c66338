package bayeux_test

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/bayeux-go/sdk/bayeux"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// FuzzAdvice feeds arbitrary JSON to Advice.UnmarshalJSON: it either fails
// with a *DecodeError or gives advice that encodes and decodes back to
// itself, merges idempotently, and whose durations keep the sign of their
// milliseconds (no overflow).
func FuzzAdvice(f *testing.F) {
	for _, s := range []string{
		`{}`, `null`, `{"reconnect":"retry","interval":0,"timeout":30000}`,
		`{"reconnect":"handshake","interval":500}`, `{"reconnect":"none"}`,
		`{"timeout":2147483648}`, `{"timeout":-2147483648}`, `{"interval":1e300}`,
		`{"interval":-1}`, `{"maxInterval":60000.5}`, `{"timeout":"30000"}`,
		`{"hosts":["a.example","b.example:8080"],"multiple-clients":true}`,
		`{"hosts":[1]}`, `{"reconnect":"sideways"}`, `[]`, `{"timeout":1,"timeout":2}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var a bayeux.Advice
		if err := json.Unmarshal(b, &a); err != nil {
			var de *bayeux.DecodeError
			var se *json.SyntaxError
			if !errors.As(err, &de) && !errors.As(err, &se) {
				t.Fatalf("Unmarshal(%q): %T %v, want a *DecodeError", b, err, err)
			}
			return
		}
		for _, ms := range []int{a.Timeout, a.Interval, a.MaxInterval} {
			if ms < -(1<<31) || ms > 1<<31 {
				t.Fatalf("Unmarshal(%q): %d ms out of range", b, ms)
			}
		}
		for _, p := range []struct {
			ms int
			d  int64
		}{{a.Timeout, int64(a.TimeoutAsDuration())}, {a.Interval, int64(a.IntervalAsDuration())}, {a.MaxInterval, int64(a.MaxIntervalAsDuration())}} {
			if (p.ms < 0) != (p.d < 0) || (p.ms == 0) != (p.d == 0) {
				t.Fatalf("Unmarshal(%q): %d ms became %d ns", b, p.ms, p.d)
			}
		}
		enc, err := json.Marshal(a)
		if err != nil {
			t.Fatalf("Marshal(%+v): %v", a, err)
		}
		var back bayeux.Advice
		if err := json.Unmarshal(enc, &back); err != nil {
			t.Fatalf("Unmarshal(Marshal(%q) = %s): %v", b, enc, err)
		}
		eq := cmp.Options{cmp.AllowUnexported(bayeux.Advice{}), cmpopts.EquateEmpty()}
		if diff := cmp.Diff(a, back, eq); diff != "" {
			t.Fatalf("round trip of %q through %s (-first +second):\n%s", b, enc, diff)
		}
		var base bayeux.Advice
		base.SetTimeout(30000)
		once := base.Merge(&a)
		if diff := cmp.Diff(once, once.Merge(&a), eq); diff != "" {
			t.Fatalf("Merge of %q is not idempotent:\n%s", b, diff)
		}
		_ = once.MustNotRetryOrHandshake()
		_ = once.ShouldHandshake()
		_ = once.ShouldRetry()
	})
}
