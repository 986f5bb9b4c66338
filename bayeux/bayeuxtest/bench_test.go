package bayeuxtest_test

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/bayeux-go/sdk/bayeux"
	"github.com/bayeux-go/sdk/bayeux/bayeuxtest"
)

// BenchmarkConnectReply500 measures the server side of a /meta/connect
// reply carrying 500 events of about 250 bytes: server publish, queueing,
// encoding into one buffer and the HTTP round trip. One op is one event.
func BenchmarkConnectReply500(b *testing.B) {
	const batch = 500
	srv := bayeuxtest.NewServer(bayeuxtest.WithReceivedLimit(-1))
	defer srv.Close()
	c := srv.Client()
	post := func(body string) []byte {
		resp, err := c.Post(srv.URL, "application/json", strings.NewReader(body))
		if err != nil {
			b.Fatal(err)
		}
		defer resp.Body.Close()
		out, err := io.ReadAll(resp.Body)
		if err != nil {
			b.Fatal(err)
		}
		return out
	}
	msgs, _ := bayeux.DecodeMessages(post(`[{"channel":"/meta/handshake","version":"1.0","supportedConnectionTypes":["long-polling"]}]`))
	id := msgs[0].ClientID
	post(fmt.Sprintf(`[{"channel":"/meta/subscribe","clientId":%q,"subscription":"/event/Order_Event__e"}]`, id))
	connect := fmt.Sprintf(`[{"channel":"/meta/connect","clientId":%q,"connectionType":"long-polling","advice":{"timeout":0}}]`, id)
	events := make([]json.RawMessage, batch)
	for i := range events {
		events[i] = json.RawMessage(fmt.Sprintf(`{"schema":"dffQ2QLzDNHqwB8_sHMxdA","payload":{"CreatedDate":"2026-11-26T10:00:00.000Z","CreatedById":"005xx000001X8UzAAK","Order_Number__c":"ON-%06d","Amount__c":1234.5,"Status__c":"Shipped"},"event":{"replayId":%d}}`, i, i))
	}
	b.ReportAllocs()
	b.ResetTimer()
	var bytes int
	for done := 0; done < b.N; done += batch {
		for _, ev := range events {
			if err := srv.Publish("/event/Order_Event__e", ev); err != nil {
				b.Fatal(err)
			}
		}
		bytes += len(post(connect))
	}
	b.ReportMetric(float64(bytes)/float64(b.N), "B/event")
}
