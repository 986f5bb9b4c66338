package loadgen

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bayeux-go/sdk/bayeux"
	"github.com/bayeux-go/sdk/transport/longpoll"
	"github.com/bayeux-go/sdk/transport/websocket"
)

func transportFor(name string) bayeux.Transport {
	if name == WebSocket {
		return websocket.New()
	}
	return longpoll.New()
}

// footprint is what the process holds at one moment.
type footprint struct {
	heap, stack uint64
	goroutines  int
	fds         int // open file descriptors; -1 where /proc is missing
}

func measure() footprint {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	fds := -1
	if ents, err := os.ReadDir("/proc/self/fd"); err == nil {
		fds = len(ents)
	}
	return footprint{heap: ms.HeapInuse, stack: ms.StackInuse, goroutines: runtime.NumGoroutine(), fds: fds}
}

// BenchmarkIdleSession measures what an idle subscribed session costs the
// process: sessions clients connect to a bayeuxtest server in a child
// process (so only client memory is counted), each subscribes to subs
// channels and receives events messages (on its first channel), and once they are idle (their /meta/connect held, idleSettle
// after the last subscribe) the
// benchmark reports per session the heap in use (heap-B/session),
// goroutine stacks (stack-B/session), both together (B/session),
// goroutines and file descriptors. Run it with -benchtime=1x: each
// iteration builds and tears down every session.
func BenchmarkIdleSession(b *testing.B) {
	for _, tr := range []string{LongPolling, LongPolling + "-shared", WebSocket} {
		for _, c := range []struct{ sessions, subs, events int }{{1000, 1, 0}, {5000, 1, 0}, {1000, 10, 0}, {1000, 1, 1}} {
			name := fmt.Sprintf("transport=%s/sessions=%d/subs=%d", tr, c.sessions, c.subs)
			if c.events > 0 {
				name += fmt.Sprintf("/events=%d", c.events)
			}
			b.Run(name, func(b *testing.B) {
				benchmarkIdleSession(b, tr, c.sessions, c.subs, c.events)
			})
		}
	}
}

// idleSettle is how long the sessions stay idle before they are
// measured: longer than the 4 seconds after which a client's own
// connection pool closes an idle connection (the shared pool keeps its
// connections 90 seconds).
const idleSettle = 5 * time.Second

// benchmarkIdleSession measures sessions over tr; "long-polling-shared"
// is long-polling with bayeux.WithSharedTransport (one connection pool for
// the process, cookies per client).
func benchmarkIdleSession(b *testing.B, tr string, sessions, subs, events int) {
	var extra []bayeux.Option
	if tr == LongPolling+"-shared" {
		tr = LongPolling
		extra = append(extra, bayeux.WithSharedTransport())
	}
	srv := serverProcess(b, "bayeuxtest")
	var heap, stack, gs, fds float64
	for i := 0; i < b.N; i++ {
		before := measure()
		clients := make([]*bayeux.Client, sessions)
		var got atomic.Int64
		err := parallel(context.Background(), 32, sessions, func(ctx context.Context, i int) error {
			c, err := bayeux.NewClient(srv.URL, append([]bayeux.Option{bayeux.WithTransports(transportFor(tr))}, extra...)...)
			if err != nil {
				return err
			}
			clients[i] = c
			if err := c.Connect(ctx); err != nil {
				return err
			}
			for k := range subs {
				if _, err := c.Subscribe(ctx, roomChannel(k), func(bayeux.Message) { got.Add(1) }); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
		// Deliver events to every session (on its first channel).
		for e := range events {
			if err := clients[0].Publish(context.Background(), roomChannel(0), map[string]int{"event": e}); err != nil {
				b.Fatal(err)
			}
		}
		for deadline := time.Now().Add(time.Minute); got.Load() < int64(sessions*events); {
			if time.Now().After(deadline) {
				b.Fatalf("%d of %d events delivered", got.Load(), sessions*events)
			}
			time.Sleep(10 * time.Millisecond)
		}
		// Let every session settle into its held /meta/connect, and
		// let the connection its subscribe used close: a client's own
		// connection pool closes idle connections after 4 seconds.
		time.Sleep(idleSettle)
		after := measure()
		n := float64(sessions)
		heap += float64(after.heap-before.heap) / n
		stack += float64(after.stack-before.stack) / n
		gs += float64(after.goroutines-before.goroutines) / n
		fds += float64(after.fds-before.fds) / n
		_ = parallel(context.Background(), 32, sessions, func(ctx context.Context, i int) error {
			if clients[i] != nil {
				ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
				defer cancel()
				_ = clients[i].Disconnect(ctx)
			}
			return nil
		})
	}
	n := float64(b.N)
	b.ReportMetric(heap/n, "heap-B/session")
	b.ReportMetric(stack/n, "stack-B/session")
	b.ReportMetric((heap+stack)/n, "B/session")
	b.ReportMetric(gs/n, "goroutines/session")
	if fds >= 0 {
		b.ReportMetric(fds/n, "fds/session")
	}
}

// BenchmarkConnectRoundTrip measures the client's cost per /meta/connect
// round trip over long-polling when every reply carries one event: a
// canned server in a child process answers each /meta/connect at once,
// so one op is one round trip and one delivered message. It reports
// allocs and bytes per round trip (the whole client: session loop,
// transport, decoding, delivery) and the client's CPU per round trip.
// The net/http sub-benchmark is the reference: a bare net/http POST of
// the same size to the same server, its reply read and decoded.
func BenchmarkConnectRoundTrip(b *testing.B) {
	b.Run("client=bayeux", func(b *testing.B) {
		srv := serverProcess(b, "one-event")
		c, err := bayeux.NewClient(srv.URL, bayeux.WithTransports(longpoll.New()))
		if err != nil {
			b.Fatal(err)
		}
		ctx := context.Background()
		if err := c.Connect(ctx); err != nil {
			b.Fatal(err)
		}
		defer c.Disconnect(ctx)
		// Deliveries are counted off this channel; it is large enough
		// that the handler never waits between two measurements.
		got := make(chan struct{}, 1<<16)
		var measuring atomic.Bool
		if _, err := c.Subscribe(ctx, "/event/Order__e", func(bayeux.Message) {
			if measuring.Load() {
				got <- struct{}{}
			}
		}); err != nil {
			b.Fatal(err)
		}
		time.Sleep(100 * time.Millisecond) // warm up
		measuring.Store(true)
		measureRoundTrips(b, func() {
			for range b.N {
				<-got
			}
		})
		measuring.Store(false)
	})
	b.Run("client=net-http", func(b *testing.B) {
		srv := serverProcess(b, "one-event")
		hc := &http.Client{Transport: &http.Transport{}}
		defer hc.CloseIdleConnections()
		const body = `[{"id":"7","channel":"/meta/connect","clientId":"c1","connectionType":"long-polling"}]`
		roundTrip := func() {
			resp, err := hc.Post(srv.URL, "application/json;charset=UTF-8", strings.NewReader(body))
			if err != nil {
				b.Fatal(err)
			}
			data, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil {
				b.Fatal(err)
			}
			if msgs, err := bayeux.DecodeMessages(data); err != nil || len(msgs) != 2 {
				b.Fatalf("reply: %d messages, %v", len(msgs), err)
			}
		}
		roundTrip()
		measureRoundTrips(b, func() {
			for range b.N {
				roundTrip()
			}
		})
	})
}

// measureRoundTrips runs b.N round trips with run and reports their
// cost.
func measureRoundTrips(b *testing.B, run func()) {
	var ms0, ms1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms0)
	cpu0 := processCPU()
	b.ResetTimer()
	run()
	b.StopTimer()
	cpu := processCPU() - cpu0
	runtime.ReadMemStats(&ms1)
	n := float64(b.N)
	b.ReportMetric(float64(cpu.Nanoseconds())/n, "cpu-ns/roundtrip")
	b.ReportMetric(float64(ms1.Mallocs-ms0.Mallocs)/n, "allocs/roundtrip")
	b.ReportMetric(float64(ms1.TotalAlloc-ms0.TotalAlloc)/n, "B/roundtrip")
}

// BenchmarkPublishLatency measures the latency from Publish to the
// subscriber's handler, one message at a time, through a bayeuxtest
// server in a child process over loopback, and reports its p50, p90 and
// p99 in microseconds. (bayeux's BenchmarkPublishToDelivery measures
// the same with the server in the process, until both the reply to
// Publish and the delivery are in.)
func BenchmarkPublishLatency(b *testing.B) {
	for _, tr := range []string{LongPolling, WebSocket} {
		b.Run("transport="+tr, func(b *testing.B) {
			srv := serverProcess(b, "bayeuxtest")
			ctx := context.Background()
			mk := func() *bayeux.Client {
				c, err := bayeux.NewClient(srv.URL, bayeux.WithTransports(transportFor(tr)))
				if err != nil {
					b.Fatal(err)
				}
				if err := c.Connect(ctx); err != nil {
					b.Fatal(err)
				}
				return c
			}
			pub, sub := mk(), mk()
			defer pub.Disconnect(ctx)
			defer sub.Disconnect(ctx)
			// The handler measures from the time carried in the message, so
			// the figure does not include the publisher's wait for its reply.
			lat := newLatencies(1)
			got := make(chan struct{}, 1)
			if _, err := sub.Subscribe(ctx, "/latency", func(m bayeux.Message) {
				if sent, ok := sentAt(m.Data); ok {
					lat.record(0, time.Since(sent))
				}
				got <- struct{}{}
			}); err != nil {
				b.Fatal(err)
			}
			var buf []byte
			b.ResetTimer()
			for i := range b.N {
				if err := pub.Publish(ctx, "/latency", payload(buf, time.Now(), int64(i), 50)); err != nil {
					b.Fatal(err)
				}
				<-got
			}
			b.StopTimer()
			p := percentiles(lat.merged())
			b.ReportMetric(p.P50*1000, "p50-µs")
			b.ReportMetric(p.P90*1000, "p90-µs")
			b.ReportMetric(p.P99*1000, "p99-µs")
		})
	}
}
