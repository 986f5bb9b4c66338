package longpoll

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"testing"

	"github.com/bayeux-go/sdk/bayeux"
)

// salesforceEvents returns a /meta/connect reply followed by n platform
// events of about 250 bytes each, the way Salesforce delivers them.
func salesforceEvents(n int) []byte {
	b := []byte(`[{"clientId":"4n1h2rqbn7oxhnbj6v5x2w3ib","channel":"/meta/connect","id":"42","successful":true}`)
	for i := 0; i < n; i++ {
		b = fmt.Appendf(b, `,{"data":{"schema":"t2xJ8DcqG0TZ3rW7mbsRqA","payload":{"CreatedDate":"2024-05-01T12:00:%02d.000Z",`+
			`"CreatedById":"005xx000001SvVdAAK","Order_Number__c":"ORD-%07d","Amount__c":%d.50,"Status__c":"Shipped"},`+
			`"event":{"replayId":%d}},"channel":"/event/Order__e"}`, i%60, i, i*3, 1000000+i)
	}
	return append(b, ']')
}

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
			batch := []bayeux.Message{{ID: "42", Channel: bayeux.MetaConnect, ClientID: "4n1h2rqbn7oxhnbj6v5x2w3ib", ConnectionType: "long-polling"}}
			ctx := context.Background()
			if out, err := tr.RoundTrip(ctx, srv.URL, batch); err != nil || len(out) != events+1 {
				b.Fatalf("RoundTrip = %d messages, %v", len(out), err)
			}
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			var ms0, ms1 runtime.MemStats
			runtime.ReadMemStats(&ms0)
			b.ResetTimer()
			for b.Loop() {
				out, err := tr.RoundTrip(ctx, srv.URL, batch)
				if err != nil || len(out) != events+1 {
					b.Fatalf("RoundTrip = %d messages, %v", len(out), err)
				}
			}
			b.StopTimer()
			runtime.ReadMemStats(&ms1)
			msgs := float64(b.N) * events
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/msgs, "ns/msg")
			b.ReportMetric(float64(ms1.Mallocs-ms0.Mallocs)/msgs, "allocs/msg")
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
