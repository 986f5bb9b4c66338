package bayeuxtest

import (
	"sync"
	"time"

	"github.com/bayeux-go/sdk/bayeux"
	"github.com/bayeux-go/sdk/internal/extfield"
)

// Timesync is the server side of CometD's timesync extension, as an
// Extension for WithExtension. A meta message whose ext carries
// "timesync": {"tc": client time, "l": lag, "o": offset} (milliseconds; tc
// since the Unix epoch) gets in its reply ext "timesync": {"tc": tc, "ts":
// server time when the message was received, "p": milliseconds the server
// took to reply (the hold of a /meta/connect), "a": tc+o+l-ts, the
// accuracy of the client's estimate}.
//
// Offset shifts the server's clock, to test a client's offset estimate
// against a known answer. Create it with NewTimesync; it is safe for
// concurrent use.
type Timesync struct {
	offset time.Duration
	now    func() time.Time

	mu      sync.Mutex
	pending map[timesyncKey][]timesyncIn
}

type timesyncKey struct {
	channel bayeux.Channel
	id      string
}

type timesyncIn struct {
	tc, l, o int64
	ts       int64     // server clock (shifted) at receipt, ms
	at       time.Time // real receipt time, for p
}

// maxTimesyncPending bounds the requests awaiting their reply (those never
// answered are forgotten when the bound is reached).
const maxTimesyncPending = 10000

// NewTimesync returns a Timesync whose clock is the system's shifted by
// offset (a positive offset puts the server ahead of the client).
func NewTimesync(offset time.Duration) *Timesync {
	return &Timesync{offset: offset, now: time.Now, pending: make(map[timesyncKey][]timesyncIn)}
}

// ServerTime returns the time by the extension's (shifted) clock.
func (t *Timesync) ServerTime() time.Time { return t.now().Add(t.offset) }

// Incoming records the timesync fields of a meta message.
func (t *Timesync) Incoming(m *bayeux.Message) {
	if !m.IsMeta() {
		return
	}
	ts, ok := m.Ext["timesync"].(map[string]any)
	if !ok {
		return
	}
	tc, ok := extfield.Int(ts["tc"])
	if !ok {
		return
	}
	l, _ := extfield.Int(ts["l"])
	o, _ := extfield.Int(ts["o"])
	now := t.now()
	in := timesyncIn{tc: tc, l: l, o: o, ts: now.Add(t.offset).UnixMilli(), at: now}
	k := timesyncKey{m.Channel, m.ID}
	t.mu.Lock()
	if len(t.pending) >= maxTimesyncPending {
		clear(t.pending)
	}
	t.pending[k] = append(t.pending[k], in)
	t.mu.Unlock()
}

// Outgoing adds the timesync reply to the reply of a recorded message.
func (t *Timesync) Outgoing(m *bayeux.Message) {
	if !m.IsMeta() {
		return
	}
	k := timesyncKey{m.Channel, m.ID}
	t.mu.Lock()
	q := t.pending[k]
	if len(q) == 0 {
		t.mu.Unlock()
		return
	}
	in := q[0]
	if len(q) == 1 {
		delete(t.pending, k)
	} else {
		t.pending[k] = q[1:]
	}
	t.mu.Unlock()
	p := t.now().Sub(in.at).Milliseconds()
	m.Ext = extfield.With(m.Ext, "timesync", map[string]any{
		"tc": in.tc, "ts": in.ts, "p": p, "a": in.tc + in.o + in.l - in.ts,
	})
}
