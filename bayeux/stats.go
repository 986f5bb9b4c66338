package bayeux

import (
	"sync/atomic"
	"time"
)

// Stats is a snapshot of a Client's counters, returned by Client.Stats:
// what a service that consumes events is watched by (deliveries per
// second, drops, a queue building up, a session that keeps
// re-handshaking, no event for ten minutes). Counters only grow over the
// client's lifetime; take two snapshots and subtract for a rate.
type Stats struct {
	// State is the session's state and Transport the connection type in
	// use, when the snapshot was taken.
	State     State
	Transport string

	// Received counts the events that arrived (replies not included),
	// before filter extensions; Delivered the handler calls (and Next
	// returns) of every subscription and listener: an event matching two
	// subscriptions is delivered twice.
	Received  uint64
	Delivered uint64
	// Dropped counts the events dropped, by reason.
	Dropped Drops
	// Queued is how many events wait in the subscriptions' queues now;
	// QueueHighWater the most any one subscription's queue held at once.
	Queued         int
	QueueHighWater int

	// PublishesSent counts the publishes and calls sent (each attempt);
	// PublishesFailed those that returned an error to their caller;
	// PublishesResent those sent again in a new session because the
	// server did not know the one they were sent in.
	PublishesSent   uint64
	PublishesFailed uint64
	PublishesResent uint64

	// Handshakes counts the successful handshakes (sessions created),
	// Rehandshakes those after the first (the server lost the session,
	// or an extension asked for a new one).
	Handshakes   uint64
	Rehandshakes uint64
	// Connects counts the /meta/connect requests sent, ConnectFailures
	// those that failed (in transport, refused, or denied).
	Connects        uint64
	ConnectFailures uint64
	// TransportFailures counts the requests of any kind that failed in
	// transport (no answer, a torn connection, an HTTP error).
	TransportFailures uint64
	// BytesIn and BytesOut count the bytes of the Bayeux payloads
	// received and sent (for callback-polling, the query of each request);
	// WebSocketRedials the websocket connections opened after the first.
	// (Transports of your own count them if they use
	// TransportConfig.Counters.)
	BytesIn, BytesOut uint64
	WebSocketRedials  uint64

	// LastEvent is when the last event arrived, LastConnect when the last
	// /meta/connect succeeded (zero: never).
	LastEvent   time.Time
	LastConnect time.Time
}

// Drops counts dropped events by reason.
type Drops struct {
	// QueueFull: a subscription's queue was full (OverflowDrop, or beyond
	// OverflowBlock's margin): a slow consumer.
	QueueFull uint64
	// Filtered: a FilterExtension dropped it (a duplicate, say).
	Filtered uint64
	// Invalid: the server sent a message that is neither a reply nor an
	// event (no data, or a wildcard channel).
	Invalid uint64
}

// Total returns the sum of the drops.
func (d Drops) Total() uint64 { return d.QueueFull + d.Filtered + d.Invalid }

// Add returns the counters of s and o added up, for a program that runs
// several clients (a pool, or one client after another) and reports them
// as one: counts and Queued are summed, QueueHighWater is the larger,
// LastEvent and LastConnect the later. State and Transport are s's, or
// o's when s has no Transport.
func (s Stats) Add(o Stats) Stats {
	if s.Transport == "" {
		s.State, s.Transport = o.State, o.Transport
	}
	s.Received += o.Received
	s.Delivered += o.Delivered
	s.Dropped.QueueFull += o.Dropped.QueueFull
	s.Dropped.Filtered += o.Dropped.Filtered
	s.Dropped.Invalid += o.Dropped.Invalid
	s.Queued += o.Queued
	s.QueueHighWater = max(s.QueueHighWater, o.QueueHighWater)
	s.PublishesSent += o.PublishesSent
	s.PublishesFailed += o.PublishesFailed
	s.PublishesResent += o.PublishesResent
	s.Handshakes += o.Handshakes
	s.Rehandshakes += o.Rehandshakes
	s.Connects += o.Connects
	s.ConnectFailures += o.ConnectFailures
	s.TransportFailures += o.TransportFailures
	s.BytesIn += o.BytesIn
	s.BytesOut += o.BytesOut
	s.WebSocketRedials += o.WebSocketRedials
	if o.LastEvent.After(s.LastEvent) {
		s.LastEvent = o.LastEvent
	}
	if o.LastConnect.After(s.LastConnect) {
		s.LastConnect = o.LastConnect
	}
	return s
}

// SubscriptionStats is a snapshot of a Subscription's counters.
type SubscriptionStats struct {
	// Channel is the channel or pattern subscribed to, and State where
	// the subscription stands with the server.
	Channel Channel
	State   SubscriptionState
	// Delivered counts the handler calls (or Next returns), Dropped the
	// events dropped because the queue was full.
	Delivered uint64
	Dropped   uint64
	// Queued is how many events wait in the queue now, QueueHighWater the
	// most it held at once.
	Queued         int
	QueueHighWater int
}

// counters are a Client's atomic counters. Each is added to on a path
// that exists anyway, at most once per message or request; none takes a
// lock. The per-subscription counts live in the Subscriptions and are
// summed when a snapshot is taken.
type counters struct {
	filtered, invalid                      atomic.Uint64
	publishesSent, publishesFailed, resent atomic.Uint64
	handshakes, connects, connectFailures  atomic.Uint64
	transportFailures                      atomic.Uint64
	lastEvent, lastConnect                 atomic.Int64 // UnixNano; 0 never
	droppedGone                            atomic.Uint64
	deliveredGone                          atomic.Uint64
	highWaterGone                          atomic.Int64
}

// Stats returns a snapshot of the client's counters. It costs a walk
// over the subscriptions; call it as often as a metrics scrape does, not
// per message.
func (c *Client) Stats() Stats {
	st := Stats{
		State:             c.State(),
		Transport:         c.TransportName(),
		Received:          c.received.Load(),
		PublishesSent:     c.stats.publishesSent.Load(),
		PublishesFailed:   c.stats.publishesFailed.Load(),
		PublishesResent:   c.stats.resent.Load(),
		Handshakes:        c.stats.handshakes.Load(),
		Connects:          c.stats.connects.Load(),
		ConnectFailures:   c.stats.connectFailures.Load(),
		TransportFailures: c.stats.transportFailures.Load(),
		LastEvent:         unixNano(c.stats.lastEvent.Load()),
		LastConnect:       unixNano(c.stats.lastConnect.Load()),
	}
	if st.Handshakes > 0 {
		st.Rehandshakes = st.Handshakes - 1
	}
	tc := &c.ep.counters
	st.BytesIn, st.BytesOut = tc.BytesIn.Load(), tc.BytesOut.Load()
	if d := tc.Dials.Load(); d > 1 {
		st.WebSocketRedials = d - 1
	}
	st.Dropped.Filtered = c.stats.filtered.Load()
	st.Dropped.Invalid = c.stats.invalid.Load()
	st.Dropped.QueueFull = c.stats.droppedGone.Load()
	st.Delivered = c.stats.deliveredGone.Load()
	st.QueueHighWater = int(c.stats.highWaterGone.Load())
	for _, s := range c.subs.all() {
		ss := s.Stats()
		st.Delivered += ss.Delivered
		st.Dropped.QueueFull += ss.Dropped
		st.Queued += ss.Queued
		st.QueueHighWater = max(st.QueueHighWater, ss.QueueHighWater)
	}
	return st
}

// Stats returns a snapshot of the subscription's counters.
func (s *Subscription) Stats() SubscriptionStats {
	s.mu.Lock()
	queued, high := len(s.buf)-s.head, s.highWater
	s.mu.Unlock()
	return SubscriptionStats{Channel: s.channel, State: s.State(), Delivered: s.delivered.Load(),
		Dropped: s.dropped.Load(), Queued: queued, QueueHighWater: high}
}

// retire keeps the counts of a subscription that leaves the registry in
// the client's totals.
func (c *Client) retire(s *Subscription) {
	c.stats.deliveredGone.Add(s.delivered.Load())
	c.stats.droppedGone.Add(s.dropped.Load())
	s.mu.Lock()
	high := int64(s.highWater)
	s.mu.Unlock()
	for {
		cur := c.stats.highWaterGone.Load()
		if high <= cur || c.stats.highWaterGone.CompareAndSwap(cur, high) {
			return
		}
	}
}

func unixNano(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n)
}
