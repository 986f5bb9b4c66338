package wire

import (
	"context"
	"net/http/httptrace"
	"sync"
	"sync/atomic"
)

// connTrace records, for one attempt, whether its connection was a reused
// kept-alive one and whether any byte of the response arrived.
type connTrace struct {
	reused    atomic.Bool
	firstByte atomic.Bool
	idle      atomic.Int64 // how long a reused connection had been idle (ns)
	// hooks are bound to this connTrace once: a trace is recycled (see
	// newConnTrace) so that an exchange does not allocate them anew.
	hooks httptrace.ClientTrace
}

var tracePool = sync.Pool{New: func() any {
	t := new(connTrace)
	t.hooks = httptrace.ClientTrace{
		GotConn: func(info httptrace.GotConnInfo) {
			t.reused.Store(info.Reused)
			t.idle.Store(int64(info.IdleTime))
		},
		GotFirstResponseByte: func() { t.firstByte.Store(true) },
	}
	return t
}}

// newConnTrace returns a cleared trace. Give it back with recycle once the
// attempt's response was read and closed.
func newConnTrace() *connTrace {
	t := tracePool.Get().(*connTrace)
	t.reused.Store(false)
	t.firstByte.Store(false)
	t.idle.Store(0)
	return t
}

// recycle returns t to the pool. Only a trace whose attempt ended with a
// response read and closed may be recycled: after a failure, net/http may
// still be calling its hooks.
func (t *connTrace) recycle() { tracePool.Put(t) }

// with returns ctx carrying the trace hooks (composed with any trace
// already in ctx).
func (t *connTrace) with(ctx context.Context) context.Context {
	if httptrace.ContextClientTrace(ctx) != nil {
		// Composing modifies the trace given: give it a copy.
		hooks := t.hooks
		return httptrace.WithClientTrace(ctx, &hooks)
	}
	return httptrace.WithClientTrace(ctx, &t.hooks)
}

// staleConn reports whether the attempt failed in the way a kept-alive
// connection closed by the server does: on a reused connection, before any
// byte of the response.
func (t *connTrace) staleConn() bool {
	return t != nil && t.reused.Load() && !t.firstByte.Load()
}
