package bayeux_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/bayeux-go/sdk/bayeux"
	"github.com/bayeux-go/sdk/bayeux/bayeuxtest"
	"github.com/bayeux-go/sdk/transport/longpoll"
	"github.com/bayeux-go/sdk/transport/websocket"

	gws "github.com/gorilla/websocket"
)

// salesforceEvent is a Platform Event of about 250 bytes, as Salesforce
// delivers them.
func salesforceEvent(replayID int) string {
	return fmt.Sprintf(`{"data":{"schema":"dffQ2QLzDNHqwB8_sHMxdA","payload":{"CreatedDate":"2026-11-26T10:00:00.000Z","CreatedById":"005xx000001X8UzAAK","Order_Number__c":"ON-%06d","Amount__c":1234.5,"Status__c":"Shipped"},"event":{"replayId":%d}},"channel":"/event/Order_Event__e"}`, replayID, replayID)
}

// cannedHandler answers a handshake, subscriptions, and every /meta/connect
// with batch events followed by the connect reply, as CometD orders them.
func cannedHandler(batch int) http.Handler {
	events := []byte{'['}
	for i := 0; i < batch; i++ {
		events = append(events, salesforceEvent(i+1)...)
		events = append(events, ',')
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		msgs, err := bayeux.DecodeMessages(body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		m := msgs[0]
		switch m.Channel {
		case bayeux.MetaHandshake:
			fmt.Fprintf(w, `[{"id":%q,"channel":"/meta/handshake","successful":true,"version":"1.0","clientId":"bench1","supportedConnectionTypes":["long-polling"],"advice":{"reconnect":"retry","interval":0,"timeout":30000}}]`, m.ID)
		case bayeux.MetaConnect:
			tail := fmt.Sprintf(`{"id":%q,"channel":"/meta/connect","successful":true}]`, m.ID)
			w.Header().Set("Content-Length", strconv.Itoa(len(events)+len(tail)))
			_, _ = w.Write(events)
			_, _ = io.WriteString(w, tail)
		default:
			reply := m
			reply.Data, reply.ClientID = nil, ""
			reply.SetSuccessful(true)
			out, _ := bayeux.EncodeMessages([]bayeux.Message{reply})
			_, _ = w.Write(out)
		}
	})
}

// TestHelperCannedServer is not a test: it is the server process of
// BenchmarkLongPollDelivery/server=process, started by the benchmark so that
// the CPU it measures is the client's alone. It serves until its standard
// input is closed.
func TestHelperCannedServer(t *testing.T) {
	if os.Getenv("BAYEUX_CANNED_SERVER") == "" {
		t.Skip("helper process of BenchmarkLongPollDelivery")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	fmt.Printf("LISTEN %s\n", ln.Addr())
	var h http.Handler = cannedHandler(500)
	if os.Getenv("BAYEUX_CANNED_SERVER") == "websocket" {
		h = cannedWebSocketHandler(500)
	}
	srv := &http.Server{Handler: h}
	go func() { _ = srv.Serve(ln) }()
	_, _ = io.Copy(io.Discard, os.Stdin)
	_ = srv.Close()
}

// serverProcess starts TestHelperCannedServer in a child process and
// returns its URL.
func serverProcess(b *testing.B, kind string) string {
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperCannedServer$", "-test.bench=^$")
	cmd.Env = append(os.Environ(), "BAYEUX_CANNED_SERVER="+kind)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		_ = stdin.Close()
		_ = cmd.Wait()
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "LISTEN ") {
		b.Fatalf("canned server: %q %v", line, err)
	}
	go func() { _, _ = io.Copy(io.Discard, stdout) }()
	return "http://" + strings.TrimSpace(strings.TrimPrefix(line, "LISTEN ")) + "/cometd"
}

// cpuAndFaults returns the process's CPU time and its count of minor page
// faults (each a trap into the kernel: touching memory the Go runtime had
// returned to the system).
func cpuAndFaults() (time.Duration, int64) {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), int64(ru.Minflt)
}

// BenchmarkLongPollDelivery measures what a client costs per delivered
// message: /meta/connect replies of 500 Salesforce-sized events from an
// in-process server, each event decoded and handed to a subscriber. One op
// is one delivered message. ns/msg is wall time, cpu-ns/msg the process's
// CPU time (client and the canned server together), allocs/msg and B/msg
// the allocations.
//
// With server=process the canned server runs in a child process and
// cpu-ns/msg is the client's CPU alone; with server=inproc it shares the
// process (and the CPU figure includes it).
func BenchmarkLongPollDelivery(b *testing.B) {
	b.Run("server=process", func(b *testing.B) { benchmarkDelivery(b, serverProcess(b, "long-polling"), longpoll.New()) })
	b.Run("server=inproc", func(b *testing.B) {
		srv := httptest.NewServer(cannedHandler(500))
		defer srv.Close()
		benchmarkDelivery(b, srv.URL, longpoll.New())
	})
}

// BenchmarkWebSocketDelivery is BenchmarkLongPollDelivery over websocket:
// a server in a child process pushes frames of 500 Salesforce-sized events
// as fast as the client reads them.
func BenchmarkWebSocketDelivery(b *testing.B) {
	benchmarkDelivery(b, serverProcess(b, "websocket"), websocket.New())
}

func benchmarkDelivery(b *testing.B, url string, t bayeux.Transport) {
	const batch = 500
	c, err := bayeux.NewClient(url, bayeux.WithTransports(t))
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	var delivered atomic.Int64
	target := atomic.Int64{}
	target.Store(1 << 62)
	done := make(chan struct{}, 1)
	if err := c.Connect(ctx); err != nil {
		b.Fatal(err)
	}
	defer c.Disconnect(ctx)
	sub, err := c.Subscribe(ctx, "/event/Order_Event__e", func(m bayeux.Message) {
		if n := delivered.Add(1); n >= target.Load() {
			select {
			case done <- struct{}{}:
			default:
			}
		}
	})
	if err != nil {
		b.Fatal(err)
	}
	// Warm up, then measure exactly b.N more deliveries.
	// (Polled with a sleep, not runtime.Gosched: a spinning wait for
	// the server process to start would fill a CPU profile.)
	for delivered.Load() < 2*batch {
		time.Sleep(time.Millisecond)
	}
	var ms0, ms1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms0)
	cpu0, faults0 := cpuAndFaults()
	dropped0 := sub.Dropped()
	b.ResetTimer()
	start := delivered.Load()
	target.Store(start + int64(b.N))
	<-done
	b.StopTimer()
	cpu1, faults1 := cpuAndFaults()
	cpu := cpu1 - cpu0
	runtime.ReadMemStats(&ms1)
	n := float64(b.N)
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/n, "ns/msg")
	b.ReportMetric(float64(cpu.Nanoseconds())/n, "cpu-ns/msg")
	b.ReportMetric(float64(ms1.Mallocs-ms0.Mallocs)/n, "allocs/msg")
	b.ReportMetric(float64(ms1.TotalAlloc-ms0.TotalAlloc)/n, "B/msg")
	b.ReportMetric(float64(faults1-faults0)/n, "faults/msg")
	b.ReportMetric(float64(ms1.NumGC-ms0.NumGC)/n*1e6, "GCs/Mmsg")
	// Messages dropped because the subscription's queue was full (the
	// delivery goroutine fell behind): decoded for nothing.
	b.ReportMetric(float64(sub.Dropped()-dropped0)/n, "dropped/msg")
}

// cannedWebSocketHandler answers handshakes and subscriptions, holds
// /meta/connect, and once a subscription is made pushes frames of batch
// events until the connection closes.
func cannedWebSocketHandler(batch int) http.Handler {
	frame := []byte{'['}
	for i := 0; i < batch; i++ {
		if i > 0 {
			frame = append(frame, ',')
		}
		frame = append(frame, salesforceEvent(i+1)...)
	}
	frame = append(frame, ']')
	up := gws.Upgrader{}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer conn.Close()
		pm, _ := gws.NewPreparedMessage(gws.TextMessage, frame)
		out := make(chan []byte, 16)
		done := make(chan struct{})
		defer close(done)
		go func() {
			for {
				select {
				case <-done:
					return
				case m := <-out:
					if m == nil {
						for {
							select {
							case <-done:
								return
							case m := <-out:
								if conn.WriteMessage(gws.TextMessage, m) != nil {
									return
								}
							default:
								if conn.WritePreparedMessage(pm) != nil {
									return
								}
							}
						}
					}
					if conn.WriteMessage(gws.TextMessage, m) != nil {
						return
					}
				}
			}
		}()
		for {
			_, data, err := conn.ReadMessage()
			if err != nil {
				return
			}
			msgs, err := bayeux.DecodeMessages(data)
			if err != nil {
				return
			}
			var replies []bayeux.Message
			start := false
			for _, m := range msgs {
				r := bayeux.Message{ID: m.ID, Channel: m.Channel, Subscription: m.Subscription}
				r.SetSuccessful(true)
				switch m.Channel {
				case bayeux.MetaHandshake:
					r.ClientID, r.Version, r.SupportedConnectionTypes = "bench1", "1.0", []string{"websocket"}
					r.Advice = &bayeux.Advice{Reconnect: "retry", Timeout: 30000}
					r.Advice.SetInterval(0)
				case bayeux.MetaConnect:
					if m.Advice == nil || !m.Advice.HasTimeout() {
						continue // held for the rest of the benchmark
					}
				case bayeux.MetaSubscribe:
					start = true
				}
				replies = append(replies, r)
			}
			if len(replies) > 0 {
				enc, _ := bayeux.EncodeMessages(replies)
				out <- enc
			}
			if start {
				out <- nil
			}
		}
	})
}

// BenchmarkPublishToDelivery measures the latency from Publish to the
// subscriber's handler through the in-process server over loopback, one
// message at a time, per transport, and reports the p50 and p99.
func BenchmarkPublishToDelivery(b *testing.B) {
	for _, tc := range transportCases {
		b.Run(tc.name, func(b *testing.B) {
			srv := bayeuxtest.NewServer(bayeuxtest.WithReceivedLimit(-1))
			defer srv.Close()
			mk := func() *bayeux.Client {
				c, err := bayeux.NewClient(srv.URL, append([]bayeux.Option{bayeux.WithTransports(tc.new()...)}, tc.opts...)...)
				if err != nil {
					b.Fatal(err)
				}
				if err := c.Connect(context.Background()); err != nil {
					b.Fatal(err)
				}
				return c
			}
			pub, sub := mk(), mk()
			defer pub.Disconnect(context.Background())
			defer sub.Disconnect(context.Background())
			got := make(chan struct{}, 1)
			if _, err := sub.Subscribe(context.Background(), "/latency", func(bayeux.Message) { got <- struct{}{} }); err != nil {
				b.Fatal(err)
			}
			lat := make([]time.Duration, 0, b.N)
			ctx := context.Background()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				t0 := time.Now()
				if err := pub.Publish(ctx, "/latency", i); err != nil {
					b.Fatal(err)
				}
				<-got
				lat = append(lat, time.Since(t0))
			}
			b.StopTimer()
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
		})
	}
}
