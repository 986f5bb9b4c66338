package bayeuxredis

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/bayeux-go/sdk/bayeux"
	"github.com/bayeux-go/sdk/ext/replay"
)

// Defaults of a Consumer's lease and delivery.
const (
	// DefaultLeaseTTL is how long the lease lives without a renewal.
	DefaultLeaseTTL = 10 * time.Second
	// DefaultQueue is each subscription's delivery queue (OverflowBlock:
	// a full queue slows the session down, no event is dropped).
	DefaultQueue = 1024
)

// Option configures a Consumer.
type Option func(*config)

type config struct {
	ttl           time.Duration
	renew         time.Duration // zero: ttl/3
	margin        time.Duration // zero: ttl/5
	retry         time.Duration // zero: the renew interval
	flushInterval time.Duration
	start         int64
	manualAck     bool
	queue         int
	clientOptions func() []bayeux.Option
	logger        *slog.Logger
	connectTime   time.Duration
	onHolding     func(holding bool)
}

// WithHoldingListener sets a function called with true when this member
// took the lease and starts delivering, and with false when it stopped
// delivering (for a status line, a health check or a metric). It is
// called from Run's goroutine and must not block.
func WithHoldingListener(fn func(holding bool)) Option {
	return func(c *config) { c.onHolding = fn }
}

// WithLease sets the lease's time to live (DefaultLeaseTTL), how often the
// holder renews it (zero: TTL/3) and the safety margin (zero: TTL/5): a
// holder whose renewals fail stops delivering at the time of its last
// successful renewal request plus TTL minus the margin, before Redis can
// give the lease to another member. The margin must cover the drift of the
// holder's clock against Redis's over one TTL and the time the holder takes
// to stop. NewConsumer refuses a renew interval that leaves no second
// renewal before that deadline.
func WithLease(ttl, renewEvery, margin time.Duration) Option {
	return func(c *config) { c.ttl, c.renew, c.margin = ttl, renewEvery, margin }
}

// WithAcquireInterval sets how often a waiting member tries to take the
// lease (zero: the renew interval). A takeover after a holder died comes
// at most TTL plus this interval after its death.
func WithAcquireInterval(d time.Duration) Option {
	return func(c *config) { c.retry = d }
}

// WithFlushInterval sets how long a committed position waits before it is
// written to Redis, batched with the others (DefaultFlushInterval).
func WithFlushInterval(d time.Duration) Option {
	return func(c *config) { c.flushInterval = d }
}

// WithStart sets where a channel starts when the group has no position
// for it yet: replay.StartNew (the default), replay.StartAll or a replay
// id.
func WithStart(id int64) Option {
	return func(c *config) { c.start = id }
}

// WithManualAck makes the position move only when the application calls
// Event.Ack, instead of when the handler returns: for handlers that hand
// events on to other goroutines.
func WithManualAck() Option {
	return func(c *config) { c.manualAck = true }
}

// WithQueue sets each subscription's delivery queue (DefaultQueue). The
// queue blocks when full (bayeux.OverflowBlock): an event dropped from a
// queue would let the position move past it.
func WithQueue(n int) Option {
	return func(c *config) { c.queue = n }
}

// WithClientOptions sets a function returning the options of each
// tenure's bayeux.Client (transports, logger, headers, error handler...).
// It is called once per tenure: a bayeux.Transport serves one Client, so
// build new transports in it; without transports among them the Consumer
// uses new websocket and long-polling transports. The Consumer adds the
// replay extension and the delivery queue itself.
func WithClientOptions(fn func() []bayeux.Option) Option {
	return func(c *config) { c.clientOptions = fn }
}

// WithLogger sets the logger of the Consumer's own records (tenures
// starting and ending, Redis failures). Default: none.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) { c.logger = l }
}

// WithConnectTimeout bounds how long a new holder tries to reach the Bayeux
// server and subscribe before it gives the lease up (default 15s).
func WithConnectTimeout(d time.Duration) Option {
	return func(c *config) { c.connectTime = d }
}

func (c *config) fill() error {
	if c.ttl <= 0 {
		c.ttl = DefaultLeaseTTL
	}
	if c.renew <= 0 {
		c.renew = c.ttl / 3
	}
	if c.margin <= 0 {
		c.margin = c.ttl / 5
	}
	if c.retry <= 0 {
		c.retry = c.renew
	}
	if c.queue <= 0 {
		c.queue = DefaultQueue
	}
	if c.connectTime <= 0 {
		c.connectTime = 15 * time.Second
	}
	if c.ttl < 10*time.Millisecond {
		return fmt.Errorf("bayeuxredis: lease TTL %v is below 10ms", c.ttl)
	}
	if c.margin >= c.ttl {
		return fmt.Errorf("bayeuxredis: safety margin %v is not below the lease TTL %v", c.margin, c.ttl)
	}
	if 2*c.renew > c.ttl-c.margin {
		return fmt.Errorf("bayeuxredis: renew interval %v leaves no second renewal before the holder must stop (TTL %v - margin %v)", c.renew, c.ttl, c.margin)
	}
	if c.start < replay.StartAll {
		return fmt.Errorf("bayeuxredis: start %d is neither a replay id nor -1 or -2", c.start)
	}
	return nil
}

func (c *config) log() *slog.Logger {
	if c.logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return c.logger
}
