package main

import (
	"fmt"
	"sync"

	"github.com/bayeux-go/sdk/bayeux"
)

// tracer is a message extension. The client calls Outgoing for every
// message it sends and Incoming for every message it receives, meta
// messages included, from its own goroutines.
type tracer struct {
	prefix string

	mu   sync.Mutex
	next int
	name string // the name it was registered under
}

// Name gives the extension its name (bayeux.NamedExtension).
func (t *tracer) Name() string { return "tracer" }

// Registered is called when a client starts using the extension.
func (t *tracer) Registered(name string, _ *bayeux.BayeuxClient) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.name = name
}

// Unregistered is called when the client stops using it (at Disconnect).
func (t *tracer) Unregistered() {}

// Outgoing stamps each publish (not the protocol's meta messages) with a
// trace id. What it changes is what goes on the wire.
func (t *tracer) Outgoing(m *bayeux.Message) {
	if m.IsMeta() || len(m.Data) == 0 {
		return
	}
	t.mu.Lock()
	t.next++
	id := fmt.Sprintf("%s-%d", t.prefix, t.next)
	t.mu.Unlock()
	m.GetExt(true)["trace"] = id
}

// Incoming runs before the client acts on a message. Servers pass a
// publisher's ext on to the receivers; here nothing needs changing, so it
// only checks the field's type, dropping a malformed trace id.
func (t *tracer) Incoming(m *bayeux.Message) {
	if v, ok := m.Ext["trace"]; ok {
		if _, isString := v.(string); !isString {
			delete(m.Ext, "trace")
		}
	}
}

// traceOf returns the trace id of a received message ("" when none).
func traceOf(m bayeux.Message) string {
	s, _ := m.Ext["trace"].(string)
	return s
}
