package replay_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bayeux-go/sdk/bayeux"
	"github.com/bayeux-go/sdk/bayeux/bayeuxtest"
	"github.com/bayeux-go/sdk/ext/replay"
)

// The environment of a consumer process started by TestKill9LosesNothing.
const (
	childURL   = "BAYEUX_REPLAY_CHILD_URL"
	childStore = "BAYEUX_REPLAY_CHILD_STORE"
	childLog   = "BAYEUX_REPLAY_CHILD_LOG"
	childLast  = "BAYEUX_REPLAY_CHILD_LAST"
)

// TestKill9LosesNothing is the promise made to Salesforce users, kept with
// the SDK's defaults for Salesforce (long-polling, ext/replay with a
// FileStore starting from StartAll; no overflow policy set): a server
// shaped like Salesforce's (replay ids, one channel per subscription, no
// acknowledgement) replays a backlog larger than MaxMessagesPerPayload
// into a slow handler, tears /meta/connect answers on the way back while
// new events are published, and the consumer process is killed with
// SIGKILL four times. The union of what the five processes handled holds
// every event; each process handles events in order and once; duplicates
// come only after a kill (the events handled but not yet stored), and
// are counted.
func TestKill9LosesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("starts five processes")
	}
	var tornCount atomic.Int64
	srv := bayeuxtest.NewServer(bayeuxtest.WithReplay(0), bayeuxtest.WithOneChannelSubscriptions(true),
		// Events ride on /meta/connect answers only, as Salesforce's do.
		bayeuxtest.WithMetaConnectDeliveryOnly(true))
	t.Cleanup(srv.Close)
	published := publish(t, srv, orders, bayeux.MaxMessagesPerPayload+500)

	dir := t.TempDir()
	storePath, logPath := filepath.Join(dir, "positions.json"), filepath.Join(dir, "handled.log")

	// Live events, and a /meta/connect answer torn every 200 ms (about
	// one in ten), while the consumers run.
	var mu sync.Mutex
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			id, err := srv.PublishEvent(orders, map[string]any{"live": i})
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			published = append(published, id)
			mu.Unlock()
			if i%10 == 9 && srv.PendingFaults() == 0 {
				tornCount.Add(1)
				srv.InjectFault(bayeuxtest.Fault{Channel: bayeux.MetaConnect, Tear: true, Process: true})
			}
		}
	})

	start := func(last int64) *exec.Cmd {
		cmd := exec.Command(os.Args[0], "-test.run=^TestKill9Consumer$", "-test.v")
		cmd.Env = append(os.Environ(), childURL+"="+srv.URL, childStore+"="+storePath,
			childLog+"="+logPath, childLast+"="+strconv.FormatInt(last, 10))
		var out bytes.Buffer // shown only when the test fails
		cmd.Stdout, cmd.Stderr = &out, &out
		t.Cleanup(func() {
			if t.Failed() {
				t.Logf("consumer output:\n%s", out.String())
			}
		})
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd
	}
	const kills = 4
	for k := range kills {
		before := countLines(logPath)
		cmd := start(-1)
		// Kill once the process handled some events (mid-backlog for
		// the first ones).
		deadline := time.Now().Add(30 * time.Second)
		for countLines(logPath) < before+200+k*300 && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
		if err := cmd.Process.Kill(); err != nil {
			t.Fatal(err)
		}
		_ = cmd.Wait()
	}
	close(stop)
	wg.Wait()
	mu.Lock()
	last := published[len(published)-1]
	all := append([]int64(nil), published...)
	mu.Unlock()

	cmd := start(last)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("the last consumer: %v", err)
		}
	case <-time.After(60 * time.Second):
		_ = cmd.Process.Kill()
		<-done
		t.Fatal("the last consumer did not handle the last event in 60 s")
	}

	runs := readRuns(t, logPath)
	if len(runs) != kills+1 {
		t.Fatalf("%d runs logged, want %d", len(runs), kills+1)
	}
	seen := map[int64]bool{}
	duplicates := 0
	for r, ids := range runs {
		fresh := false // the run handled an event no earlier run had
		for i, id := range ids {
			if i > 0 && id <= ids[i-1] {
				t.Fatalf("run %d handled %d after %d: out of order or twice without a kill", r+1, id, ids[i-1])
			}
			if seen[id] {
				// Handled again: only right after a kill, the events
				// handled but not yet stored when it came.
				if fresh {
					t.Fatalf("run %d handled %d again after new events: a duplicate without a kill", r+1, id)
				}
				duplicates++
			}
			fresh = fresh || !seen[id]
			seen[id] = true
		}
	}
	missing := 0
	for _, id := range all {
		if !seen[id] {
			missing++
		}
	}
	t.Logf("%d events published (%d in the backlog), %d /meta/connect answers torn, %d runs, %d kills: %d missing, %d handled again after a kill",
		len(all), bayeux.MaxMessagesPerPayload+500, tornCount.Load(), len(runs), kills, missing, duplicates)
	if missing > 0 {
		t.Fatalf("%d events never handled", missing)
	}
}

// TestKill9Consumer is the consumer process of TestKill9LosesNothing: it
// logs "run", then the replay id of each event it handles, and returns
// once it handled the event whose id is in childLast (never, when it is
// -1: it is killed).
func TestKill9Consumer(t *testing.T) {
	url := os.Getenv(childURL)
	if url == "" {
		t.Skip("run by TestKill9LosesNothing")
	}
	last, _ := strconv.ParseInt(os.Getenv(childLast), 10, 64)
	store, err := replay.OpenFileStore(os.Getenv(childStore))
	if err != nil {
		t.Fatal(err)
	}
	log, err := os.OpenFile(os.Getenv(childLog), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer log.Close()
	if _, err := log.WriteString("run\n"); err != nil {
		t.Fatal(err)
	}
	ext := replay.New(replay.WithStore(store), replay.WithStart(replay.StartAll))
	c, err := bayeux.NewClient(url, bayeux.WithExtensions(ext),
		bayeux.WithBackoff(10*time.Millisecond, 100*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := c.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	n := 0
	if _, err := c.Subscribe(ctx, orders, func(m bayeux.Message) {
		id, _ := bayeux.RawInt(m.Data, "event", "replayId")
		if _, err := fmt.Fprintf(log, "%d\n", id); err != nil {
			t.Error(err)
		}
		if n++; n%20 == 0 {
			time.Sleep(time.Millisecond) // slower than the backlog arrives
		}
		if id == last {
			close(done)
		}
	}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
	case <-ctx.Done():
		t.Error("the last event never came")
	}
	if err := c.Disconnect(ctx); err != nil {
		t.Error(err)
	}
	<-c.Done()
	if err := store.Close(); err != nil {
		t.Error(err)
	}
}

// countLines returns the lines of the file at path (0 when absent).
func countLines(path string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	return strings.Count(string(b), "\n")
}

// readRuns returns the ids each run logged, in order.
func readRuns(t *testing.T, path string) [][]int64 {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var runs [][]int64
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if line == "run" {
			runs = append(runs, nil)
			continue
		}
		id, err := strconv.ParseInt(line, 10, 64)
		if err != nil || len(runs) == 0 {
			t.Fatalf("log line %q", line)
		}
		runs[len(runs)-1] = append(runs[len(runs)-1], id)
	}
	return runs
}
