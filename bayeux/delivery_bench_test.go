package bayeux_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/bayeux-go/sdk/bayeux"
	"github.com/bayeux-go/sdk/transport/longpoll"
)

// salesforceEvent is a Platform Event of about 250 bytes, as Salesforce
// delivers them.
func salesforceEvent(replayID int) string {
	return fmt.Sprintf(`{"data":{"schema":"dffQ2QLzDNHqwB8_sHMxdA","payload":{"CreatedDate":"2026-11-26T10:00:00.000Z","CreatedById":"005xx000001X8UzAAK","Order_Number__c":"ON-%06d","Amount__c":1234.5,"Status__c":"Shipped"},"event":{"replayId":%d}},"channel":"/event/Order_Event__e"}`, replayID, replayID)
}

// cannedServer answers a handshake, subscriptions, and every /meta/connect
// with batch events followed by the connect reply, as CometD orders them.
func cannedServer(b *testing.B, batch int) *httptest.Server {
	events := []byte{'['}
	for i := 0; i < batch; i++ {
		events = append(events, salesforceEvent(i+1)...)
		events = append(events, ',')
	}
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
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
	}))
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkLongPollDelivery measures what a client costs per delivered
// message: /meta/connect replies of 500 Salesforce-sized events from an
// in-process server, each event decoded and handed to a subscriber. One op
// is one delivered message. ns/msg is wall time, cpu-ns/msg the process's
// CPU time (client and the canned server together), allocs/msg and B/msg
// the allocations.
func BenchmarkLongPollDelivery(b *testing.B) {
	const batch = 500
	srv := cannedServer(b, batch)
	defer srv.Close()
	c, err := bayeux.NewClient(srv.URL, bayeux.WithTransports(longpoll.New()))
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	var delivered atomic.Int64
	target := atomic.Int64{}
	target.Store(1 << 62)
	done := make(chan struct{}, 1)
	if _, err := c.Subscribe(ctx, "/event/Order_Event__e", func(m bayeux.Message) {
		if n := delivered.Add(1); n == target.Load() {
			done <- struct{}{}
		}
	}); err == nil {
		b.Fatal("subscribe before Connect should fail")
	}
	if err := c.Connect(ctx); err != nil {
		b.Fatal(err)
	}
	defer c.Disconnect(ctx)
	if _, err := c.Subscribe(ctx, "/event/Order_Event__e", func(m bayeux.Message) {
		if n := delivered.Add(1); n == target.Load() {
			done <- struct{}{}
		}
	}); err != nil {
		b.Fatal(err)
	}
	// Warm up, then measure exactly b.N more deliveries.
	for delivered.Load() < 2*batch {
		runtime.Gosched()
	}
	var ms0, ms1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms0)
	cpu0 := cpuTime()
	b.ResetTimer()
	target.Store(delivered.Load() + int64(b.N))
	<-done
	b.StopTimer()
	cpu := cpuTime() - cpu0
	runtime.ReadMemStats(&ms1)
	n := float64(b.N)
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/n, "ns/msg")
	b.ReportMetric(float64(cpu.Nanoseconds())/n, "cpu-ns/msg")
	b.ReportMetric(float64(ms1.Mallocs-ms0.Mallocs)/n, "allocs/msg")
	b.ReportMetric(float64(ms1.TotalAlloc-ms0.TotalAlloc)/n, "B/msg")
}
