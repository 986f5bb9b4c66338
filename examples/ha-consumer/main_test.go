package main

import (
	"bytes"
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"go.uber.org/goleak"

	"github.com/bayeux-go/sdk/bayeux/bayeuxtest"
	bayeuxredis "github.com/bayeux-go/sdk/contrib/redis"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// syncBuffer is a bytes.Buffer safe for a writer and a reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

var handled = regexp.MustCompile(`(?m)^(\w+): replay id \d+: \{"n":(\d+)\}$`)

// Three members of a group against a bayeuxtest server with a replay log
// and an in-process Redis; the publisher sends 200 events a second; the
// member that consumes is stopped, another takes over; every event is
// handled exactly once across the group (the handler skips the events the
// group marked done).
func TestThreeMembers(t *testing.T) {
	srv := bayeuxtest.NewServer(bayeuxtest.WithReplay(0), bayeuxtest.WithReplayForPublishes(true))
	defer srv.Close()
	mr := miniredis.NewMiniRedis()
	if err := mr.Start(); err != nil {
		t.Fatal(err)
	}
	defer mr.Close()
	base := config{url: srv.URL, redisURL: "redis://" + mr.Addr() + "/0", group: "orders", channel: "/event/Order__e",
		opts: []bayeuxredis.Option{bayeuxredis.WithLease(time.Second, 200*time.Millisecond, 200*time.Millisecond)}}

	type member struct {
		out    syncBuffer
		cancel context.CancelFunc
		done   chan error
	}
	members := map[string]*member{}
	for _, name := range []string{"a", "b", "c"} {
		m := &member{done: make(chan error, 1)}
		ctx, cancel := context.WithCancel(context.Background())
		m.cancel = cancel
		cfg := base
		cfg.name = name
		go func() { m.done <- run(ctx, cfg, &m.out, &syncBuffer{}) }()
		members[name] = m
	}
	pctx, stopPub := context.WithCancel(context.Background())
	var pubOut syncBuffer
	pubDone := make(chan error, 1)
	go func() { pubDone <- publish(pctx, base, 200, &pubOut) }()

	outputs := func() string {
		var all strings.Builder
		for name, m := range members {
			fmt.Fprintf(&all, "-- %s\n%s", name, m.out.String())
		}
		return all.String()
	}
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s\n-- publisher\n%s%s", what, pubOut.String(), outputs())
			}
		}
	}
	var holder string
	waitFor("a member handling events", func() bool {
		for name, m := range members {
			if len(handled.FindAllString(m.out.String(), -1)) >= 20 {
				holder = name
				return true
			}
		}
		return false
	})
	members[holder].cancel()
	if err := <-members[holder].done; err != nil {
		t.Fatalf("member %s: %v", holder, err)
	}
	var next string
	waitFor("another member taking over", func() bool {
		for name, m := range members {
			if name != holder && len(handled.FindAllString(m.out.String(), -1)) >= 20 {
				next = name
				return true
			}
		}
		return false
	})
	stopPub()
	if err := <-pubDone; err != nil {
		t.Fatal(err)
	}
	var published int
	if _, err := fmt.Sscanf(pubOut.String(), "published %d events", &published); err != nil || published < 40 {
		t.Fatalf("publisher said %q", pubOut.String())
	}
	count := func() map[int]int {
		seen := map[int]int{}
		for _, m := range members {
			for _, l := range handled.FindAllStringSubmatch(m.out.String(), -1) {
				n, _ := strconv.Atoi(l[2])
				seen[n]++
			}
		}
		return seen
	}
	// Every confirmed event is handled; the one the publisher was stopped
	// on may have reached the server too (then it is handled as well).
	waitFor("every published event handled", func() bool {
		c := count()
		for n := 1; n <= published; n++ {
			if c[n] == 0 {
				return false
			}
		}
		return true
	})
	for name, m := range members {
		if name != holder {
			m.cancel()
			if err := <-m.done; err != nil {
				t.Fatalf("member %s: %v", name, err)
			}
		}
	}
	for n, times := range count() {
		if n < 1 || n > published+1 || times != 1 {
			t.Errorf("event n=%d handled %d times", n, times)
		}
	}
	t.Logf("%d events; %s handed over to %s", published, holder, next)
	if t.Failed() {
		t.Log(outputs())
	}
}
