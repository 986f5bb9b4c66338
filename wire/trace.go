package wire

import (
	"context"
	"net/http/httptrace"
	"sync/atomic"
)

// connTrace records, for one attempt, whether its connection was a reused
// kept-alive one and whether any byte of the response arrived.
type connTrace struct {
	reused    atomic.Bool
	firstByte atomic.Bool
}

// with returns ctx carrying the trace hooks (composed with any trace
// already in ctx).
func (t *connTrace) with(ctx context.Context) context.Context {
	return httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		GotConn:              func(info httptrace.GotConnInfo) { t.reused.Store(info.Reused) },
		GotFirstResponseByte: func() { t.firstByte.Store(true) },
	})
}

// staleConn reports whether the attempt failed in the way a kept-alive
// connection closed by the server does: on a reused connection, before any
// byte of the response.
func (t *connTrace) staleConn() bool {
	return t != nil && t.reused.Load() && !t.firstByte.Load()
}
