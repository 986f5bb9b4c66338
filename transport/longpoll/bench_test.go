package longpoll

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"testing"

	"github.com/bayeux-go/sdk/bayeux"
	"github.com/bayeux-go/sdk/transport/internal/transportbench"
)

// salesforceEvents returns a /meta/connect reply followed by n platform
// events of about 250 bytes each, the way Salesforce delivers them.
func salesforceEvents(n int) []byte { return transportbench.SalesforceReply(n) }

// BenchmarkRoundTrip measures the cost per delivered message of a
// long-polling response carrying 500 events of ~250 bytes: the HTTP
// exchange with an in-process server, reading the body and
// bayeux.DecodeMessages. ns/msg and allocs/msg are reported per message
// (the allocation count includes the in-process server's).
func BenchmarkRoundTrip(b *testing.B) {
	const events = 500
	body := salesforceEvents(events)
	for _, chunked := range []bool{false, true} {
		name := "content-length"
		if chunked {
			name = "chunked"
		}
		b.Run(name, func(b *testing.B) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if !chunked {
					w.Header().Set("Content-Length", strconv.Itoa(len(body)))
				}
				w.Header().Set("Content-Type", "application/json;charset=UTF-8")
				_, _ = w.Write(body)
			}))
			defer srv.Close()
			tr := New()
			if err := tr.Init(bayeux.TransportConfig{HTTPClient: srv.Client(), Logger: slog.New(slog.DiscardHandler)}); err != nil {
				b.Fatal(err)
			}
			defer tr.Close()
			transportbench.MeasureRoundTrip(b, tr, srv.URL, transportbench.ConnectBatch(bayeux.ConnectionTypeLongPolling), events, len(body))
		})
	}
}

// BenchmarkDecodeOnly is the bayeux.DecodeMessages share of
// BenchmarkRoundTrip: the same body, decoded without HTTP. The difference
// between the two is the transport's own cost.
func BenchmarkDecodeOnly(b *testing.B) {
	const events = 500
	body := salesforceEvents(events)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	var ms0, ms1 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	for b.Loop() {
		out, err := bayeux.DecodeMessages(body)
		if err != nil || len(out) != events+1 {
			b.Fatalf("DecodeMessages = %d messages, %v", len(out), err)
		}
	}
	runtime.ReadMemStats(&ms1)
	msgs := float64(b.N) * events
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/msgs, "ns/msg")
	b.ReportMetric(float64(ms1.Mallocs-ms0.Mallocs)/msgs, "allocs/msg")
}
