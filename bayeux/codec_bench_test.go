package bayeux

import (
	"encoding/json"
	"runtime"
	"strconv"
	"testing"
)

// codecEvent is a Salesforce-sized platform event (about 250 bytes) with
// n in its order number and replay id.
func codecEvent(dst []byte, n int) []byte {
	dst = append(dst, `{"channel":"/event/Order_Event__e","data":{"schema":"dffQ2QLzDNHqwB8_sHMxdA","payload":{"CreatedDate":"2026-11-26T10:00:00Z","CreatedById":"005xx000001X8Uz","Order_Number__c":"ON-`...)
	dst = append(dst, strconv.Itoa(100000+n%900000)...)
	dst = append(dst, `","Amount__c":1234.5,"Note__c":"caf\u00e9 \"quoted\""},"event":{"replayId":`...)
	dst = strconv.AppendInt(dst, int64(12345+n), 10)
	return append(dst, `}}}`...)
}

// codecConnectReply is the /meta/connect reply that comes with the events.
const codecConnectReply = `{"clientId":"4r1b9wy9p1bpjmg1x2z3lq0mcnm1lq","channel":"/meta/connect","id":"27","successful":true,"advice":{"interval":0,"timeout":110000,"reconnect":"retry"}}`

// codecSalesforcePayload is a /meta/connect response body: n events and
// the connect reply.
func codecSalesforcePayload(n int) []byte {
	b := []byte{'['}
	for i := 0; i < n; i++ {
		b = codecEvent(b, i)
		b = append(b, ',')
	}
	b = append(b, codecConnectReply...)
	return append(b, ']')
}

const codecBenchEvents = 500

// reportPerMessage reports ns/msg and allocs/msg for b.N payloads of
// codecBenchEvents delivered messages each; mallocs is the malloc count
// read before the timed loop.
func reportPerMessage(b *testing.B, mallocs uint64) {
	b.StopTimer()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	msgs := float64(b.N) * codecBenchEvents
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/msgs, "ns/msg")
	b.ReportMetric(float64(ms.Mallocs-mallocs)/msgs, "allocs/msg")
}

func mallocCount() uint64 {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.Mallocs
}

func benchmarkDecode(b *testing.B, decode func([]byte) ([]Message, error)) {
	benchmarkDecodeBody(b, codecSalesforcePayload(codecBenchEvents), decode)
}

// benchmarkDecodeBody decodes body, which holds codecBenchEvents events
// and a reply, b.N times.
func benchmarkDecodeBody(b *testing.B, body []byte, decode func([]byte) ([]Message, error)) {
	if msgs, err := decode(body); err != nil || len(msgs) != codecBenchEvents+1 {
		b.Fatalf("decode: %d messages, %v", len(msgs), err)
	}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	mallocs := mallocCount()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := decode(body); err != nil {
			b.Fatal(err)
		}
	}
	reportPerMessage(b, mallocs)
}

// BenchmarkDecodeMessages decodes a /meta/connect response of 500
// Salesforce-sized events and the connect reply with DecodeMessages.
func BenchmarkDecodeMessages(b *testing.B) { benchmarkDecode(b, DecodeMessages) }

// plainEvent is the event of bench/compare and BenchmarkLongPollDelivery:
// a Salesforce Platform Event of about 250 bytes without escapes.
func plainEvent(dst []byte, n int) []byte {
	dst = append(dst, `{"channel":"/event/Order__e","data":{"schema":"dffQ2QLzDNHqwB8_sHMxdA",`+
		`"payload":{"CreatedDate":"2026-11-28T10:00:00.000Z","CreatedById":"005xx000001X8UzAAK",`+
		`"Order_Number__c":"ON-`...)
	dst = append(dst, strconv.Itoa(100000+n%900000)...)
	dst = append(dst, `","Amount__c":1234.5,"Status__c":"Shipped"},"event":{"replayId":`...)
	dst = strconv.AppendInt(dst, int64(n+1), 10)
	return append(dst, `}}}`...)
}

// BenchmarkDecodePlain decodes a /meta/connect response of 500 events as
// bench/compare's canned server sends them (no escapes in any string).
func BenchmarkDecodePlain(b *testing.B) {
	body := []byte{'['}
	for i := 0; i < codecBenchEvents; i++ {
		body = plainEvent(body, i)
		body = append(body, ',')
	}
	body = append(append(body, codecConnectReply...), ']')
	benchmarkDecodeBody(b, body, DecodeMessages)
}

// BenchmarkDecodeMessagesStd decodes the same payload with the
// encoding/json reference implementation, for comparison.
func BenchmarkDecodeMessagesStd(b *testing.B) { benchmarkDecode(b, decodeMessagesStd) }

// BenchmarkDecodeMessagesFast measures the fast decoder directly, whatever
// DecodeMessages is wired to.
func BenchmarkDecodeMessagesFast(b *testing.B) { benchmarkDecode(b, decodeMessages) }

// BenchmarkDecodeSmall decodes a typical one-reply body (a publish
// acknowledgement).
func BenchmarkDecodeSmall(b *testing.B) {
	body := []byte(`[{"id":"12","clientId":"4r1b9wy9p1bpjmg1x2z3lq0mcnm1lq","channel":"/chat/room","successful":true}]`)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := DecodeMessages(body); err != nil {
			b.Fatal(err)
		}
	}
}

// codecBenchMessages returns the decoded benchmark payload (data aliasing
// the body), to encode.
func codecBenchMessages(b *testing.B) []Message {
	msgs, err := decodeMessagesStd(codecSalesforcePayload(codecBenchEvents))
	if err != nil {
		b.Fatal(err)
	}
	return msgs
}

// BenchmarkEncodeMessages encodes 500 events and a /meta/connect reply
// with EncodeMessages (a new buffer each time).
func BenchmarkEncodeMessages(b *testing.B) {
	msgs := codecBenchMessages(b)
	out, err := EncodeMessages(msgs)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(out)))
	b.ReportAllocs()
	mallocs := mallocCount()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := EncodeMessages(msgs); err != nil {
			b.Fatal(err)
		}
	}
	reportPerMessage(b, mallocs)
}

// BenchmarkAppendMessages encodes the same messages into a reused buffer.
func BenchmarkAppendMessages(b *testing.B) {
	msgs := codecBenchMessages(b)
	buf, err := AppendMessages(nil, msgs)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	mallocs := mallocCount()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if buf, err = AppendMessages(buf[:0], msgs); err != nil {
			b.Fatal(err)
		}
	}
	reportPerMessage(b, mallocs)
}

// BenchmarkValidData compares validJSON with json.Valid on the data of the
// 500 events (AppendMessage checks Data with json.Valid before writing it).
func BenchmarkValidData(b *testing.B) {
	msgs := codecBenchMessages(b)
	for _, v := range []struct {
		name  string
		valid func([]byte) bool
	}{{"validJSON", validJSON}, {"json.Valid", json.Valid}} {
		b.Run(v.name, func(b *testing.B) {
			b.ReportAllocs()
			mallocs := mallocCount()
			for i := 0; i < b.N; i++ {
				for j := range msgs {
					if len(msgs[j].Data) > 0 && !v.valid(msgs[j].Data) {
						b.Fatalf("message %d: invalid data", j)
					}
				}
			}
			reportPerMessage(b, mallocs)
		})
	}
}
