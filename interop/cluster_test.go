package interop

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bayeux-go/sdk/bayeux"
)

// Cluster failover: two Faye nodes sharing one Redis server (the
// faye-redis engine). The client is given node A and allowed to follow
// advice to B; A advises the Bayeux "hosts" failover list [A, B] and a
// maxInterval. When A dies, the client
// gives up on A's session after timeout + interval + maxInterval, fails to
// handshake with A, moves to B, handshakes and re-subscribes there. The
// test measures that window and what was lost in it, and checks that no
// message is delivered twice or out of order, before, during and after,
// with messages published on both nodes (and on A again once it is back).

// fayeMaxIntervalMS is the maxInterval the nodes advise: Faye forgets a
// client 1.6 x timeout after its last connect, so 1.2 s after a held
// connect's end with FAYE_TIMEOUT=2.
const fayeMaxIntervalMS = "1000"

// failoverBound bounds the failover window: timeout + maxInterval before
// the client gives up on A, a backoff or two, a handshake and a
// re-subscribe at B.
const failoverBound = 15 * time.Second

// redisCommand returns the command that runs a throw-away Redis server on
// port: a real redis-server when one is on PATH, otherwise the in-process
// one of the redisserver module (miniredis), so that the test needs no
// system package.
func redisCommand(t *testing.T, port int) (*exec.Cmd, string) {
	t.Helper()
	if p, err := exec.LookPath("redis-server"); err == nil {
		return exec.Command(p, "--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
			"--dir", t.TempDir()), "redis-server"
	}
	cmd := exec.Command(goCommand(), "run", ".", "-port", strconv.Itoa(port))
	cmd.Dir = "redisserver"
	// A module of its own, outside the repository's go.work.
	cmd.Env = append(os.Environ(), "GOWORK=off")
	return cmd, "redisserver (miniredis)"
}

// goCommand returns the go command: the one that runs the tests is on
// PATH, or GOROOT (which go test sets) has it.
func goCommand() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	return filepath.Join(os.Getenv("GOROOT"), "bin", "go")
}

// startRedis runs a throw-away Redis server on a free port of 127.0.0.1
// and returns the port.
func startRedis(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	cmd, name := redisCommand(t, port)
	stdin, err := cmd.StdinPipe() // the in-process one runs until stdin ends
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		stdin.Close()
		_ = cmd.Process.Kill()
		<-exited
	})
	// go run may first build the server.
	deadline := time.Now().Add(2 * time.Minute)
	for {
		c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(port), time.Second)
		if err == nil {
			c.Close()
			t.Logf("Redis: %s on port %d", name, port)
			return port
		}
		select {
		case <-exited:
			t.Fatalf("%s exited: %s", name, out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not listening on %d: %v", name, port, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// publishOn publishes data on channel from node p's server-side client.
func publishOn(p *peer, channel string, data any) error {
	b, err := json.Marshal(data)
	if err != nil {
		return err
	}
	q := url.Values{"channel": {channel}}
	resp, err := control.Post(p.base()+"/control/publish?"+q.Encode(), "application/json", bytes.NewReader(b))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var r struct {
		Published bool
		Error     string
	}
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		return err
	}
	if !r.Published {
		return fmt.Errorf("not published: %s", r.Error)
	}
	return nil
}

// stream checks the numbered messages of one node.
type stream struct {
	last, received, duplicates, reordered int
	at                                    map[int]time.Time
}

func TestClusterFailover(t *testing.T) {
	requireInterop(t)
	if _, err := os.Stat(filepath.Join("node_modules", "faye-redis", "package.json")); err != nil {
		t.Fatalf("npm package faye-redis is not installed (%v): run `npm ci --prefix interop`", err)
	}
	for _, kind := range []string{lp, ws} {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			runFailover(t, kind, startRedis(t))
		})
	}
}

func runFailover(t *testing.T, kind string, redisPort int) {
	redisEnv := "FAYE_REDIS_PORT=" + strconv.Itoa(redisPort)
	b := startPeer(t, "faye", redisEnv)
	a := startPeer(t, "faye", redisEnv, "FAYE_HOSTS="+b.addr(), "FAYE_MAX_INTERVAL="+fayeMaxIntervalMS)

	// The client follows A's hosts advice only to hosts the user allowed.
	c := newClient(t, "failover", a.URL(), []string{kind}, bayeux.WithAllowedHosts(b.addr()),
		bayeux.WithBackoff(200*time.Millisecond, time.Second), bayeux.WithMaxNetworkDelay(2*time.Second))
	c.connect(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	var mu sync.Mutex
	streams := map[string]*stream{"A": {at: map[int]time.Time{}}, "B": {at: map[int]time.Time{}}}
	_, err := c.Subscribe(ctx, "/cluster", func(m bayeux.Message) {
		var d struct {
			Node string
			N    int
		}
		if err := json.Unmarshal(m.Data, &d); err != nil {
			t.Errorf("undecodable event %s", m.Data)
			return
		}
		mu.Lock()
		defer mu.Unlock()
		s := streams[d.Node]
		if s == nil {
			return
		}
		switch {
		case d.N == s.last:
			s.duplicates++
		case d.N < s.last:
			s.reordered++
		default:
			s.received++
			s.last = d.N
			s.at[d.N] = time.Now()
		}
	})
	if err != nil {
		t.Fatal(err)
	}

	// Publishers: node A and node B each publish a numbered message every
	// 50 ms (A's fail while it is down).
	var aDown atomic.Bool
	published := map[string]*atomic.Int32{"A": {}, "B": {}}
	failed := map[string]*atomic.Int32{"A": {}, "B": {}}
	sent := map[string]map[int]time.Time{"A": {}, "B": {}}
	var sentMu sync.Mutex
	stop := make(chan struct{})
	var stopOnce sync.Once
	var wg sync.WaitGroup
	halt := func() { stopOnce.Do(func() { close(stop) }); wg.Wait() }
	for name, p := range map[string]*peer{"A": a, "B": b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 1; ; i++ {
				select {
				case <-stop:
					return
				case <-time.After(50 * time.Millisecond):
				}
				if name == "A" && aDown.Load() {
					i--
					continue
				}
				at := time.Now()
				if err := publishOn(p, "/cluster", map[string]any{"node": name, "n": i}); err != nil {
					failed[name].Add(1)
					continue
				}
				published[name].Store(int32(i))
				sentMu.Lock()
				sent[name][i] = at
				sentMu.Unlock()
			}
		}()
	}
	defer halt()

	// waitFor waits until stream name has received more than n messages.
	waitFor := func(name string, n int, within time.Duration, what string) {
		t.Helper()
		deadline := time.Now().Add(within)
		for {
			mu.Lock()
			got := streams[name].received
			mu.Unlock()
			if got > n {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: %s: node %s's stream stuck at %d messages (state %v)", kind, what, name, got, c.State())
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	count := func(name string) int {
		mu.Lock()
		defer mu.Unlock()
		return streams[name].received
	}

	// Both nodes' messages arrive through A: the engine is shared.
	waitFor("A", 10, waitLong, "before the failure")
	waitFor("B", 10, waitLong, "before the failure")

	// A dies.
	killed := time.Now()
	aDown.Store(true)
	a.mu.Lock()
	a.proc.Stop()
	a.mu.Unlock()
	beforeB := count("B")
	waitFor("B", beforeB+5, failoverBound, "after A died")
	var failover time.Duration
	mu.Lock()
	// The window: from the kill to the first message from B delivered
	// after it that was published after the kill.
	for n := streams["B"].last; n > 0; n-- {
		at, ok := streams["B"].at[n]
		sentMu.Lock()
		st, sok := sent["B"][n]
		sentMu.Unlock()
		if !ok || !sok || st.Before(killed) {
			break
		}
		failover = at.Sub(killed)
	}
	mu.Unlock()
	if cur := c.State(); cur != bayeux.StateConnected {
		t.Fatalf("state %v after failover", cur)
	}

	// A comes back (same port); messages published there reach the
	// client on B through the shared engine.
	a.restart(t)
	aDown.Store(false)
	beforeA := count("A")
	waitFor("A", beforeA+5, waitLong, "after A came back")
	waitFor("B", count("B")+5, waitLong, "after A came back")
	halt()
	time.Sleep(500 * time.Millisecond) // the last deliveries

	mu.Lock()
	defer mu.Unlock()
	sa, sb := streams["A"], streams["B"]
	lostB := int(published["B"].Load()) - sb.received
	t.Logf("SUMMARY cluster failover %s: failover window %v (bound %v); node B published %d, delivered %d, lost %d; node A published %d (%d failed), delivered %d, lost %d; %d duplicates, %d out of order",
		kind, failover.Round(time.Millisecond), failoverBound, published["B"].Load(), sb.received, lostB,
		published["A"].Load(), failed["A"].Load(), sa.received, int(published["A"].Load())-sa.received,
		sa.duplicates+sb.duplicates, sa.reordered+sb.reordered)
	if sa.duplicates+sb.duplicates > 0 || sa.reordered+sb.reordered > 0 {
		t.Errorf("%d duplicates, %d out of order", sa.duplicates+sb.duplicates, sa.reordered+sb.reordered)
	}
	if failover == 0 || failover > failoverBound {
		t.Errorf("failover window %v, want within %v", failover, failoverBound)
	}
}
