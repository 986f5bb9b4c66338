package bayeuxredis

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bayeux-go/sdk/bayeux"
	"github.com/bayeux-go/sdk/bayeux/bayeuxtest"
	"github.com/bayeux-go/sdk/ext/replay"
	"github.com/bayeux-go/sdk/transport/websocket"
)

const orders bayeux.Channel = "/event/Order__e"

// Lease settings of the group tests: short, so that the tests are fast.
const (
	testTTL    = 600 * time.Millisecond
	testRenew  = 150 * time.Millisecond
	testMargin = 150 * time.Millisecond
	// slack is what the tests allow on top of a bound of the design for
	// the scheduling of goroutines on a busy machine under -race (the
	// miniredis clock advances every 2ms, Redis round trips, the new
	// holder reading the position).
	slack = 150 * time.Millisecond
)

// tenureRec is one holding of the lease, as the tests saw it.
type tenureRec struct {
	member  int
	resume  int64 // the position the tenure resumed from
	hasPos  bool
	start   time.Time
	end     time.Time
	ended   bool
	overlap bool // another member was holding when it started
}

// procRec is one event a member's handler processed.
type procRec struct {
	member, tenure int
	id             int64
	at             time.Time
}

// group runs members of one consumer group against a bayeuxtest server
// with a replay log and records what they do.
type group struct {
	t   testing.TB
	srv *bayeuxtest.Server
	b   *backend

	mu      sync.Mutex
	tenures []tenureRec
	procs   []procRec
	current map[int]int // member -> index of its current tenure
	members []*member

	inHandler atomic.Int32
	overlaps  atomic.Int32

	pubMu     sync.Mutex
	published []int64
}

type member struct {
	idx    int
	c      *Consumer
	cancel context.CancelFunc
	done   chan struct{}
}

func newGroup(t testing.TB, b *backend) *group {
	srv := bayeuxtest.NewServer(bayeuxtest.WithReplay(0), bayeuxtest.WithOneChannelSubscriptions(true))
	t.Cleanup(srv.Close)
	return &group{t: t, srv: srv, b: b, current: map[int]int{}}
}

// start starts a new member, as a process manager starts a replica.
func (g *group) start(opts ...Option) *member {
	t := g.t
	rdb := newRedis(t, g.b)
	m := &member{done: make(chan struct{})}
	opts = append([]Option{WithLease(testTTL, testRenew, testMargin), WithStart(replay.StartAll),
		WithFlushInterval(10 * time.Millisecond),
		WithClientOptions(func() []bayeux.Option {
			return []bayeux.Option{bayeux.WithTransports(websocket.New()), bayeux.WithBackoff(10*time.Millisecond, 100*time.Millisecond)}
		})}, opts...)
	c, err := NewConsumer(rdb, "orders", g.srv.URL, opts...)
	if err != nil {
		t.Fatal(err)
	}
	// The member joins the group with its consumer set: another member's
	// tenure reads every member's consumer under g.mu.
	g.mu.Lock()
	m.idx, m.c = len(g.members), c
	g.members = append(g.members, m)
	g.mu.Unlock()
	c.onTenure = func(start bool) { g.tenure(m, start) }
	if err := c.Handle(orders, func(ctx context.Context, e *Event) {
		if g.inHandler.Add(1) > 1 {
			g.overlaps.Add(1)
		}
		g.mu.Lock()
		g.procs = append(g.procs, procRec{member: m.idx, tenure: g.current[m.idx], id: e.ReplayID, at: time.Now()})
		g.mu.Unlock()
		g.inHandler.Add(-1)
	}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	m.cancel = cancel
	go func() {
		defer close(m.done)
		if err := c.Run(ctx); err != nil {
			t.Errorf("member %d: Run: %v", m.idx, err)
		}
	}()
	return m
}

func (g *group) tenure(m *member, start bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !start {
		i := g.current[m.idx]
		g.tenures[i].end, g.tenures[i].ended = time.Now(), true
		return
	}
	r := tenureRec{member: m.idx, start: time.Now()}
	r.resume, r.hasPos = m.c.current.Load().Load(orders)
	for _, o := range g.members {
		if o != m && o.c.Holding() {
			r.overlap = true
		}
	}
	g.tenures = append(g.tenures, r)
	g.current[m.idx] = len(g.tenures) - 1
}

// publish publishes an event every interval until stop is closed.
func (g *group) publish(stop <-chan struct{}, every time.Duration) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(every)
		defer tick.Stop()
		for n := 0; ; n++ {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			id, err := g.srv.PublishEvent(orders, map[string]int{"n": n})
			if err != nil {
				g.t.Errorf("PublishEvent: %v", err)
				return
			}
			g.pubMu.Lock()
			g.published = append(g.published, id)
			g.pubMu.Unlock()
		}
	}()
	return done
}

// holder returns the member holding the lease, or nil.
func (g *group) holder() *member {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, m := range g.members {
		if m.c.Holding() {
			return m
		}
	}
	return nil
}

// processedIn returns how many events tenure i processed.
func (g *group) processedIn(i int) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	n := 0
	for _, p := range g.procs {
		if p.tenure == i {
			n++
		}
	}
	return n
}

func (g *group) numTenures() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.tenures)
}

// waitDelivering waits for a holder that has processed at least n events
// in its tenure and held the lease for at least age, and returns it with
// its tenure.
func (g *group) waitDelivering(n int, age time.Duration) (*member, int) {
	var m *member
	var ti int
	waitFor(g.t, 10*time.Second, fmt.Sprintf("a holder processing %d events", n), func() bool {
		m = g.holder()
		if m == nil {
			return false
		}
		g.mu.Lock()
		ti = g.current[m.idx]
		old := time.Since(g.tenures[ti].start) >= age
		g.mu.Unlock()
		return old && g.processedIn(ti) >= n
	})
	return m, ti
}

// waitAllProcessed waits until every published event was processed.
func (g *group) waitAllProcessed() {
	waitFor(g.t, 15*time.Second, "every published event processed", func() bool {
		g.pubMu.Lock()
		pub := slices.Clone(g.published)
		g.pubMu.Unlock()
		g.mu.Lock()
		seen := make(map[int64]bool, len(g.procs))
		for _, p := range g.procs {
			seen[p.id] = true
		}
		g.mu.Unlock()
		for _, id := range pub {
			if !seen[id] {
				return false
			}
		}
		return true
	})
}

// stopAll stops every member cleanly and waits for them.
func (g *group) stopAll() {
	for _, m := range g.members {
		m.cancel()
	}
	for _, m := range g.members {
		<-m.done
	}
}

// check verifies the guarantee over everything recorded: every published
// event processed; no two members delivering at once; an event processed
// again only in a later tenure that resumed from a position before it (it
// was processed but not committed when its tenure ended without a clean
// shutdown). It returns how many events were processed again, per tenure
// that ended.
func (g *group) check() (dups map[int]int) {
	t := g.t
	g.mu.Lock()
	defer g.mu.Unlock()
	if n := g.overlaps.Load(); n != 0 {
		t.Errorf("%d handler calls overlapped with another member's", n)
	}
	for i, r := range g.tenures {
		if r.overlap {
			t.Errorf("tenure %d (member %d) started while another member was holding", i, r.member)
		}
		if i > 0 {
			prev := g.tenures[i-1]
			if !prev.ended || prev.end.After(r.start) {
				t.Errorf("tenure %d started at %v before tenure %d ended (%v)", i, r.start, i-1, prev.end)
			}
		}
	}
	seen := make(map[int64]int) // id -> tenure that processed it last
	dups = make(map[int]int)    // tenure -> events processed again after it
	for _, p := range g.procs {
		first, again := seen[p.id]
		seen[p.id] = p.tenure
		if !again {
			continue
		}
		r := g.tenures[p.tenure]
		switch {
		case first == p.tenure:
			t.Errorf("event %d processed twice in tenure %d", p.id, p.tenure)
		case r.hasPos && p.id <= r.resume:
			t.Errorf("event %d processed again in tenure %d, which resumed after it (position %d)", p.id, p.tenure, r.resume)
		case !r.hasPos:
			t.Errorf("event %d processed again in tenure %d, which found no position", p.id, p.tenure)
		default:
			dups[first]++
		}
	}
	g.pubMu.Lock()
	defer g.pubMu.Unlock()
	for _, id := range g.published {
		if _, ok := seen[id]; !ok {
			t.Errorf("event %d was published and never processed", id)
		}
	}
	return dups
}

// uncommitted returns how many events tenure i processed after the
// position tenure i+1 resumed from: those processed but not committed when
// tenure i ended.
func (g *group) uncommitted(i int) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	if i+1 >= len(g.tenures) {
		return 0
	}
	next := g.tenures[i+1]
	n := 0
	for _, p := range g.procs {
		if p.tenure == i && (!next.hasPos || p.id > next.resume) {
			n++
		}
	}
	return n
}

// TestConsumerGroupSurvivesKills runs three members of a group against a
// bayeuxtest server with a replay log while events are published every
// 2ms, kills the holder four times without a clean shutdown (no commit, no
// release: the lease must expire), starting a new member each time, and
// checks the guarantee of docs/ha.md.
func TestConsumerGroupSurvivesKills(t *testing.T) {
	withBackends(t, func(t *testing.T, b *backend) {
		g := newGroup(t, b)
		for range 3 {
			g.start()
		}
		stopPub := make(chan struct{})
		pubDone := g.publish(stopPub, 2*time.Millisecond)
		const kills = 4
		type kill struct {
			tenure   int
			takeover time.Duration
		}
		var killed []kill
		for k := range kills {
			// Kill at different points of the flush cycle.
			m, ti := g.waitDelivering(30, 50*time.Millisecond+time.Duration(k)*37*time.Millisecond)
			before := g.numTenures()
			at := time.Now()
			m.c.crash()
			<-m.done
			g.start() // the process manager starts a replacement
			waitFor(t, 5*time.Second, "a new holder", func() bool { return g.numTenures() > before })
			g.mu.Lock()
			takeover := g.tenures[before].start.Sub(at)
			g.mu.Unlock()
			if bound := testTTL + testRenew + slack; takeover > bound {
				t.Errorf("takeover after kill took %v, above TTL %v + renew interval %v (+%v slack)", takeover, testTTL, testRenew, slack)
			}
			killed = append(killed, kill{ti, takeover})
		}
		g.waitDelivering(30, 50*time.Millisecond)
		close(stopPub)
		<-pubDone
		g.waitAllProcessed()
		g.stopAll()
		dups := g.check()
		if t.Failed() {
			g.dump(t)
		}
		total := 0
		for _, k := range killed {
			u := g.uncommitted(k.tenure)
			t.Logf("kill of tenure %d: takeover %v; %d events processed but not committed, %d processed again", k.tenure, k.takeover.Round(time.Millisecond), u, dups[k.tenure])
			if dups[k.tenure] > u {
				t.Errorf("tenure %d: %d events processed again, more than the %d processed but not committed", k.tenure, dups[k.tenure], u)
			}
			total += dups[k.tenure]
		}
		for ti, n := range dups {
			if !slices.ContainsFunc(killed, func(k kill) bool { return k.tenure == ti }) {
				t.Errorf("tenure %d ended without a kill, yet %d of its events were processed again", ti, n)
			}
		}
		g.pubMu.Lock()
		t.Logf("%d events published, %d processed again in all, %d tenures", len(g.published), total, g.numTenures())
		g.pubMu.Unlock()
	})
}

// TestConsumerGroupRedisOutage takes Redis away while a member delivers:
// the holder stops delivering before its lease could expire, nothing is
// delivered while Redis is away, and once Redis is back a member takes over
// from the shared position and nothing is lost.
func TestConsumerGroupRedisOutage(t *testing.T) {
	withBackends(t, func(t *testing.T, b *backend) {
		g := newGroup(t, b)
		for range 3 {
			g.start()
		}
		stopPub := make(chan struct{})
		pubDone := g.publish(stopPub, 2*time.Millisecond)
		_, ti := g.waitDelivering(30, 50*time.Millisecond)
		downAt := time.Now()
		b.down()
		waitFor(t, 5*time.Second, "the holder to stop delivering", func() bool {
			g.mu.Lock()
			defer g.mu.Unlock()
			return g.tenures[ti].ended
		})
		g.mu.Lock()
		stoppedAt := g.tenures[ti].end
		g.mu.Unlock()
		// Its last renewal was sent before Redis went away: it must stop
		// within TTL - margin of that.
		if bound := testTTL - testMargin + slack; stoppedAt.Sub(downAt) > bound {
			t.Errorf("the holder stopped %v after Redis went away, above TTL - margin = %v (+%v slack)", stoppedAt.Sub(downAt), testTTL-testMargin, slack)
		}
		time.Sleep(testTTL) // Redis stays away a whole TTL
		g.mu.Lock()
		for _, p := range g.procs {
			if p.at.After(stoppedAt) {
				t.Errorf("event %d processed by member %d at %v, while Redis was away (delivery stopped at %v)", p.id, p.member, p.at, stoppedAt)
			}
		}
		tenuresWhileDown := len(g.tenures) - 1 - ti
		g.mu.Unlock()
		if tenuresWhileDown != 0 {
			t.Errorf("%d tenures started while Redis was away", tenuresWhileDown)
		}
		b.up()
		waitFor(t, 10*time.Second, "a holder after Redis came back", func() bool { return g.numTenures() > ti+1 })
		g.waitDelivering(30, 50*time.Millisecond)
		close(stopPub)
		<-pubDone
		g.waitAllProcessed()
		g.stopAll()
		dups := g.check()
		t.Logf("stopped %v after Redis went away; %d processed but not committed, %d processed again", stoppedAt.Sub(downAt).Round(time.Millisecond), g.uncommitted(ti), dups[ti])
	})
}

// dump logs each tenure, to explain a failure.
func (g *group) dump(t *testing.T) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for i, r := range g.tenures {
		var first, last int64 = -9, -9
		n := 0
		for _, p := range g.procs {
			if p.tenure == i {
				if n == 0 {
					first = p.id
				}
				last = p.id
				n++
			}
		}
		t.Logf("tenure %d member %d resume %d (%v) start %v end %v: %d procs, first %d last %d", i, r.member, r.resume, r.hasPos, r.start.Format("05.000"), r.end.Format("05.000"), n, first, last)
	}
}
