package staleconn

import (
	"context"
	"errors"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"syscall"
)

// DialFunc is the type of http.Transport.DialContext.
type DialFunc func(ctx context.Context, network, addr string) (net.Conn, error)

// Dial returns a dial function that wraps the connections dial opens (a
// net.Dialer's when dial is nil). Connections that are not TCP, or where
// the peek is not available, are returned as they are.
func Dial(dial DialFunc) DialFunc { return dialWith(dial, nil) }

// Install makes t dial through Dial, and remembers for ClosesAfterResponse
// when one of its connections is found closed by the server right after a
// response. Forget undoes the remembering.
func Install(t *http.Transport) {
	seen := new(atomic.Bool)
	t.DialContext = dialWith(t.DialContext, seen)
	installed.Store(t, seen)
}

// Forget drops what Install remembers of t (its client is done).
func Forget(t *http.Transport) { installed.Delete(t) }

// ClosesAfterResponse reports whether rt, a transport given to Install,
// has found a connection closed by the server right after a response:
// such a server (Ruby Faye under puma) closes every kept-alive
// connection, so a request that must not be sent twice is better sent on
// a connection of its own.
func ClosesAfterResponse(rt http.RoundTripper) bool {
	t, ok := rt.(*http.Transport)
	if !ok {
		return false
	}
	v, ok := installed.Load(t)
	return ok && v.(*atomic.Bool).Load()
}

// DialObserved is Dial, setting seen when a connection is found closed by
// the server right after a response.
func DialObserved(dial DialFunc, seen *atomic.Bool) DialFunc { return dialWith(dial, seen) }

// installed maps each *http.Transport given to Install to its flag.
var installed sync.Map

func dialWith(dial DialFunc, seen *atomic.Bool) DialFunc {
	if dial == nil {
		var d net.Dialer
		dial = d.DialContext
	}
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := dial(ctx, network, addr)
		if err != nil || !supported {
			return c, err
		}
		sc, ok := c.(syscall.Conn)
		if !ok {
			return c, nil
		}
		rc, err := sc.SyscallConn()
		if err != nil {
			return c, nil
		}
		return &conn{Conn: c, rc: rc, seen: seen}, nil
	}
}

// conn checks, before the first write that follows a read, that the peer
// has not closed the connection.
type conn struct {
	net.Conn
	rc syscall.RawConn
	// answered is set when a read returned data since the last write: the
	// next write starts a new request on a reused connection.
	answered atomic.Bool
	// seen, when not nil, is set when the server is found to have closed
	// the connection after a response.
	seen *atomic.Bool
}

func (c *conn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 {
		c.answered.Store(true)
	}
	return n, err
}

func (c *conn) Write(p []byte) (int, error) {
	if c.answered.Swap(false) && peerClosed(c.rc) {
		if c.seen != nil {
			c.seen.Store(true)
		}
		return 0, errClosedByPeer
	}
	return c.Conn.Write(p)
}

// errClosedByPeer is the error of a write refused because the server had
// closed the connection.
var errClosedByPeer error = notSent{}

type notSent struct{}

func (notSent) Error() string {
	return "connection closed by the server before the request was written"
}

// NotSent reports true: nothing of the request was written.
func (notSent) NotSent() bool { return true }

// NotSent reports whether err says that nothing of a request was written
// because the server had closed the kept-alive connection first.
func NotSent(err error) bool {
	var ns interface{ NotSent() bool }
	return errors.As(err, &ns) && ns.NotSent()
}
