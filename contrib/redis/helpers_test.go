package bayeuxredis

import (
	"context"
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	// go-redis logs every failed dial; the outage tests make many.
	redis.SetLogger(quietLogger{})
	// After failed dials go-redis redials in a goroutine that sleeps 1s
	// between attempts and notices only then that its pool was closed: it
	// ends by itself, within a second of Close.
	goleak.VerifyTestMain(m, goleak.IgnoreAnyFunction("github.com/redis/go-redis/v9/internal/pool.(*ConnPool).tryDial"))
}

type quietLogger struct{}

func (quietLogger) Printf(context.Context, string, ...any) {}

func testCtx(t testing.TB, d time.Duration) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// backend is a Redis server a test can take away and bring back on the
// same address, keeping its data.
type backend struct {
	name string
	addr string
	down func() // Redis goes away
	up   func() // Redis comes back on the same address
}

// withBackends runs f against miniredis (in-process, always) and against
// a real redis-server when one is on PATH.
func withBackends(t *testing.T, f func(t *testing.T, b *backend)) {
	t.Run("miniredis", func(t *testing.T) { f(t, newMiniredis(t)) })
	t.Run("redis-server", func(t *testing.T) { f(t, newRedisServer(t)) })
}

// newMiniredis starts an in-process miniredis whose keys expire in real
// time: miniredis only expires keys when told to (FastForward), so a
// goroutine tells it every few milliseconds how much time went by.
func newMiniredis(t testing.TB) *backend {
	t.Helper()
	m := miniredis.NewMiniRedis()
	if err := m.Start(); err != nil {
		t.Fatal(err)
	}
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		last := time.Now()
		for {
			select {
			case <-stop:
				return
			case now := <-tick.C:
				m.FastForward(now.Sub(last))
				last = now
			}
		}
	}()
	var mu sync.Mutex
	t.Cleanup(func() {
		close(stop)
		<-done
		mu.Lock()
		m.Close()
		mu.Unlock()
	})
	return &backend{name: "miniredis", addr: m.Addr(),
		down: func() { mu.Lock(); m.Close(); mu.Unlock() },
		up: func() {
			mu.Lock()
			defer mu.Unlock()
			if err := m.Restart(); err != nil {
				t.Errorf("miniredis restart: %v", err)
			}
		}}
}

// newRedisServer starts a redis-server on a free port of 127.0.0.1, with
// every write synced to an append-only file so that a kill -9 and a restart
// keep the data; it skips the test when redis-server is not on PATH.
func newRedisServer(t testing.TB) *backend {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Skip("redis-server not on PATH")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	dir := t.TempDir()
	addr := "127.0.0.1:" + strconv.Itoa(port)
	var mu sync.Mutex
	var cmd *exec.Cmd
	start := func() {
		mu.Lock()
		defer mu.Unlock()
		cmd = exec.Command(bin, "--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--dir", dir,
			"--save", "", "--appendonly", "yes", "--appendfsync", "always", "--daemonize", "no")
		if err := cmd.Start(); err != nil {
			t.Fatalf("redis-server: %v", err)
		}
		rdb := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1})
		defer rdb.Close()
		for deadline := time.Now().Add(5 * time.Second); ; {
			if err := rdb.Ping(context.Background()).Err(); err == nil {
				return
			} else if time.Now().After(deadline) {
				t.Fatalf("redis-server on %s did not answer: %v", addr, err)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	kill := func() {
		mu.Lock()
		defer mu.Unlock()
		if cmd != nil {
			_ = cmd.Process.Kill() // kill -9
			_ = cmd.Wait()
			cmd = nil
		}
	}
	start()
	t.Cleanup(kill)
	return &backend{name: "redis-server", addr: addr, down: kill, up: start}
}

// newRedis returns a client of b with short timeouts, as each member of a
// group would have its own; the test closes it.
func newRedis(t testing.TB, b *backend) *redis.Client {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: b.addr, DialTimeout: 200 * time.Millisecond,
		ReadTimeout: 200 * time.Millisecond, WriteTimeout: 200 * time.Millisecond,
		ContextTimeoutEnabled: true, MaxRetries: -1, PoolSize: 4})
	t.Cleanup(func() { _ = rdb.Close() })
	return rdb
}

// waitFor polls cond every few milliseconds until it holds or d passed.
func waitFor(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(fmt.Sprintf("unexpected error: %v", err))
	}
	return v
}
