package reliability

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bayeux-go/sdk/bayeux"
	"github.com/bayeux-go/sdk/bayeux/bayeuxtest"
	"github.com/bayeux-go/sdk/ext/ack"
	"github.com/bayeux-go/sdk/ext/replay"
	"github.com/bayeux-go/sdk/internal/chaosproxy"
)

// chaosMaxInterval is the server's maxInterval in the runs with
// extensions: longer than any gap between two connects the faults cause
// (a stall of at most 3 s, a failed connect, a backoff of at most 1 s), so
// that the ack run's session, and with it the server's queue of
// unacknowledged events, survives every fault.
const chaosMaxInterval = 15 * time.Second

// extRun is one kind of chaos run with extensions.
type extRun struct {
	name        string
	ack, replay bool
	kinds       []chaosproxy.Kind
	restarts    bool
	// lossy runs assert no duplicate, no disorder and recovery, and
	// count the messages lost (the faults include some the run's
	// extensions cannot cover).
	lossy bool
}

// extRuns are the runs of TestChaosExtensions, each on every transport.
var extRuns = []extRun{
	// ack: every fault of the proxy, no restart: a bayeuxtest restart
	// drops the sessions, and the queue of unacknowledged events with
	// them (as a CometD server's restart does), which ack cannot cover.
	{name: "ack", ack: true, kinds: chaosproxy.Kinds},
	// replay with ack: ack covers the responses lost within a session,
	// replay the events published while the session was gone (the
	// bayeuxtest replay log survives Restart, as Salesforce's event bus
	// survives a server's restart).
	{name: "replay+ack", ack: true, replay: true, kinds: chaosproxy.Kinds, restarts: true},
	// replay alone (as against Salesforce, which has no ack): restarts,
	// and HTTP 503s, which lose no response.
	{name: "replay", replay: true, kinds: []chaosproxy.Kind{chaosproxy.Status5xx}, restarts: true},
	// replay alone under every fault: an event lost with a response
	// within a session is not sent again (the session goes on, nothing
	// re-subscribes), and the next resume starts after the last event
	// handled, beyond the gap. The run counts those losses.
	{name: "replay-lossy", replay: true, kinds: chaosproxy.Kinds, restarts: true, lossy: true},
}

// replayReorderReason is why replay alone may deliver events out of
// order.
const replayReorderReason = "under every fault, a torn response loses the events it carried (a gap); " +
	"a later resume may bring such events back after later ones were delivered, and ext/replay delivers them " +
	"late rather than dropping them. Bayeux gives no order across responses; with ack the server keeps events " +
	"until acknowledged and the order holds (the replay+ack runs)."

// TestChaosExtensions runs, for each transport and each of extRuns, a
// subscriber using the run's extensions through the fault-injecting proxy
// while the server publishes numbered messages (replayable events in the
// replay runs), and asserts that every message arrives exactly once, in
// order (lossy runs: at most once, in order, and the last one arrives). The runs are concurrent with each other and with
// TestChaos: they wait on the network, not the CPU.
func TestChaosExtensions(t *testing.T) {
	if testing.Short() {
		t.Skip("chaos runs are skipped in -short mode")
	}
	t.Parallel()
	var wg sync.WaitGroup
	for _, run := range extRuns {
		for _, tr := range transports {
			wg.Add(1)
			go func() {
				defer wg.Done()
				t.Run(run.name+"/"+tr.name, func(t *testing.T) { runChaosExt(t, run, tr.name, tr.new) })
			}()
		}
	}
	wg.Wait()
}

// exactlyOnce checks a stream of messages numbered from 1.
type exactlyOnce struct {
	seen       []bool
	last       int
	lastAt     time.Time
	maxSilence time.Duration
	received   int // distinct numbers
	duplicates int
	reordered  int      // distinct numbers delivered after a greater one
	late       [][2]int // the first (n, last) pairs out of order
	dupes      []int    // the first duplicates
}

func (e *exactlyOnce) see(n int) {
	if n <= 0 {
		return
	}
	for len(e.seen) <= n {
		e.seen = append(e.seen, false)
	}
	if e.seen[n] {
		e.duplicates++
		if len(e.dupes) < 5 {
			e.dupes = append(e.dupes, n)
		}
		return
	}
	e.seen[n] = true
	e.received++
	if n < e.last {
		e.reordered++
		if len(e.late) < 5 {
			e.late = append(e.late, [2]int{n, e.last})
		}
		return
	}
	now := time.Now()
	if !e.lastAt.IsZero() {
		e.maxSilence = max(e.maxSilence, now.Sub(e.lastAt))
	}
	e.last, e.lastAt = n, now
}

// missing returns the first (at most max) numbers up to last never seen.
func (e *exactlyOnce) missing(last, max int) []int {
	var out []int
	for n := 1; n <= last && len(out) < max; n++ {
		if n >= len(e.seen) || !e.seen[n] {
			out = append(out, n)
		}
	}
	return out
}

func runChaosExt(t *testing.T, run extRun, name string, newTransport func() bayeux.Transport) {
	sopts := []bayeuxtest.Option{
		bayeuxtest.WithTimeout(chaosServerTimeout),
		bayeuxtest.WithMaxInterval(chaosMaxInterval),
		bayeuxtest.WithAckExtension(run.ack),
		// Over HTTP, events only in /meta/connect replies (as in
		// TestChaos): replayed events then come in order with new ones.
		bayeuxtest.WithMetaConnectDeliveryOnly(name != bayeux.ConnectionTypeWebSocket),
	}
	if run.replay {
		sopts = append(sopts, bayeuxtest.WithReplay(0))
	}
	srv, proxy, proxyURL := chaosServer(t, sopts...)

	var exts []bayeux.MessageExtender
	var ackExt *ack.Extension
	var replayExt *replay.Extension
	if run.ack {
		ackExt = ack.New()
		exts = append(exts, ackExt)
	}
	if run.replay {
		replayExt = replay.New()
		exts = append(exts, replayExt)
	}
	var reconnections, errorsSeen atomic.Int32
	sub, err := bayeux.NewClient(proxyURL, append(chaosClientOptions(newTransport, &errorsSeen, &reconnections),
		bayeux.WithExtensions(exts...))...)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), *chaosDuration+2*time.Minute)
	defer cancel()
	if err := sub.Connect(ctx); err != nil {
		t.Fatal(err)
	}

	var mu sync.Mutex
	var seq exactlyOnce
	const channel = "/chaos/server"
	_, err = sub.Subscribe(ctx, channel, func(m bayeux.Message) {
		var d numbered
		var err error
		if run.replay {
			var ev struct {
				Payload numbered `json:"payload"`
			}
			err = json.Unmarshal(m.Data, &ev)
			d = ev.Payload
		} else {
			err = json.Unmarshal(m.Data, &d)
		}
		if err != nil {
			t.Errorf("undecodable event %s: %v", m.Data, err)
			return
		}
		mu.Lock()
		seq.see(d.N)
		mu.Unlock()
	})
	if err != nil {
		t.Fatal(err)
	}

	stop := make(chan struct{})
	var wg sync.WaitGroup
	var published, restarts atomic.Int32
	wg.Add(2)
	go func() { // the server publishes every 5 ms
		defer wg.Done()
		for i := 1; ; i++ {
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
			}
			var err error
			if run.replay {
				_, err = srv.PublishEvent(channel, numbered{"server", i})
			} else {
				err = srv.Publish(channel, numbered{"server", i})
			}
			if err != nil {
				t.Errorf("server publish: %v", err)
				return
			}
			published.Store(int32(i))
		}
	}()
	go func() {
		defer wg.Done()
		var restarting *bayeuxtest.Server
		if run.restarts {
			restarting = srv
		}
		injectFaults(stop, proxy, run.kinds, restarting, &restarts, true)
	}()
	time.Sleep(*chaosDuration)
	close(stop)
	wg.Wait()
	proxy.Clear()
	if run.restarts {
		srv.Restart()
		restarts.Add(1)
	}

	// Faults off: the server publishes 20 more (while the client
	// handshakes again after the last restart); every message must
	// arrive (in lossy runs: the last one).
	start := time.Now()
	want := int(published.Load())
	for range 20 {
		want++
		if run.replay {
			_, err = srv.PublishEvent(channel, numbered{"server", want})
		} else {
			err = srv.Publish(channel, numbered{"server", want})
		}
		if err != nil {
			t.Fatalf("server publish: %v", err)
		}
		time.Sleep(5 * time.Millisecond)
	}
	for {
		mu.Lock()
		done := seq.received >= want || run.lossy && seq.last >= want
		mu.Unlock()
		if done || time.Since(start) > recoveryBound {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	complete := time.Since(start)

	dctx, dcancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer dcancel()
	_ = sub.Disconnect(dctx)

	mu.Lock()
	defer mu.Unlock()
	faults, total := faultFigures(proxy)
	var ackDropped, replayDropped int64
	if ackExt != nil {
		ackDropped = ackExt.Dropped()
	}
	if replayExt != nil {
		replayDropped = replayExt.Dropped()
	}
	lost := want - seq.received
	t.Logf("faults: %s, restarts=%d, handshakes=%d", faults, restarts.Load(), srv.HandshakeCount())
	t.Logf("published %d, delivered %d, longest silence %v, copies dropped by ack %d, by replay %d",
		want, seq.received, seq.maxSilence.Round(time.Millisecond), ackDropped, replayDropped)
	t.Logf("SUMMARY chaos %s %s %v: %d faults + %d restarts survived, %d reconnections, %d errors reported, %d messages checked, %d duplicates, %d out of order, %d lost, all delivered %v after the faults stopped",
		run.name, name, *chaosDuration, total, restarts.Load(), reconnections.Load(), errorsSeen.Load(),
		seq.received+seq.duplicates, seq.duplicates, seq.reordered, lost, complete.Round(time.Millisecond))
	if seq.received == 0 {
		t.Errorf("%s %s: no message delivered", run.name, name)
	}
	if seq.duplicates > 0 {
		t.Errorf("%s %s: %d duplicates (first %v)", run.name, name, seq.duplicates, seq.dupes)
	}
	if seq.reordered > 0 && !run.ack && run.lossy && !t.Failed() {
		t.Logf("out of order (n after last): %v", seq.late)
		skipKnownBug(t, fmt.Sprintf("%d messages out of order: %s", seq.reordered, replayReorderReason))
	}
	if seq.reordered > 0 {
		t.Errorf("%s %s: %d out of order (n after last: %v)", run.name, name, seq.reordered, seq.late)
	}
	switch {
	case run.lossy && seq.last < want:
		t.Errorf("%s %s: the last message (%d) not delivered %v after the faults stopped (last delivered %d)",
			run.name, name, want, recoveryBound, seq.last)
	case !run.lossy && lost > 0:
		t.Errorf("%s %s: %d of %d messages lost (first %v, last delivered %d; %d handshakes: more than one means the session was lost)",
			run.name, name, lost, want, seq.missing(want, 5), seq.last, srv.HandshakeCount())
	}
}
