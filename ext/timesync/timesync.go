package timesync

import (
	"sync"
	"time"

	"github.com/bayeux-go/sdk/bayeux"
	"github.com/bayeux-go/sdk/internal/extfield"
)

// Name is the name the extension registers under.
const Name = "timesync"

// DefaultSamples is how many samples the estimates average by default.
const DefaultSamples = 10

// Extension is the timesync extension. Create it with New; it is safe for
// concurrent use.
type Extension struct {
	now func() time.Time
	max int

	mu      sync.Mutex
	lags    []int64 // ms, the last max samples
	offsets []int64 // ms
	lag     int64   // average of lags
	offset  int64   // average of offsets
}

// Option configures an Extension.
type Option func(*Extension)

// WithSamples sets how many of the last samples the estimates average (at
// least 1). Default DefaultSamples.
func WithSamples(n int) Option {
	return func(e *Extension) {
		if n >= 1 {
			e.max = n
		}
	}
}

// WithClock sets the local clock (for tests). Default time.Now.
func WithClock(now func() time.Time) Option {
	return func(e *Extension) {
		if now != nil {
			e.now = now
		}
	}
}

// New returns a timesync extension.
func New(opts ...Option) *Extension {
	e := &Extension{now: time.Now, max: DefaultSamples}
	for _, o := range opts {
		if o != nil {
			o(e)
		}
	}
	return e
}

// Name returns "timesync" (bayeux.NamedExtension).
func (e *Extension) Name() string { return Name }

// Lag returns the estimated one-way network lag (zero before the first
// sample).
func (e *Extension) Lag() time.Duration {
	e.mu.Lock()
	defer e.mu.Unlock()
	return time.Duration(e.lag) * time.Millisecond
}

// Offset returns the estimated offset of the server's clock: server time
// minus local time (positive when the server is ahead; zero before the
// first sample).
func (e *Extension) Offset() time.Duration {
	e.mu.Lock()
	defer e.mu.Unlock()
	return time.Duration(e.offset) * time.Millisecond
}

// ServerTime returns the current time by the server's clock, as estimated.
func (e *Extension) ServerTime() time.Time { return e.now().Add(e.Offset()) }

// Samples returns how many answers the estimates are based on (at most the
// configured window).
func (e *Extension) Samples() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.lags)
}

// Outgoing adds ext.timesync to meta messages.
func (e *Extension) Outgoing(m *bayeux.Message) {
	if !m.IsMeta() {
		return
	}
	e.mu.Lock()
	l, o := e.lag, e.offset
	e.mu.Unlock()
	m.Ext = extfield.With(m.Ext, "timesync", map[string]any{"tc": e.now().UnixMilli(), "l": l, "o": o})
}

// Incoming takes a sample from the ext.timesync of a meta reply.
func (e *Extension) Incoming(m *bayeux.Message) {
	if !m.IsMeta() {
		return
	}
	ts, ok := m.Ext["timesync"].(map[string]any)
	if !ok {
		return
	}
	tc, ok1 := extfield.Int(ts["tc"])
	sts, ok2 := extfield.Int(ts["ts"])
	p, ok3 := extfield.Int(ts["p"])
	if !ok1 || !ok2 || !ok3 || p < 0 {
		return
	}
	now := e.now().UnixMilli()
	lag := (now - tc - p) / 2
	if lag < 0 {
		return // an answer to a message not sent by this clock, or a clock jump
	}
	offset := sts - tc - lag
	e.mu.Lock()
	defer e.mu.Unlock()
	e.lags = appendWindow(e.lags, lag, e.max)
	e.offsets = appendWindow(e.offsets, offset, e.max)
	e.lag, e.offset = mean(e.lags), mean(e.offsets)
}

// appendWindow appends v, keeping the last max values.
func appendWindow(w []int64, v int64, max int) []int64 {
	w = append(w, v)
	if len(w) > max {
		w = append(w[:0], w[len(w)-max:]...)
	}
	return w
}

func mean(w []int64) int64 {
	var sum int64
	for _, v := range w {
		sum += v
	}
	return sum / int64(len(w))
}

// Registered is called when the extension is added to a client.
func (e *Extension) Registered(string, *bayeux.BayeuxClient) {}

// Unregistered is called when the extension is removed; the estimates are
// kept.
func (e *Extension) Unregistered() {}
