package bayeuxredis

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/bayeux-go/sdk/bayeux"
	"github.com/bayeux-go/sdk/bayeux/bayeuxtest"
	"github.com/bayeux-go/sdk/ext/replay"
	"github.com/bayeux-go/sdk/transport/websocket"
)

// benchBackends runs f against miniredis and, when on PATH, redis-server.
func benchBackends(b *testing.B, f func(b *testing.B, be *backend)) {
	b.Run("miniredis", func(b *testing.B) { f(b, newMiniredis(b)) })
	b.Run("redis-server", func(b *testing.B) { f(b, newRedisServer(b)) })
}

// BenchmarkTakeover kills the holder of a group of three (no commit, no
// release, as kill -9) b.N times while events are published every 2ms, and
// reports the median and worst time from the kill to the new holder's
// tenure (lease taken, position read) and to its first event handled.
// Lease: TTL 1s, renew every TTL/3, margin TTL/5, acquire attempts every
// renew interval. Run with -benchtime 20x for 20 kills.
func BenchmarkTakeover(b *testing.B) {
	const ttl = time.Second
	benchBackends(b, func(b *testing.B, be *backend) {
		g := newGroup(b, be)
		opt := WithLease(ttl, 0, 0)
		for range 3 {
			g.start(opt)
		}
		stopPub := make(chan struct{})
		pubDone := g.publish(stopPub, 2*time.Millisecond)
		var lease, first []time.Duration
		b.ResetTimer()
		for range b.N {
			m, _ := g.waitDelivering(10, 100*time.Millisecond)
			before := g.numTenures()
			at := time.Now()
			m.c.crash()
			<-m.done
			g.start(opt)
			waitFor(b, 10*time.Second, "a new holder", func() bool { return g.numTenures() > before })
			waitFor(b, 10*time.Second, "the new holder's first event", func() bool { return g.processedIn(before) > 0 })
			g.mu.Lock()
			lease = append(lease, g.tenures[before].start.Sub(at))
			for _, p := range g.procs {
				if p.tenure == before {
					first = append(first, p.at.Sub(at))
					break
				}
			}
			g.mu.Unlock()
		}
		b.StopTimer()
		close(stopPub)
		<-pubDone
		g.stopAll()
		slices.Sort(lease)
		slices.Sort(first)
		b.ReportMetric(ms(lease[len(lease)/2]), "median-lease-ms")
		b.ReportMetric(ms(lease[len(lease)-1]), "worst-lease-ms")
		b.ReportMetric(ms(first[len(first)/2]), "median-first-event-ms")
		b.ReportMetric(ms(first[len(first)-1]), "worst-first-event-ms")
	})
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// BenchmarkDelivery measures the delivery throughput of one consumer:
// b.N events retained by a bayeuxtest server with a replay log are
// delivered from replay id -2, with the position kept by the replay
// extension in memory (plain: a bayeux.Client) or shared in Redis (a
// Consumer; committing after each handler, written in batches). It reports
// ns/event, the CPU time of the whole test process per event (server
// included, the same in both), Redis round trips per event, and with
// redis-server the server's CPU per event.
func BenchmarkDelivery(b *testing.B) {
	b.Run("plain", func(b *testing.B) {
		srv := publishN(b, b.N)
		c, err := bayeux.NewClient(srv.URL, bayeux.WithTransports(websocket.New()),
			bayeux.WithExtensions(replay.New(replay.WithStart(replay.StartAll))),
			bayeux.WithDeliveryQueue(DefaultQueue, bayeux.OverflowBlock))
		if err != nil {
			b.Fatal(err)
		}
		ctx := testCtx(b, time.Minute)
		all := make(chan struct{})
		n := 0
		cpu := cpuTime()
		b.ResetTimer()
		if err := c.Connect(ctx); err != nil {
			b.Fatal(err)
		}
		if _, err := c.Subscribe(ctx, orders, func(bayeux.Message) {
			if n++; n == b.N {
				close(all)
			}
		}); err != nil {
			b.Fatal(err)
		}
		waitAll(b, all)
		b.StopTimer()
		b.ReportMetric(float64(cpuTime()-cpu)/float64(b.N), "cpu-ns/event")
		_ = c.Disconnect(ctx)
		<-c.Done()
	})
	benchBackends(b, func(b *testing.B, be *backend) {
		srv := publishN(b, b.N)
		rdb := newRedis(b, be)
		c, err := NewConsumer(rdb, "bench", srv.URL, WithStart(replay.StartAll),
			WithClientOptions(func() []bayeux.Option { return []bayeux.Option{bayeux.WithTransports(websocket.New())} }))
		if err != nil {
			b.Fatal(err)
		}
		all := make(chan struct{})
		n := 0
		if err := c.Handle(orders, func(context.Context, *Event) {
			if n++; n == b.N {
				close(all)
			}
		}); err != nil {
			b.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		redisCPU := redisServerCPU(rdb, be)
		cpu := cpuTime()
		b.ResetTimer()
		go func() { done <- c.Run(ctx) }()
		waitAll(b, all)
		b.StopTimer()
		b.ReportMetric(float64(cpuTime()-cpu)/float64(b.N), "cpu-ns/event")
		cancel()
		if err := <-done; err != nil {
			b.Fatal(err)
		}
		st := c.Stats()
		b.ReportMetric(float64(st.Writes)/float64(b.N), "round-trips/event")
		if redisCPU >= 0 {
			b.ReportMetric(float64(redisServerCPU(rdb, be)-redisCPU)/float64(b.N), "redis-cpu-ns/event")
		}
	})
}

// BenchmarkStoreSave is the cost a commit adds on the delivery path: a
// Save in memory, the write being left to the background goroutine.
func BenchmarkStoreSave(b *testing.B) {
	be := newMiniredis(b)
	rdb := newRedis(b, be)
	ctx := testCtx(b, time.Minute)
	l := must(AcquireLease(ctx, rdb, "save", time.Minute))
	s := must(OpenStore(ctx, rdb, "save", l.Token(), WithStoreFlushInterval(time.Hour)))
	defer s.abandon()
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		s.Save(orders, int64(i))
	}
}

// BenchmarkStoreFlush is one fenced write of one position: a Lua script,
// one round trip.
func BenchmarkStoreFlush(b *testing.B) {
	benchBackends(b, func(b *testing.B, be *backend) {
		rdb := newRedis(b, be)
		ctx := testCtx(b, time.Minute)
		l := must(AcquireLease(ctx, rdb, "flush", time.Minute))
		s := must(OpenStore(ctx, rdb, "flush", l.Token(), WithStoreFlushInterval(time.Hour)))
		defer s.abandon()
		b.ReportAllocs()
		b.ResetTimer()
		for i := range b.N {
			s.Save(orders, int64(i))
			if err := s.Flush(ctx); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// publishN starts a server with a replay log holding n events.
func publishN(b *testing.B, n int) *bayeuxtest.Server {
	b.Helper()
	srv := bayeuxtest.NewServer(bayeuxtest.WithReplay(0), bayeuxtest.WithOneChannelSubscriptions(true))
	b.Cleanup(srv.Close)
	for i := range n {
		if _, err := srv.PublishEvent(orders, map[string]int{"n": i}); err != nil {
			b.Fatal(err)
		}
	}
	return srv
}

// cpuTime is the user and system CPU time of this process, in ns.
func cpuTime() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// redisServerCPU is redis-server's CPU time in ns (INFO cpu), or -1 for
// miniredis, which runs in this process.
func redisServerCPU(rdb *redis.Client, be *backend) int64 {
	if be.name != "redis-server" {
		return -1
	}
	info, err := rdb.Info(context.Background(), "cpu").Result()
	if err != nil {
		return -1
	}
	var total float64
	for _, l := range strings.Split(info, "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(l), ":")
		if ok && (k == "used_cpu_user" || k == "used_cpu_sys") {
			f, _ := strconv.ParseFloat(v, 64)
			total += f
		}
	}
	return int64(total * 1e9)
}

// waitAll waits for the last event, for a minute at most.
func waitAll(b *testing.B, all <-chan struct{}) {
	select {
	case <-all:
	case <-time.After(time.Minute):
		b.Fatal("not every event delivered within a minute")
	}
}
