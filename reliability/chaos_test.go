package reliability

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bayeux-go/sdk/bayeux"
	"github.com/bayeux-go/sdk/bayeux/bayeuxtest"
	"github.com/bayeux-go/sdk/internal/chaosproxy"
	"github.com/bayeux-go/sdk/internal/logtest"
	"github.com/bayeux-go/sdk/transport/callbackpoll"
	"github.com/bayeux-go/sdk/transport/longpoll"
	"github.com/bayeux-go/sdk/transport/websocket"
)

var chaosDuration = flag.Duration("chaos.duration", 15*time.Second,
	"how long each transport's chaos run injects faults (go test ./reliability -run Chaos -chaos.duration=5m)")

// Client settings of the chaos runs, and the bound on recovery they imply:
// once faults stop, a client needs at most one held connect to fail
// (server timeout + network delay), a backoff, a handshake and a
// re-subscribe (a network delay each) and the next connect.
const (
	chaosServerTimeout = time.Second
	chaosNetworkDelay  = 2 * time.Second
	chaosMaxBackoff    = time.Second
	recoveryBound      = chaosServerTimeout + 4*chaosNetworkDelay + chaosMaxBackoff + 2*time.Second
)

// transports are the transports every chaos run covers.
var transports = []struct {
	name string
	new  func() bayeux.Transport
}{
	{bayeux.ConnectionTypeLongPolling, func() bayeux.Transport { return longpoll.New() }},
	{bayeux.ConnectionTypeCallbackPolling, func() bayeux.Transport { return callbackpoll.New() }},
	{bayeux.ConnectionTypeWebSocket, func() bayeux.Transport {
		return websocket.New(websocket.WithPingInterval(time.Second), websocket.WithPongTimeout(time.Second))
	}},
}

// reuseRetryReason is why a publish through the chaos proxy may be
// delivered twice over the HTTP transports.
const reuseRetryReason = "wire.HTTP's WithReuseRetry (wire/http.go, the re-send in HTTP.Do) sends once more a request " +
	"that failed on a reused kept-alive connection before any byte of its answer, taking it that the server never " +
	"read it (a server closing an idle connection as the request goes out); but the chaos proxy may have forwarded " +
	"the publish, and the server processed it, before it dropped or reset the connection, so the re-sent publish " +
	"is delivered twice."

// TestChaos runs, for each transport, a subscriber through a
// fault-injecting proxy while numbered messages are published (by the
// server, and by a publishing client through the proxy too) and faults
// and server restarts are injected. Without ack or replay, messages may
// be lost (gaps are counted); none may be delivered twice or out of
// order, and once the faults stop the subscriber must be back, subscribed,
// within recoveryBound. One exception to order is counted apart: a
// client's publish that returned an error (its request stuck in a stall
// past its deadline) may still reach the server, after the next one.
func TestChaos(t *testing.T) {
	if testing.Short() {
		t.Skip("chaos runs are skipped in -short mode")
	}
	t.Parallel() // with TestChaosExtensions
	// The runs are concurrent whatever -parallel says (it defaults to the
	// number of CPUs, 2 in CI): they wait on the network, not the CPU.
	var wg sync.WaitGroup
	for _, tr := range transports {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t.Run(tr.name, func(t *testing.T) { runChaos(t, tr.name, tr.new) })
		}()
	}
	wg.Wait()
}

// sequence checks one stream of numbered messages.
type sequence struct {
	// failed holds the numbers whose publish returned an error (client
	// stream only): such a publish may still reach the server, late.
	failed     *sync.Map
	lateFailed int // failed publishes delivered after later ones
	last       int
	lastAt     time.Time
	maxSilence time.Duration // longest time between two deliveries
	late       [][2]int      // the first (n, last) pairs delivered out of order
	received   int
	duplicates int
	reordered  int
}

func (s *sequence) see(n int) {
	switch {
	case n == s.last:
		s.duplicates++
	case n < s.last && s.failed != nil && isFailed(s.failed, n):
		s.lateFailed++
	case n < s.last:
		s.reordered++
		if len(s.late) < 5 {
			s.late = append(s.late, [2]int{n, s.last})
		}
	default:
		now := time.Now()
		if !s.lastAt.IsZero() {
			s.maxSilence = max(s.maxSilence, now.Sub(s.lastAt))
		}
		s.received++
		s.last, s.lastAt = n, now
	}
}

func isFailed(m *sync.Map, n int) bool {
	_, ok := m.Load(n)
	return ok
}

type numbered struct {
	Src string `json:"src"`
	N   int    `json:"n"`
}

func runChaos(t *testing.T, name string, newTransport func() bayeux.Transport) {
	// Over HTTP the server keeps events for /meta/connect replies (as
	// Faye does, and CometD with metaConnectDeliveryOnly): events riding
	// on concurrent responses have no order (TestEventsOfConcurrentResponses
	// shows it), and the run checks that the client itself never reorders.
	// Over websocket the server pushes events as they come.
	srv, proxy, proxyURL := chaosServer(t, bayeuxtest.WithTimeout(chaosServerTimeout),
		bayeuxtest.WithMetaConnectDeliveryOnly(name != bayeux.ConnectionTypeWebSocket))

	var mu sync.Mutex
	var failedPublishes sync.Map
	seqs := map[string]*sequence{"server": {}, "client": {failed: &failedPublishes}}
	var probes atomic.Int32
	var recoveries, errorsSeen, resent atomic.Int32
	newClient := func(listen bool) *bayeux.Client {
		counted := &recoveries
		if !listen {
			counted = nil
		}
		opts := chaosClientOptions(newTransport, &errorsSeen, counted)
		if !listen {
			opts = append(opts, bayeux.WithLogger(countResent(&resent)))
		}
		c, err := bayeux.NewClient(proxyURL, opts...)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	ctx, cancel := context.WithTimeout(context.Background(), *chaosDuration+2*time.Minute)
	defer cancel()

	setup := time.Now()
	sub := newClient(true)
	if err := sub.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	_, err := sub.Subscribe(ctx, "/chaos/*", func(m bayeux.Message) {
		if m.Channel == "/chaos/probe" {
			probes.Add(1)
			return
		}
		var d numbered
		if err := json.Unmarshal(m.Data, &d); err != nil {
			t.Errorf("undecodable event %s: %v", m.Data, err)
			return
		}
		mu.Lock()
		defer mu.Unlock()
		if s := seqs[d.Src]; s != nil {
			s.see(d.N)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	pub := newClient(false)
	if err := pub.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	t.Logf("%s: clients connected and subscribed in %v", name, time.Since(setup).Round(time.Millisecond))

	stop := make(chan struct{})
	var wg sync.WaitGroup
	var published, clientPublished, clientFailed, restarts atomic.Int32
	wg.Add(3)
	go func() { // the server publishes every 5 ms
		defer wg.Done()
		for i := 1; ; i++ {
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
			}
			if err := srv.Publish("/chaos/server", numbered{"server", i}); err != nil {
				t.Errorf("server publish: %v", err)
				return
			}
			published.Store(int32(i))
		}
	}()
	go func() { // a client publishes through the proxy, one after another
		defer wg.Done()
		for i := 1; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			pctx, pcancel := context.WithTimeout(ctx, 3*time.Second)
			err := pub.Publish(pctx, "/chaos/client", numbered{"client", i})
			pcancel()
			clientPublished.Add(1)
			if err != nil {
				failedPublishes.Store(i, true)
				clientFailed.Add(1)
				time.Sleep(50 * time.Millisecond)
			} else {
				time.Sleep(10 * time.Millisecond)
			}
		}
	}()
	go func() {
		defer wg.Done()
		injectFaults(stop, proxy, chaosproxy.Kinds, srv, &restarts, false)
	}()
	time.Sleep(*chaosDuration)
	close(stop)
	wg.Wait()
	proxy.Clear()

	// Recovery from a last restart, faults off: the subscriber must
	// handshake again and re-subscribe; a probe published by the server
	// then reaches it.
	srv.Restart()
	restarts.Add(1)
	start := time.Now()
	for probes.Load() == 0 {
		if time.Since(start) > recoveryBound {
			t.Fatalf("%s: not recovered %v after the faults stopped (state %v, %d subscribers at the server)",
				name, recoveryBound, sub.State(), srv.Subscribers("/chaos/*"))
		}
		_ = srv.Publish("/chaos/probe", "probe")
		time.Sleep(100 * time.Millisecond)
	}
	recovered := time.Since(start)

	dctx, dcancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer dcancel()
	_ = pub.Disconnect(dctx)
	_ = sub.Disconnect(dctx)

	mu.Lock()
	defer mu.Unlock()
	s, c := seqs["server"], seqs["client"]
	faults, total := faultFigures(proxy)
	t.Logf("faults: %s, restarts=%d", faults, restarts.Load())
	t.Logf("server published %d, delivered %d, gaps %d, longest silence %v; client published %d (%d failed), delivered %d, of which %d failed ones late",
		published.Load(), s.received, int(published.Load())-s.received, s.maxSilence.Round(time.Millisecond),
		clientPublished.Load(), clientFailed.Load(), c.received+c.lateFailed, c.lateFailed)
	t.Logf("SUMMARY chaos %s %v: %d faults + %d restarts survived, %d reconnections, %d errors reported, %d messages checked, %d duplicates, %d out of order, re-subscribed and receiving %v after the last restart (bound %v)",
		name, *chaosDuration, total, restarts.Load(), recoveries.Load(), errorsSeen.Load(), s.received+c.received,
		s.duplicates+c.duplicates, s.reordered+c.reordered, recovered.Round(time.Millisecond), recoveryBound)
	if s.received == 0 {
		t.Errorf("%s: no message delivered during the run", name)
	}
	if s.duplicates == 0 && c.duplicates > 0 && name != bayeux.ConnectionTypeWebSocket {
		// Each duplicate must come from a publish re-sent after a stale
		// kept-alive connection (the publisher sends one at a time, so
		// one re-send duplicates at most one message), never otherwise.
		if n := resent.Load(); int(n) >= c.duplicates {
			t.Logf("client stream: %d duplicates, from %d publishes re-sent on a fresh connection: %s",
				c.duplicates, n, reuseRetryReason)
			c.duplicates = 0
		} else {
			t.Errorf("%s: %d of the publishing client's messages delivered twice, but only %d publishes were re-sent",
				name, c.duplicates, n)
		}
	}
	if s.duplicates+c.duplicates > 0 {
		t.Errorf("%s: %d duplicates (server stream %+v, client stream %+v)", name, s.duplicates+c.duplicates, *s, *c)
	}
	if n := s.reordered + c.reordered; n > 0 && !t.Failed() {
		t.Logf("out of order (n after last): server stream %v, client stream %v", s.late, c.late)
		t.Errorf("%s: %d messages out of order", name, n)
	}
}

// countResent returns a logger counting in n the requests other than
// /meta/connect that the HTTP transports re-sent on a fresh connection
// after a stale kept-alive connection (their Debug record).
func countResent(n *atomic.Int32) *slog.Logger {
	return slog.New(logtest.Func(func(r slog.Record) {
		if !strings.Contains(r.Message, "re-sent on a fresh connection") {
			return
		}
		if v, ok := logtest.Attr(r, "connect"); ok && !v.Bool() {
			n.Add(1)
		}
	}))
}

// injectFaults injects one of kinds every 100-700 ms (stalls and slow
// reads of 0.1-3 s) and, when srv is not nil, restarts it every 4-6 s,
// counting restarts, until stop is closed. With onePending, a fault that
// waits for a response is not injected while another one waits: faults
// then never pile up while the client backs off, and the network is never
// down for longer than a stall and a backoff.
func injectFaults(stop <-chan struct{}, proxy *chaosproxy.Proxy, kinds []chaosproxy.Kind, srv *bayeuxtest.Server, restarts *atomic.Int32, onePending bool) {
	next := time.Now().Add(5 * time.Second)
	for {
		select {
		case <-stop:
			return
		case <-time.After(time.Duration(100+rand.IntN(600)) * time.Millisecond):
		}
		if srv != nil && time.Now().After(next) {
			srv.Restart()
			restarts.Add(1)
			next = time.Now().Add(time.Duration(4000+rand.IntN(2000)) * time.Millisecond)
			continue
		}
		k := kinds[rand.IntN(len(kinds))]
		if onePending && waitsForChunk(k) && proxy.Pending() > 0 {
			continue
		}
		proxy.Inject(k, time.Duration(100+rand.IntN(2900))*time.Millisecond)
	}
}

// faultFigures returns the faults the proxy applied, "kind=N ..." sorted,
// and their total.
func faultFigures(proxy *chaosproxy.Proxy) (string, int) {
	counts := proxy.Counts()
	var faults []string
	total := 0
	for _, k := range chaosproxy.Kinds {
		faults = append(faults, fmt.Sprintf("%s=%d", k, counts[k]))
		total += counts[k]
	}
	sort.Strings(faults)
	return strings.Join(faults, " "), total
}

// chaosServer starts a bayeuxtest server configured by opts behind a chaos
// proxy, both closed when the test ends, and returns the URL of the
// server through the proxy.
func chaosServer(t *testing.T, opts ...bayeuxtest.Option) (*bayeuxtest.Server, *chaosproxy.Proxy, string) {
	t.Helper()
	srv := bayeuxtest.NewServer(opts...)
	t.Cleanup(srv.Close)
	proxy, proxied, err := chaosproxy.Front(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = proxy.Close() })
	return srv, proxy, proxied
}

// chaosClientOptions are the options of the chaos runs' clients: errors
// reported are counted in errorsSeen and, if reconnections is not nil,
// each move to the connected state in it.
func chaosClientOptions(newTransport func() bayeux.Transport, errorsSeen, reconnections *atomic.Int32) []bayeux.Option {
	opts := []bayeux.Option{
		bayeux.WithTransports(newTransport()),
		bayeux.WithMaxNetworkDelay(chaosNetworkDelay),
		bayeux.WithBackoff(100*time.Millisecond, chaosMaxBackoff),
		bayeux.WithTransportRetry(time.Second),
		bayeux.WithErrorHandler(func(error) { errorsSeen.Add(1) }),
	}
	if reconnections != nil {
		opts = append(opts, bayeux.WithStateListener(func(sc bayeux.StateChange) {
			if sc.To == bayeux.StateConnected && sc.From != bayeux.StateConnected {
				reconnections.Add(1)
			}
		}))
	}
	return opts
}

// waitsForChunk reports whether a fault of kind k waits for the next
// chunk of traffic to act on.
func waitsForChunk(k chaosproxy.Kind) bool {
	switch k {
	case chaosproxy.Truncate, chaosproxy.Status5xx, chaosproxy.Garbage, chaosproxy.CloseAfterResponse:
		return true
	}
	return false
}
