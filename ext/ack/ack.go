package ack

import (
	"hash/fnv"
	"math"
	"sync"

	"github.com/bayeux-go/sdk/bayeux"
	"github.com/bayeux-go/sdk/internal/extfield"
)

// Name is the name the extension registers under.
const Name = "ack"

// noBatch is the acknowledgement state before any batch was received.
const noBatch = math.MinInt64

// Extension is the acknowledgement extension. Create it with New; it is
// safe for concurrent use. One Extension serves one client.
//
// Dropping duplicates: a server sends again, at the head of its answer to a
// /meta/connect acknowledging batch A, every event it sent after batch A.
// The client has delivered some of those already only when a connect reply
// reached it without its batch id, or after the next /meta/connect had
// left (a late reply), or when the server answered a connect whose reply
// the client never read with an older ack (a stale copy of an earlier
// connect that reached the server late), which the next reply shows by a
// skipped batch id. The extension notices these, and then drops the
// events that repeat, in order, events it delivered since the batch before
// A, comparing a fingerprint of their channel, id and data. The order in
// which a reply and the events of its response are handled varies with the
// server (CometD puts events first, Faye after the reply) and the transport
// (over websocket the reply may be handled after its events), so the
// extension does not rely on it. Outside those moments nothing is dropped.
type Extension struct {
	mu sync.Mutex
	// enabled is set when the server agreed in the handshake reply.
	enabled bool
	// batch is the id of the last batch received (sent as ext.ack) and
	// prevBatch the one before; sentAck is the ack of the last
	// /meta/connect sent.
	batch, prevBatch int64
	sentAck          int64
	// sentID is the id of the last /meta/connect sent: a reply with
	// another id is late.
	sentID string
	// delivered counts the events passed on in this session; ring holds
	// the fingerprints of the last ringSize of them (event i at
	// ring[i%ringSize]); replyAt[N] is delivered when the reply of batch
	// N was handled.
	delivered int64
	ring      [ringSize]uint64
	replyAt   map[int64]int64
	// armed is set when a resend of delivered events is due: a run of
	// repeats may start at a delivered event in [lo, armPos] and goes on
	// at cursor (-1 before the run).
	armed      bool
	lo, armPos int64
	cursor     int64
	dropped    int64
}

// ringSize bounds the events remembered for duplicate detection: a copy
// of an event delivered more than ringSize events earlier is not
// recognized. A server sends a whole unacknowledged batch again, and a
// batch holds every event queued while the client could not connect: at
// 200 events a second, 16,384 covers an outage of 80 s (1,024, 5 s, was
// too few in the chaos runs). It costs 128 KiB per client.
const ringSize = 1 << 14

// maxMarks bounds the batch ends remembered.
const maxMarks = 64

// New returns an acknowledgement extension.
func New() *Extension {
	e := &Extension{}
	e.reset()
	return e
}

// reset forgets the session (a new handshake starts a new one).
func (e *Extension) reset() {
	e.enabled, e.armed = false, false
	e.batch, e.prevBatch, e.sentAck = noBatch, noBatch, noBatch
	e.delivered, e.cursor, e.sentID = 0, -1, ""
	e.replyAt = map[int64]int64{noBatch: 0}
}

// Name returns "ack" (bayeux.NamedExtension).
func (e *Extension) Name() string { return Name }

// Enabled reports whether the server agreed to acknowledge messages in the
// current session.
func (e *Extension) Enabled() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.enabled
}

// Batch returns the id of the last batch received in the current session,
// and false before the first.
func (e *Extension) Batch() (int64, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.batch, e.batch != noBatch
}

// Dropped returns how many redelivered duplicates the extension dropped.
func (e *Extension) Dropped() int64 {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.dropped
}

// Outgoing asks for the extension in the handshake and acknowledges the
// last batch received in each /meta/connect.
func (e *Extension) Outgoing(m *bayeux.Message) {
	switch m.Channel {
	case bayeux.MetaHandshake:
		e.mu.Lock()
		e.reset()
		e.mu.Unlock()
		m.Ext = extfield.With(m.Ext, "ack", true)
	case bayeux.MetaConnect:
		e.mu.Lock()
		defer e.mu.Unlock()
		if !e.enabled {
			return
		}
		e.sentAck, e.sentID = e.batch, m.ID
		if e.batch != noBatch {
			m.Ext = extfield.With(m.Ext, "ack", e.batch)
		}
	}
}

// Incoming reads the server's answer to the handshake and the batch ids of
// /meta/connect replies. Redelivered duplicates are dropped by Keep.
func (e *Extension) Incoming(m *bayeux.Message) {
	switch m.Channel {
	case bayeux.MetaHandshake:
		if !m.Successful {
			return
		}
		e.mu.Lock()
		e.enabled = extfield.Enabled(m.Ext["ack"])
		if v, ok := m.Ext["ack"].(map[string]any); ok && e.enabled {
			// The newer form: {"enabled": true, "batch": N}.
			if n, ok := extfield.Int(v["batch"]); ok {
				e.batch = n
			}
		}
		e.mu.Unlock()
	case bayeux.MetaConnect:
		e.mu.Lock()
		if e.enabled && m.Successful {
			e.replyLocked(m)
		}
		e.mu.Unlock()
	}
}

// replyLocked notes a successful connect reply: its batch id, where it
// came among the delivered events, and whether it shows that the server
// will send again events already delivered (no batch id, or a batch the
// last connect sent did not acknowledge).
func (e *Extension) replyLocked(m *bayeux.Message) {
	n, ok := extfield.Int(m.Ext["ack"])
	if !ok {
		e.armLocked()
		return
	}
	// A late reply answers an earlier connect than the last one sent,
	// which did not acknowledge its batch: the server sends its events
	// again.
	late := m.ID != "" && m.ID != e.sentID && n > e.sentAck
	// A batch id skipped after the one acknowledged: the server answered
	// another connect meanwhile, whose reply this client never read (a
	// stale copy of an earlier connect reaching the server late, or a
	// reply torn on the way). Its ack was older than the last one, so the
	// server put in it again the events of the batches received since,
	// and now sends them once more, in this batch: they repeat events
	// delivered since the batch before the last one received.
	if !late && e.sentAck != noBatch && e.batch == e.sentAck && n > e.sentAck+1 {
		e.armLocked()
	}
	e.prevBatch, e.batch = e.batch, n
	e.replyAt[n] = e.delivered
	for k := range e.replyAt {
		if k != noBatch && k <= n-maxMarks {
			delete(e.replyAt, k)
		}
	}
	if late {
		e.armLocked()
	}
}

// armLocked expects a resend of events delivered since the batch before
// the last one received.
func (e *Extension) armLocked() {
	e.armed, e.cursor, e.armPos = true, -1, e.delivered
	e.lo = max(e.replyAt[e.prevBatch], e.delivered-ringSize+1, 0)
}

// Keep reports whether an incoming message is to be delivered: false for a
// copy of a message already delivered that the server sent again. It keeps
// meta messages and replies, and every message while the extension is not
// enabled. It is the extension's bayeux.FilterExtension hook: the session
// Client calls it once for each incoming event.
func (e *Extension) Keep(m *bayeux.Message) bool {
	if m.IsMeta() || len(m.Data) == 0 || m.HasSuccessful() {
		return true
	}
	fp := fingerprint(m)
	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.enabled {
		return true
	}
	if e.armed {
		if e.repeatLocked(fp) {
			e.dropped++
			return false
		}
	}
	e.ring[e.delivered%ringSize] = fp
	e.delivered++
	return true
}

// repeatLocked reports whether fp repeats a delivered event of the
// expected resend, advancing the run; a new event after a run ends it.
func (e *Extension) repeatLocked(fp uint64) bool {
	if e.cursor >= 0 {
		if e.cursor < e.delivered && e.ring[e.cursor%ringSize] == fp {
			e.cursor++
			return true
		}
		e.armed, e.cursor = false, -1 // the run is over
		return false
	}
	for p := e.lo; p <= e.armPos && p < e.delivered; p++ {
		if e.ring[p%ringSize] == fp {
			e.cursor = p + 1
			return true
		}
	}
	return false
}

// fingerprint hashes what identifies a delivered event: its channel, id
// and data (FNV-1a, 64 bits).
func fingerprint(m *bayeux.Message) uint64 {
	h := fnv.New64a()
	_, _ = h.Write([]byte(m.Channel))
	_, _ = h.Write([]byte{0})
	_, _ = h.Write([]byte(m.ID))
	_, _ = h.Write([]byte{0})
	_, _ = h.Write(m.Data)
	return h.Sum64()
}

// Registered is called when the extension is added to a client.
func (e *Extension) Registered(string, *bayeux.BayeuxClient) {}

// Unregistered forgets the session.
func (e *Extension) Unregistered() {
	e.mu.Lock()
	e.reset()
	e.mu.Unlock()
}
