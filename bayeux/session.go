package bayeux

import (
	"context"
	"errors"
	"fmt"
)

// session is one Bayeux session: created by a successful handshake,
// replaced by the next. Every request captures the session it is sent in,
// so that a reply, a failure or an "unknown client" that comes back late
// from an older session never touches the current one.
type session struct {
	gen uint64 // 1 for the first session, then 2, 3, ...
	id  string // the clientId
	// ctx ends when the session is lost (its cause says why) or the client
	// stops; the held /meta/connect and the subscription requests of the
	// session are bound to it.
	ctx    context.Context
	cancel context.CancelCauseFunc
	// ready is closed once the subscriptions of the client were renewed
	// in this session: requests wait for it.
	ready chan struct{}
}

func newSession(parent context.Context, gen uint64, id string) *session {
	ctx, cancel := context.WithCancelCause(parent)
	return &session{gen: gen, id: id, ctx: ctx, cancel: cancel, ready: make(chan struct{})}
}

// lost reports whether the session is over.
func (s *session) lost() bool { return s.ctx.Err() != nil }

func (s *session) isReady() bool {
	select {
	case <-s.ready:
		return !s.lost()
	default:
		return false
	}
}

// errSessionLost is the cause of a session's end when a request learnt
// that the server no longer knows it.
var errSessionLost = errors.New("bayeux: session lost")

// loseSession ends s, and only s: a request that learns late that an
// older session is gone does not disturb the current one. The loop sees
// it and re-handshakes.
func (c *Client) loseSession(s *session, cause error) {
	if s == nil || s.lost() {
		return
	}
	c.log.Debug("bayeux session lost", "clientId", s.id, "err", cause)
	s.cancel(fmt.Errorf("%w: %w", errSessionLost, cause))
}

// publishSession makes s the current session (not yet ready).
func (c *Client) publishSession(s *session) {
	c.mu.Lock()
	c.sess = s
	c.signalLocked()
	c.mu.Unlock()
}

// markReady lets requests through in s.
func (c *Client) markReady(s *session) {
	c.mu.Lock()
	close(s.ready)
	c.signalLocked()
	c.mu.Unlock()
}

// signalLocked wakes every waitReady. c.mu must be held.
func (c *Client) signalLocked() {
	close(c.sessChanged)
	c.sessChanged = make(chan struct{})
}

// currentGen returns the generation of the current ready session (0 when
// there is none).
func (c *Client) currentGen() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.sess != nil && c.sess.isReady() {
		return c.sess.gen
	}
	return 0
}

// waitReady waits until a session is ready and returns it. When ctx ends
// first, the error says what the client was doing, with the last failure.
func (c *Client) waitReady(ctx context.Context) (*session, error) {
	for {
		c.mu.Lock()
		unusable := c.usableLocked()
		s, changed := c.sess, c.sessChanged
		state, last := c.state, c.lastErr
		c.mu.Unlock()
		switch {
		case unusable != nil:
			return nil, unusable
		case s != nil && s.isReady():
			return s, nil
		}
		select {
		case <-changed:
		case <-c.life.closing.Done():
		case <-ctx.Done():
			if last != nil {
				return nil, fmt.Errorf("bayeux: no session (client %s, last failure: %w): %w", state, last, ctx.Err())
			}
			return nil, fmt.Errorf("bayeux: no session (client %s): %w", state, ctx.Err())
		}
	}
}
