package websocket

import (
	"context"
	"fmt"
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bayeux-go/sdk/bayeux"
	gws "github.com/gorilla/websocket"
)

// eventsPerFrame is how many events the delivery benchmark's server packs
// in one frame, as a busy CometD server does in a /meta/connect reply.
const eventsPerFrame = 500

// salesforceFrame returns a frame of n platform events of about 250 bytes
// each, shaped like the Salesforce Streaming API's.
func salesforceFrame(n, firstReplayID int) []byte {
	b := []byte{'['}
	for i := range n {
		if i > 0 {
			b = append(b, ',')
		}
		b = fmt.Appendf(b, `{"channel":"/event/Order__e","data":{"schema":"dffQ2QLzDNHqwB8_sHMxdA",`+
			`"payload":{"CreatedDate":"2024-05-01T12:00:00.000Z","CreatedById":"0055e000001AbCdAAK",`+
			`"OrderNumber__c":"ORD-%06d","Amount__c":199.95,"Status__c":"New"},"event":{"replayId":%d}}}`,
			firstReplayID+i, firstReplayID+i)
	}
	return append(b, ']')
}

// BenchmarkDelivery measures the receiving path of the transport: a
// server pushes frames of 500 ~250-byte events; the transport reads,
// decodes (bayeux.DecodeMessages) and hands them to Receive. It reports
// ns/msg, allocs/msg and B/msg on the client side (the server only writes
// a prepared frame). The decode-only sub-benchmark measures
// bayeux.DecodeMessages alone on the same frame: the difference is the
// transport's own cost.
func BenchmarkDelivery(b *testing.B) {
	frame := salesforceFrame(eventsPerFrame, 1000)
	b.Logf("frame: %d events, %d bytes (%d bytes/event)", eventsPerFrame, len(frame), len(frame)/eventsPerFrame)

	b.Run("websocket", func(b *testing.B) {
		pm, err := gws.NewPreparedMessage(gws.TextMessage, frame)
		if err != nil {
			b.Fatal(err)
		}
		srv := newWSServer(b, func(sc *sconn) {
			for {
				msgs, err := sc.read()
				if err != nil {
					return
				}
				frames, _ := strconv.Atoi(string(msgs[0].Data))
				for range frames {
					if sc.ws.WritePreparedMessage(pm) != nil {
						return
					}
				}
				_ = sc.send(reply(msgs[0]))
			}
		})
		var received atomic.Int64
		tr := New()
		err = tr.Init(bayeux.TransportConfig{
			HTTPClient: srv.Client(),
			Receive: func(msgs []bayeux.Message) {
				received.Add(int64(len(msgs)))
			},
		})
		if err != nil {
			b.Fatal(err)
		}
		defer tr.Close()
		ctx := context.Background()
		start := func(frames int) {
			m := bayeux.Message{ID: "go", Channel: "/service/bench", Data: []byte(strconv.Itoa(frames))}
			if _, err := tr.RoundTrip(ctx, srv.URL, []bayeux.Message{m}); err != nil {
				b.Fatal(err)
			}
		}
		start(2) // dial and warm up
		frames := (b.N + eventsPerFrame - 1) / eventsPerFrame
		total := int64(frames * eventsPerFrame)
		received.Store(0)
		var ms0, ms1 runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&ms0)
		b.ResetTimer()
		t0 := time.Now()
		start(frames) // the reply comes after the frames, on the same connection
		elapsed := time.Since(t0)
		b.StopTimer()
		runtime.ReadMemStats(&ms1)
		if got := received.Load(); got != total {
			b.Fatalf("received %d events, want %d", got, total)
		}
		b.ReportMetric(float64(elapsed.Nanoseconds())/float64(total), "ns/msg")
		b.ReportMetric(float64(ms1.Mallocs-ms0.Mallocs)/float64(total), "allocs/msg")
		b.ReportMetric(float64(ms1.TotalAlloc-ms0.TotalAlloc)/float64(total), "B/msg")
	})

	b.Run("decode-only", func(b *testing.B) {
		frames := (b.N + eventsPerFrame - 1) / eventsPerFrame
		total := frames * eventsPerFrame
		var ms0, ms1 runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&ms0)
		b.ResetTimer()
		t0 := time.Now()
		for range frames {
			// The decoder does not modify its input: decoding the same
			// frame again measures it alone.
			if _, err := bayeux.DecodeMessages(frame); err != nil {
				b.Fatal(err)
			}
		}
		elapsed := time.Since(t0)
		b.StopTimer()
		runtime.ReadMemStats(&ms1)
		b.ReportMetric(float64(elapsed.Nanoseconds())/float64(total), "ns/msg")
		b.ReportMetric(float64(ms1.Mallocs-ms0.Mallocs)/float64(total), "allocs/msg")
		b.ReportMetric(float64(ms1.TotalAlloc-ms0.TotalAlloc)/float64(total), "B/msg")
	})
}

// BenchmarkRoundTrip measures one request and its reply on an open
// connection (a publish and its acknowledgement), and the same with a
// held /meta/connect pending on the connection.
func BenchmarkRoundTrip(b *testing.B) {
	srv := newWSServer(b, func(sc *sconn) {
		for {
			msgs, err := sc.read()
			if err != nil {
				return
			}
			for _, m := range msgs {
				if m.Channel == bayeux.MetaConnect {
					continue // held until the connection closes
				}
				if m.ID != "" {
					_ = sc.send(reply(m))
				}
			}
		}
	})
	tr := New()
	if err := tr.Init(bayeux.TransportConfig{HTTPClient: srv.Client()}); err != nil {
		b.Fatal(err)
	}
	defer tr.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	msgs := []bayeux.Message{{Channel: "/chat/room", ClientID: "client-1", Data: []byte(`{"text":"hello"}`)}}
	if _, err := tr.RoundTrip(ctx, srv.URL, []bayeux.Message{handshake("h")}); err != nil {
		b.Fatal(err)
	}
	held := goRoundTrip(ctx, tr, srv.URL, connect("held"))
	ids := make([]string, b.N)
	for i := range ids {
		ids[i] = strconv.Itoa(i)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		msgs[0].ID = ids[i]
		replies, err := tr.RoundTrip(ctx, srv.URL, msgs)
		if err != nil || len(replies) != 1 {
			b.Fatal(replies, err)
		}
	}
	b.StopTimer()
	cancel()
	<-held
}
