package conformance_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/bayeux-go/sdk/bayeux/bayeuxtest"
	"github.com/bayeux-go/sdk/conformance"
)

// A server that changes delivered data over websocket only passed a run
// that did not name -transport websocket: every case that applies to
// several transports ran over long-polling alone. It now runs on each
// transport the server offers, and the report groups each section's
// results by transport.
func TestTransportMatrix(t *testing.T) {
	t.Parallel()
	wsNumbersAsStrings := mis(bayeuxtest.Misbehaviour{WebSocketFrame: func(b []byte) []byte {
		return bytes.ReplaceAll(b, []byte(`"n":1.5`), []byte(`"n":"1.5"`))
	}})
	u := serve(t, wsNumbersAsStrings)
	rep, err := conformance.Run(context.Background(), u, conformance.WithCases("fields.unicode", "handshake.success"), conformance.WithMaxWait(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]conformance.Status{
		conformance.LongPolling:     conformance.Pass,
		conformance.CallbackPolling: conformance.Pass,
		conformance.WebSocket:       conformance.Fail,
	}
	for tr, st := range want {
		r, ok := rep.ResultOn("fields.unicode", tr)
		if !ok || r.Status != st {
			t.Errorf("fields.unicode over %s: %v %s (%s), want %s", tr, ok, r.Status, r.Seen, st)
		}
	}
	if r, _ := rep.Result("handshake.success"); r.Transport != "" {
		t.Errorf("handshake.success, a long-polling case, ran on %q", r.Transport)
	}
	if len(rep.Results) != 4 {
		t.Errorf("%d results, want 4 (fields.unicode on three transports, handshake.success)", len(rep.Results))
	}
	var b strings.Builder
	if err := rep.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	lp, cp, ws := strings.Index(out, "  over long-polling\n"), strings.Index(out, "  over callback-polling\n"), strings.Index(out, "  over websocket\n")
	fail := strings.Index(out, "FAIL  MUST        fields.unicode")
	if lp < 0 || !(lp < cp && cp < ws && ws < fail) || strings.Count(out, "\nMessages and fields\n") != 1 {
		t.Errorf("want the section once, then its results by transport, the websocket failure last:\n%s", out)
	}
	if !strings.Contains(out, "MUST rules broken: fields.unicode [websocket]") {
		t.Errorf("the result line does not name the transport:\n%s", out)
	}
	// Narrowed by WithTransports, a matrix case runs on those only.
	rep, err = conformance.Run(context.Background(), u, conformance.WithCases("fields.unicode"), conformance.WithTransports(conformance.LongPolling))
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Results) != 1 || rep.Results[0].Transport != conformance.LongPolling || rep.Results[0].Status != conformance.Pass {
		t.Errorf("narrowed to long-polling: %+v", rep.Results)
	}
}
