package ack

import (
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
type Extension struct {
	mu sync.Mutex
	// enabled is set when the server agreed in the handshake reply.
	enabled bool
	// batch is the id of the last batch received (sent as ext.ack).
	batch int64
	// Duplicate bookkeeping, counted in events of the session:
	// delivered is how many events were passed on; sentAck is the ack of
	// the last /meta/connect sent and start the number of events of the
	// batches up to it, where the server's answer to that connect
	// starts; pos is the position of the next event in that answer.
	delivered int64
	sentAck   int64
	start     int64
	pos       int64
	dropped   int64
}

// New returns an acknowledgement extension.
func New() *Extension {
	e := &Extension{}
	e.reset()
	return e
}

// reset forgets the session (a new handshake starts a new one).
func (e *Extension) reset() {
	e.enabled = false
	e.batch = noBatch
	e.delivered, e.start, e.pos = 0, 0, 0
	e.sentAck = noBatch
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
		if e.batch != e.sentAck {
			// A new batch is acknowledged: the server's answer starts
			// after everything delivered so far (responses are whole).
			e.sentAck, e.start = e.batch, e.delivered
		}
		e.pos = e.start
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
		e.enabled = false
		switch v := m.Ext["ack"].(type) {
		case bool:
			e.enabled = v
		case map[string]any:
			// The newer form: {"enabled": true, "batch": N}.
			e.enabled, _ = v["enabled"].(bool)
			if n, ok := extfield.Int(v["batch"]); ok && e.enabled {
				e.batch = n
			}
		}
		e.mu.Unlock()
	case bayeux.MetaConnect:
		e.mu.Lock()
		if e.enabled {
			if n, ok := extfield.Int(m.Ext["ack"]); ok && m.Successful {
				e.batch = n
			}
			// A reply, late or not, means the server's answer to the
			// last connect sent starts (again) at its start.
			e.pos = e.start
		}
		e.mu.Unlock()
	}
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
	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.enabled {
		return true
	}
	e.pos++
	if e.pos <= e.delivered {
		e.dropped++
		return false
	}
	e.delivered = e.pos
	return true
}

// Registered is called when the extension is added to a client.
func (e *Extension) Registered(string, *bayeux.BayeuxClient) {}

// Unregistered forgets the session.
func (e *Extension) Unregistered() {
	e.mu.Lock()
	e.reset()
	e.mu.Unlock()
}
