package bayeux

import (
	"context"
	"fmt"
)

// stage is where a Client is in its one lifetime. It only moves forward,
// and only through the moveTo methods below: each runs under Client.mu and
// closes the one channel that announces the move, which goroutines select
// on. The session's State (handshaking, connected, ...) is another thing:
// it says where the current session stands, and runs its course inside
// stageRunning.
type stage int

const (
	// stageNew: NewClient returned; Connect was not called.
	stageNew stage = iota
	// stageRunning: Connect was called; the session loop runs.
	stageRunning
	// stageClosing: Disconnect was called, Connect failed or the server
	// ended the session. Nothing new is sent; shutdown runs, once, owned
	// by whoever made this move.
	stageClosing
	// stageClosed: shutdown is over: transports closed, extensions
	// unregistered, subscriptions finishing their queues.
	stageClosed
)

// lifecycle holds a Client's stage and the channels of its moves. stage
// and stopLoop are guarded by Client.mu; the contexts are made by
// newLifecycle and never replaced, so their Done channels are read without
// the lock.
type lifecycle struct {
	stage stage
	// closing is done when the client moves to stageClosing: the loop
	// sends nothing new, reconcilers and waits for a session give up.
	closing    context.Context
	endClosing context.CancelFunc
	// closed is done when the client moves to stageClosed.
	closed    context.Context
	endClosed context.CancelFunc
	// stopLoop cancels the session loop's context, and with it every
	// request bound to a session (the held /meta/connect): set by
	// moveToRunning, called by shutdown once the goodbye is said.
	stopLoop context.CancelFunc
}

func newLifecycle() lifecycle {
	var l lifecycle
	l.closing, l.endClosing = context.WithCancel(context.Background())
	l.closed, l.endClosed = context.WithCancel(context.Background())
	return l
}

// moveToRunning starts the lifetime (Connect) and returns the session
// loop's context.
func (c *Client) moveToRunning() (context.Context, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.life.stage != stageNew {
		return nil, fmt.Errorf("%w: Connect called twice or after Disconnect", ErrBadState)
	}
	c.life.stage = stageRunning
	ctx, cancel := context.WithCancel(context.Background())
	c.life.stopLoop = cancel
	return ctx, nil
}

// moveToClosing starts the shutdown, recording cause (nil for a plain
// Disconnect) as why the session ended. It reports whether this call made
// the move, in which case the caller owns the shutdown, and whether the
// client was running.
func (c *Client) moveToClosing(cause error) (first, running bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.life.stage >= stageClosing {
		return false, false
	}
	running = c.life.stage == stageRunning
	c.life.stage = stageClosing
	if c.err == nil {
		c.err = cause
	}
	c.life.endClosing()
	return true, running
}

// moveToClosed marks the shutdown over.
func (c *Client) moveToClosed() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.life.stage = stageClosed
	c.life.endClosed()
}

// stageOf returns the client's stage.
func (c *Client) stageOf() stage {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.life.stage
}

// usableLocked returns nil when the client accepts requests (Connect was
// called and no shutdown began). c.mu must be held.
func (c *Client) usableLocked() error {
	switch {
	case c.life.stage >= stageClosing && c.err != nil:
		return fmt.Errorf("%w: %w", ErrClosed, c.err)
	case c.life.stage >= stageClosing:
		return ErrClosed
	case c.life.stage == stageNew:
		return fmt.Errorf("%w: call Connect first", ErrBadState)
	}
	return nil
}
