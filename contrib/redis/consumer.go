package bayeuxredis

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bayeux-go/sdk/bayeux"
	"github.com/bayeux-go/sdk/ext/replay"
	"github.com/bayeux-go/sdk/transport/longpoll"
	"github.com/bayeux-go/sdk/transport/websocket"
	"github.com/redis/go-redis/v9"
)

// ErrNotHolder is returned by Event.Ack when the tenure the event was
// delivered in has ended: the position did not move, and the group's next
// holder gets the event again.
var ErrNotHolder = errors.New("bayeuxredis: the lease of this event's tenure is no longer held")

// Handler handles one event. ctx ends when this member stops delivering
// (its lease is lost or about to expire, or Run is ending): a handler that
// works for long should give up then, since the event will be delivered
// again to the next holder.
type Handler func(ctx context.Context, e *Event)

// Event is an event delivered to a Handler.
type Event struct {
	// Message is the event as the server sent it.
	Message bayeux.Message
	// ReplayID is the event's data.event.replayId; HasReplayID is false
	// for an event without one, which moves no position.
	ReplayID    int64
	HasReplayID bool

	t *tenure
}

// Ack moves the group's position on the event's channel to this event
// (WithManualAck): once written, the group resumes after it. Acknowledging
// an event acknowledges the earlier events of its channel; an Ack of an
// event older than the position changes nothing. It returns ErrNotHolder
// when the tenure the event was delivered in has ended. Without
// WithManualAck the position moves when the handler returns and Ack is not
// needed.
func (e *Event) Ack() error {
	if e.t == nil || !e.HasReplayID {
		return nil
	}
	return e.t.commit(e.Message.Channel, e.ReplayID, true)
}

// Consumer is one member of a group of processes that consume the same
// channels of a Bayeux server (Salesforce's Streaming API, or any server
// with the replay extension) with one shared position in Redis: at most one
// member, the holder of the group's lease, is subscribed at a time; it
// resumes after the last event the group committed, and when it dies or
// loses Redis, another member takes over from there. Delivery is at least
// once: see the package documentation.
type Consumer struct {
	rdb   redis.UniversalClient
	group string
	url   string
	cfg   config

	mu       sync.Mutex
	handlers map[bayeux.Channel]Handler
	running  bool

	holding atomic.Bool
	tenures atomic.Int64
	writes  atomic.Int64 // scripts of the ended tenures' stores
	written atomic.Int64
	current atomic.Pointer[Store]

	// statsMu guards client, the current tenure's Bayeux client, and
	// ended, the added-up Stats of the ended tenures' clients.
	statsMu sync.Mutex
	client  *bayeux.Client
	ended   bayeux.Stats

	// kill, closed by crash, ends Run as a dying process would: no
	// commit, no release. For tests.
	kill     chan struct{}
	killOnce sync.Once
	// onTenure, when set, is called when a tenure starts delivering
	// (start true) and when it stops. For tests.
	onTenure func(start bool)
}

// NewConsumer returns a member of group consuming the Bayeux server at url,
// with the group's lease and position in Redis through rdb. Register
// handlers with Handle, then call Run.
func NewConsumer(rdb redis.UniversalClient, group, url string, opts ...Option) (*Consumer, error) {
	if rdb == nil {
		return nil, errors.New("bayeuxredis: nil Redis client")
	}
	if group == "" {
		return nil, errors.New("bayeuxredis: empty group name")
	}
	c := &Consumer{rdb: rdb, group: group, url: url, handlers: make(map[bayeux.Channel]Handler),
		kill: make(chan struct{}), cfg: config{start: replay.StartNew}}
	for _, o := range opts {
		if o != nil {
			o(&c.cfg)
		}
	}
	if err := c.cfg.fill(); err != nil {
		return nil, err
	}
	return c, nil
}

// Handle registers h for channel, a channel name (replay applies to names,
// not to patterns). Call it before Run.
func (c *Consumer) Handle(channel bayeux.Channel, h Handler) error {
	if err := channel.Validate(); err != nil {
		return err
	}
	if channel.HasWildcard() || channel.Type() != bayeux.BroadcastChannel {
		return fmt.Errorf("bayeuxredis: %s is not a broadcast channel name (replay applies to channel names only)", channel)
	}
	if h == nil {
		return errors.New("bayeuxredis: nil handler")
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.running {
		return errors.New("bayeuxredis: Handle called after Run")
	}
	c.handlers[channel] = h
	return nil
}

// Holding reports whether this member holds the lease and delivers.
func (c *Consumer) Holding() bool { return c.holding.Load() }

// Stats are a Consumer's counters.
type Stats struct {
	// Tenures is how many times this member took the lease.
	Tenures int64
	// Writes is how many fenced writes (one Lua script, one round trip
	// each) this member sent to Redis; Positions how many channel positions
	// they carried.
	Writes, Positions int64
}

// Stats returns the Consumer's counters.
func (c *Consumer) Stats() Stats {
	s := Stats{Tenures: c.tenures.Load(), Writes: c.writes.Load(), Positions: c.written.Load()}
	if st := c.current.Load(); st != nil {
		w, p := st.Writes()
		s.Writes += w
		s.Positions += p
	}
	return s
}

// ClientStats returns the counters of this member's Bayeux clients (one
// per tenure of the lease), added up with bayeux.Stats.Add: those of the
// ended tenures, which only grow, and those of the current one, whose
// State, Transport and Queued it shows (StateDisconnected, no transport and
// nothing queued between tenures). contrib/otel's RegisterStats reports
// it.
func (c *Consumer) ClientStats() bayeux.Stats {
	c.statsMu.Lock()
	client, ended := c.client, c.ended
	c.statsMu.Unlock()
	if client == nil {
		return ended
	}
	return client.Stats().Add(ended)
}

// Run takes part in the group until ctx ends: it waits for the lease, then
// subscribes and delivers until it loses the lease, the session ends or
// ctx ends, and waits for the lease again. When ctx ends it stops
// delivering, writes the committed positions and releases the lease, so
// that another member takes over at once, and returns nil. It returns an
// error at once for a Consumer without handlers or already running.
func (c *Consumer) Run(ctx context.Context) error {
	c.mu.Lock()
	if c.running {
		c.mu.Unlock()
		return errors.New("bayeuxredis: Run called twice")
	}
	if len(c.handlers) == 0 {
		c.mu.Unlock()
		return errors.New("bayeuxredis: no handler (call Handle before Run)")
	}
	c.running = true
	c.mu.Unlock()
	log := c.cfg.log()
	for {
		l, sent := c.acquire(ctx)
		if l == nil {
			return nil
		}
		ok := c.serve(ctx, l, sent)
		if ctx.Err() != nil || c.killed() {
			return nil
		}
		if !ok {
			log.Debug("bayeux group tenure failed; waiting before trying again", "group", c.group)
			if !c.wait(ctx, c.cfg.retry) {
				return nil
			}
		}
	}
}

func (c *Consumer) killed() bool {
	select {
	case <-c.kill:
		return true
	default:
		return false
	}
}

// crash ends Run as the death of the process would: the holder stops
// delivering, writes nothing more and keeps the lease until it expires.
func (c *Consumer) crash() { c.killOnce.Do(func() { close(c.kill) }) }

// wait waits d; false when ctx ended or the member was killed.
func (c *Consumer) wait(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-c.kill:
		return false
	case <-t.C:
		return true
	}
}

// acquire waits for the lease; it returns it with the time its request was
// sent, or nil when ctx ended.
func (c *Consumer) acquire(ctx context.Context) (*Lease, time.Time) {
	log := c.cfg.log()
	failing := false
	for {
		if ctx.Err() != nil || c.killed() {
			return nil, time.Time{}
		}
		sent := time.Now()
		actx, cancel := context.WithTimeout(ctx, c.cfg.ttl)
		l, err := AcquireLease(actx, c.rdb, c.group, c.cfg.ttl)
		cancel()
		switch {
		case err != nil && !failing && ctx.Err() == nil:
			failing = true
			log.Warn("bayeux group: cannot reach Redis to take the lease; retrying", "group", c.group, "err", err)
		case err == nil && failing:
			failing = false
			log.Info("bayeux group: Redis reachable again", "group", c.group)
		}
		if l != nil {
			return l, sent
		}
		if !c.wait(ctx, c.cfg.retry) {
			return nil, time.Time{}
		}
	}
}

// How a tenure ends.
type ending int

const (
	endShutdown ending = iota + 1 // Run's ctx ended
	endKilled                     // crash
	endFailed                     // the session failed or ended
	endLost                       // the lease is held by another token
	endExpiring                   // renewals failed until the safety deadline
)

func (e ending) String() string {
	return [...]string{"", "shutdown", "killed", "session failed", "lease lost", "lease not renewed in time"}[e]
}

type renewResult struct {
	sent time.Time
	err  error
}

// serve is one tenure: it delivers while it holds l, and reports whether it
// delivered at all.
func (c *Consumer) serve(ctx context.Context, l *Lease, sent time.Time) bool {
	log := c.cfg.log().With("group", c.group)
	cfg := &c.cfg
	deadline := sent.Add(cfg.ttl - cfg.margin)

	sctx, scancel := context.WithCancel(context.Background())
	defer scancel()
	octx, ocancel := context.WithDeadline(ctx, deadline)
	fencedCh := make(chan struct{})
	var fencedOnce, failedOnce sync.Once
	store, err := OpenStore(octx, c.rdb, c.group, l.Token(), WithStoreFlushInterval(cfg.flushInterval),
		WithStoreErrorHandler(func(err error) {
			if errors.Is(err, ErrFenced) {
				fencedOnce.Do(func() { close(fencedCh) })
				return
			}
			// Once per tenure: the store retries every flush interval.
			failedOnce.Do(func() {
				log.Warn("bayeux group: writing the position failed; retrying every flush interval", "err", err)
			})
		}))
	ocancel()
	if err != nil {
		log.Warn("bayeux group: cannot read the shared position; giving the lease up", "err", err)
		rctx, cancel := context.WithTimeout(sctx, cfg.margin)
		_ = l.Release(rctx)
		cancel()
		return false
	}
	c.tenures.Add(1)
	c.current.Store(store)

	tctx, tcancel := context.WithCancel(ctx)
	t := &tenure{c: c, ctx: tctx, cancel: tcancel, store: store}
	t.active.Store(true)
	c.holding.Store(true)
	if c.onTenure != nil {
		c.onTenure(true)
	}
	if cfg.onHolding != nil {
		cfg.onHolding(true)
	}
	log.Info("bayeux group: took the lease; subscribing from the shared position", "positions", store.Snapshot())

	client, err := c.newClient(t)
	var clientDone <-chan struct{}
	connected := make(chan error, 1)
	if err != nil {
		connected <- err
	} else {
		c.statsMu.Lock()
		c.client = client
		c.statsMu.Unlock()
		clientDone = client.Done()
		cctx, ccancel := context.WithTimeout(tctx, cfg.connectTime)
		go func() {
			defer ccancel()
			connected <- c.subscribe(cctx, client, t)
		}()
	}

	renewTimer := time.NewTimer(cfg.renew)
	defer renewTimer.Stop()
	watchdog := time.NewTimer(time.Until(deadline))
	defer watchdog.Stop()
	renewDone := make(chan renewResult, 1)
	renewing := false
	var end ending
	for end == 0 {
		select {
		case <-ctx.Done():
			end = endShutdown
		case <-c.kill:
			end = endKilled
		case err := <-connected:
			connected = nil
			if err != nil {
				log.Warn("bayeux group: cannot subscribe; giving the lease up", "err", err)
				end = endFailed
			}
		case <-clientDone:
			log.Warn("bayeux group: the session ended; giving the lease up", "err", client.Err())
			end = endFailed
		case <-fencedCh:
			end = endLost
		case <-renewTimer.C:
			renewing = true
			at, until := time.Now(), deadline
			go func() {
				rctx, cancel := context.WithDeadline(sctx, until)
				defer cancel()
				renewDone <- renewResult{sent: at, err: l.Renew(rctx)}
			}()
		case r := <-renewDone:
			renewing = false
			switch {
			case r.err == nil:
				deadline = r.sent.Add(cfg.ttl - cfg.margin)
				watchdog.Reset(time.Until(deadline))
				renewTimer.Reset(cfg.renew)
			case errors.Is(r.err, ErrLeaseLost):
				end = endLost
			default:
				log.Warn("bayeux group: renewing the lease failed; retrying", "err", r.err, "stopAt", deadline)
				renewTimer.Reset(cfg.renew / 2)
			}
		case <-watchdog.C:
			end = endExpiring
		}
	}

	// Stop delivering first: no handler is called from now on.
	t.stop()
	c.holding.Store(false)
	if cfg.onHolding != nil {
		cfg.onHolding(false)
	}
	log.Info("bayeux group: tenure ended; delivery stopped", "reason", end.String())
	scancel()
	if renewing {
		<-renewDone
	}
	if connected != nil {
		<-connected
	}
	// The time left before the lease can expire bounds the shutdown.
	limit := time.Until(deadline.Add(cfg.margin))
	if end == endShutdown || end == endFailed {
		limit = 5 * time.Second
	}
	if client != nil {
		dctx, cancel := context.WithTimeout(context.Background(), max(limit, 100*time.Millisecond))
		_ = client.Disconnect(dctx)
		select {
		case <-client.Done():
		case <-dctx.Done():
			log.Warn("bayeux group: handlers still running after the tenure ended")
		}
		cancel()
		final := client.Stats()
		final.State, final.Transport, final.Queued = bayeux.StateDisconnected, "", 0
		c.statsMu.Lock()
		c.ended, c.client = c.ended.Add(final), nil
		c.statsMu.Unlock()
	}
	switch end {
	case endKilled, endLost:
		store.abandon()
	default:
		wctx, cancel := context.WithTimeout(context.Background(), max(time.Until(deadline.Add(cfg.margin)), 100*time.Millisecond))
		if end == endShutdown || end == endFailed {
			cancel()
			wctx, cancel = context.WithTimeout(context.Background(), 5*time.Second)
		}
		if err := store.Close(wctx); err != nil {
			log.Warn("bayeux group: the last positions were not written; their events will be delivered again", "err", err)
		}
		if err := l.Release(wctx); err != nil {
			log.Debug("bayeux group: releasing the lease failed; it expires by itself", "err", err)
		}
		cancel()
	}
	w, p := store.Writes()
	c.writes.Add(w)
	c.written.Add(p)
	c.current.Store(nil)
	if c.onTenure != nil {
		c.onTenure(false)
	}
	return end != endFailed
}

// newClient creates the tenure's client, with the replay extension on the
// tenure's store.
func (c *Consumer) newClient(t *tenure) (*bayeux.Client, error) {
	var opts []bayeux.Option
	if c.cfg.clientOptions != nil {
		opts = append(opts, c.cfg.clientOptions()...)
	}
	var given bayeux.Options
	for _, o := range opts {
		if o != nil {
			o(&given)
		}
	}
	if len(given.Transports) == 0 {
		// New transports for each client: a Transport serves one Client.
		opts = append(opts, bayeux.WithTransports(websocket.New(), longpoll.New()))
	}
	t.rx = replay.New(replay.WithStore(extStore{t.store}), replay.WithStart(c.cfg.start))
	opts = append(opts, bayeux.WithExtensions(t.rx), bayeux.WithDeliveryQueue(c.cfg.queue, bayeux.OverflowBlock))
	return bayeux.NewClient(c.url, opts...)
}

// subscribe connects client and subscribes every handler's channel.
func (c *Consumer) subscribe(ctx context.Context, client *bayeux.Client, t *tenure) error {
	if err := client.Connect(ctx); err != nil {
		return err
	}
	if !t.rx.Enabled() {
		c.cfg.log().Warn("bayeux group: the server did not agree to replay; a takeover may miss events", "group", c.group)
	}
	c.mu.Lock()
	handlers := make(map[bayeux.Channel]Handler, len(c.handlers))
	for ch, h := range c.handlers {
		handlers[ch] = h
	}
	c.mu.Unlock()
	for ch, h := range handlers {
		if _, err := client.Subscribe(ctx, ch, t.deliver(h)); err != nil {
			return fmt.Errorf("subscribe to %s: %w", ch, err)
		}
	}
	return nil
}

// tenure is the state of one holding of the lease.
type tenure struct {
	c      *Consumer
	ctx    context.Context
	cancel context.CancelFunc
	store  *Store
	rx     *replay.Extension
	// active is cleared when the tenure stops delivering; no handler is
	// called and no Ack is taken after.
	active atomic.Bool
}

func (t *tenure) stop() {
	t.active.Store(false)
	t.cancel()
}

// deliver wraps h: called only while the tenure delivers, and committing
// the event's position when it returns (unless acks are manual).
func (t *tenure) deliver(h Handler) func(bayeux.Message) {
	return func(m bayeux.Message) {
		if !t.active.Load() {
			return
		}
		e := &Event{Message: m, t: t}
		e.ReplayID, e.HasReplayID = bayeux.RawInt(m.Data, "event", "replayId")
		h(t.ctx, e)
		if !t.c.cfg.manualAck && e.HasReplayID {
			_ = t.commit(m.Channel, e.ReplayID, false)
		}
	}
}

// commit moves the position of channel to id.
func (t *tenure) commit(channel bayeux.Channel, id int64, monotonic bool) error {
	if !t.active.Load() || t.store.Fenced() {
		return ErrNotHolder
	}
	if monotonic {
		if cur, ok := t.store.Load(channel); ok && cur >= id {
			return nil
		}
	}
	t.store.Save(channel, id)
	return nil
}

// extStore is the replay extension's view of a tenure's store: it reads
// the positions, and writes only the starting points the extension falls
// back to when the server refuses an id; the Consumer commits event ids
// itself, after the handler (or on Ack).
type extStore struct{ s *Store }

func (e extStore) Load(ch bayeux.Channel) (int64, bool) { return e.s.Load(ch) }

func (e extStore) Save(ch bayeux.Channel, id int64) {
	if id < 0 {
		e.s.Save(ch, id)
	}
}
