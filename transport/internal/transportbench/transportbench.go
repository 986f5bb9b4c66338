package transportbench

import (
	"context"
	"fmt"
	"runtime"
	"testing"

	"github.com/bayeux-go/sdk/bayeux"
)

// SalesforceReply returns the JSON array of a /meta/connect reply (id
// "42") followed by n platform events of about 250 bytes each, the way
// Salesforce delivers them.
func SalesforceReply(n int) []byte {
	b := []byte(`[{"clientId":"4n1h2rqbn7oxhnbj6v5x2w3ib","channel":"/meta/connect","id":"42","successful":true}`)
	for i := range n {
		b = fmt.Appendf(b, `,{"data":{"schema":"t2xJ8DcqG0TZ3rW7mbsRqA","payload":{"CreatedDate":"2024-05-01T12:00:%02d.000Z",`+
			`"CreatedById":"005xx000001SvVdAAK","Order_Number__c":"ORD-%07d","Amount__c":%d.50,"Status__c":"Shipped"},`+
			`"event":{"replayId":%d}},"channel":"/event/Order__e"}`, i%60, i, i*3, 1000000+i)
	}
	return append(b, ']')
}

// ConnectBatch is the /meta/connect (id "42") the benchmarks send.
func ConnectBatch(connectionType string) []bayeux.Message {
	return []bayeux.Message{{ID: "42", Channel: bayeux.MetaConnect, ClientID: "4n1h2rqbn7oxhnbj6v5x2w3ib", ConnectionType: connectionType}}
}

// MeasureRoundTrip runs tr.RoundTrip of batch against url b.N times, each
// answered with events events and the reply (replyBytes long), and
// reports ns/msg and allocs/msg per delivered event.
func MeasureRoundTrip(b *testing.B, tr bayeux.Transport, url string, batch []bayeux.Message, events, replyBytes int) {
	b.Helper()
	ctx := context.Background()
	if out, err := tr.RoundTrip(ctx, url, batch); err != nil || len(out) != events+1 {
		b.Fatalf("RoundTrip = %d messages, %v", len(out), err)
	}
	b.SetBytes(int64(replyBytes))
	b.ReportAllocs()
	var ms0, ms1 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	b.ResetTimer()
	for b.Loop() {
		out, err := tr.RoundTrip(ctx, url, batch)
		if err != nil || len(out) != events+1 {
			b.Fatalf("RoundTrip = %d messages, %v", len(out), err)
		}
	}
	b.StopTimer()
	runtime.ReadMemStats(&ms1)
	msgs := float64(b.N) * float64(events)
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/msgs, "ns/msg")
	b.ReportMetric(float64(ms1.Mallocs-ms0.Mallocs)/msgs, "allocs/msg")
}
