package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"

	"github.com/bayeux-go/sdk/bayeux"
	"github.com/bayeux-go/sdk/bayeux/bayeuxtest"
	bayeuxredis "github.com/bayeux-go/sdk/contrib/redis"
)

// startMiniredis starts an in-process Redis whose keys expire in real
// time (miniredis expires them only when told how much time went by).
func startMiniredis(t *testing.T) *miniredis.Miniredis {
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
	t.Cleanup(func() { close(stop); <-done; m.Close() })
	return m
}

// TestSubGroupSurvivesKill9 runs three 'bayeux sub -group' processes
// against a server with a replay log while events are published every 5ms,
// kills the printing one with SIGKILL five times (starting a new one each
// time), and checks that the union of what they printed has every event,
// that a new member prints within the lease's TTL plus a third of it, and
// that events are printed twice only around a kill.
func TestSubGroupSurvivesKill9(t *testing.T) {
	srv := bayeuxtest.NewServer(bayeuxtest.WithReplay(0))
	defer srv.Close()
	mr := startMiniredis(t)
	const lease = 600 * time.Millisecond
	const ch bayeux.Channel = "/event/Order__e"
	args := []string{"sub", "-v", "-url", srv.URL, "-group", "orders", "-redis", "redis://" + mr.Addr() + "/0",
		"-lease", lease.String(), "--replay", "-2", string(ch)}
	var procs []*proc
	for range 3 {
		procs = append(procs, start(t, args...))
	}
	stopPub, pubDone := make(chan struct{}), make(chan int)
	go func() {
		n := 0
		defer func() { pubDone <- n }()
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stopPub:
				return
			case <-tick.C:
			}
			if _, err := srv.PublishEvent(ch, map[string]int{"n": n + 1}); err != nil {
				t.Errorf("PublishEvent: %v", err)
				return
			}
			n++
		}
	}()
	printed := func(p *proc) int { return strings.Count(p.stdout.String(), "\n") }
	holder := func() *proc {
		for _, p := range procs {
			if strings.Contains(p.stderr.String(), "took the lease of group orders") && printed(p) > 0 {
				select {
				case <-p.done:
					continue
				default:
					return p
				}
			}
		}
		return nil
	}
	waitHolder := func(min int, except *proc) *proc {
		deadline := time.Now().Add(15 * time.Second)
		for {
			if h := holder(); h != nil && h != except && printed(h) >= min {
				return h
			}
			if time.Now().After(deadline) {
				t.Fatalf("no member printing; stderr of the members:\n%s", stderrs(procs))
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	bound := lease + lease/3 + 500*time.Millisecond // + slack for starting processes under -race
	killed := map[*proc]bool{}
	const kills = 5
	for range kills {
		h := waitHolder(20, nil)
		killed[h] = true
		at := time.Now()
		if err := h.cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		<-h.done
		procs = append(procs, start(t, args...))
		waitHolder(1, h)
		if took := time.Since(at); took > bound {
			t.Errorf("a new member printed %v after the kill, above the lease %v + %v (+500ms to start a process)", took, lease, lease/3)
		}
	}
	waitHolder(20, nil)
	close(stopPub)
	published := <-pubDone
	// byKilled counts the events printed by a killed member.
	byKilled := map[int]bool{}
	seen := func() map[int]int {
		m := map[int]int{}
		for _, p := range procs {
			for _, l := range strings.Split(strings.TrimSpace(p.stdout.String()), "\n") {
				var ln struct {
					Data struct {
						Payload struct{ N int } `json:"payload"`
					} `json:"data"`
				}
				if l == "" {
					continue
				}
				if err := json.Unmarshal([]byte(l), &ln); err != nil {
					// A killed process may leave half a line.
					continue
				}
				m[ln.Data.Payload.N]++
				if killed[p] {
					byKilled[ln.Data.Payload.N] = true
				}
			}
		}
		return m
	}
	deadline := time.Now().Add(15 * time.Second)
	for len(seen()) < published && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	got := seen()
	dups := 0
	for n := 1; n <= published; n++ {
		switch got[n] {
		case 0:
			t.Errorf("event n=%d was published and never printed", n)
		case 1:
		default:
			// Printed again: only an event the killed member printed
			// and had not committed.
			if !byKilled[n] {
				t.Errorf("event n=%d printed %d times, none by a killed member", n, got[n])
			}
			dups += got[n] - 1
		}
	}
	t.Logf("%d events published, %d printed again after the %d kills", published, dups, kills)
	for _, p := range procs {
		select {
		case <-p.done:
		default:
			if code := p.signal(syscall.SIGTERM); code != 0 {
				t.Errorf("sub -group exit %d after SIGTERM: %s", code, p.stderr)
			}
		}
	}
	if t.Failed() {
		t.Log(stderrs(procs))
	}
}

func stderrs(ps []*proc) string {
	var b strings.Builder
	for i, p := range ps {
		fmt.Fprintf(&b, "-- member %d\n%s", i, p.stderr)
	}
	return b.String()
}

func TestSubGroupUsage(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"sub", "-group", "g", "/a"}, "-group needs -redis URL"},
		{[]string{"sub", "-redis", "redis://127.0.0.1:1/0", "/a"}, "-redis needs -group NAME"},
		{[]string{"sub", "-group", "g", "-redis", "redis://127.0.0.1:1/0", "/a/*"}, "-group applies to channel names, not patterns"},
		{[]string{"sub", "-group", "g", "-redis", "http://x", "/a"}, `-redis "http://x"`},
		{[]string{"sub", "-group", "g", "-redis", "redis://127.0.0.1:1/0", "-lease", "1ms", "/a"}, "-lease 1ms: want at least 30ms"},
	} {
		code, _, stderr := runCLI(t, tc.args...)
		if code != 2 || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", tc.args, code, stderr, tc.want)
		}
	}
	// The -lease default is the library's.
	_, out, _ := runCLI(t, "sub", "-h")
	if want := fmt.Sprintf("(default %v)", bayeuxredis.DefaultLeaseTTL); !strings.Contains(out, "-lease duration") || !strings.Contains(out[strings.Index(out, "-lease duration"):], want) {
		t.Errorf("sub -h does not show -lease with %s:\n%s", want, out)
	}
}
