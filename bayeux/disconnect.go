package bayeux

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// disconnectGrace is how long Disconnect waits for the server to answer
// the held /meta/connect after /meta/disconnect, before abandoning it (Faye
// never answers it over websocket).
const disconnectGrace = time.Second

// ErrStillRunning is matched by the error Disconnect returns when its
// context ended before every goroutine of the client exited; Done closes
// when they have.
var ErrStillRunning = errors.New("bayeux: goroutines still running")

// Disconnect ends the session: it stops the /meta/connect loop, sends
// /meta/disconnect, lets every subscription finish the messages already
// queued, closes the transports and unregisters the extensions, and waits
// for every goroutine of the client to exit.
//
// Disconnect is idempotent and safe from any goroutine, handlers and
// listeners included. ctx bounds the whole operation: when it ends first,
// the client still shuts down, and the error matches ErrStillRunning and
// wraps ctx's error. Called from a handler, listener or callback,
// Disconnect waits for every other goroutine but not its own (it knows
// from its call stack); Done closes once that one has returned too. The
// error of the /meta/disconnect request, if any, is returned.
func (c *Client) Disconnect(ctx context.Context) error {
	own := 0
	if onCallbackGoroutine() {
		own = 1
	}
	c.mu.Lock()
	first := !c.closing
	c.closing = true
	started := c.started
	c.mu.Unlock()
	var err error
	if first {
		err = c.shutdown(ctx, started, false)
	} else {
		select {
		case <-c.shutDown:
		case <-ctx.Done():
			return fmt.Errorf("%w: %w", ErrStillRunning, ctx.Err())
		}
	}
	if !c.track.wait(ctx, own) {
		return fmt.Errorf("%w (%d): %w", ErrStillRunning, c.track.running(), ctx.Err())
	}
	return err
}

// shutdown stops everything, once. With sendDisconnect it first says
// goodbye to the server while the /meta/connect is still held. fromLoop is
// set when the session loop itself shuts the client down (the server
// ended the session): it does not wait for itself.
func (c *Client) shutdown(ctx context.Context, sendDisconnect, fromLoop bool) error {
	if !c.shutdownStarted.CompareAndSwap(false, true) {
		return nil
	}
	defer close(c.shutDown)
	c.mu.Lock()
	c.closing = true
	started, stopLoop, sess := c.started, c.stopLoop, c.sess
	c.mu.Unlock()
	var err error
	if started {
		c.setState(StateDisconnecting, nil)
		c.stopOnce.Do(func() { close(c.stopping) })
		// The /meta/disconnect goes out while the /meta/connect is still
		// held, as the CometD and Faye clients do: the server then answers
		// the held connect, and its request ends normally. Tearing a held
		// request instead crashes a stock Faye 1.4.3 server over
		// callback-polling (docs/interop.md).
		//
		// Any session that became current and is not known lost gets its
		// /meta/disconnect, ready or still re-subscribing: otherwise the
		// server keeps it (and Salesforce counts it) until it expires.
		if sendDisconnect && sess != nil && !sess.lost() {
			ready := sess.isReady()
			msg := Message{ID: c.wire.newID(), Channel: MetaDisconnect, ClientID: sess.id}
			replies, found, derr := c.exchange(ctx, c.wire.transport(), []Message{msg}, false)
			if err = derr; err == nil {
				err = replyError(ErrDisconnectFailed, MetaDisconnect, replies[0], found[0])
			}
			if errors.Is(err, ErrUnknownClient) {
				// The server had already forgotten the session: it is
				// gone, which is all Disconnect wanted.
				c.log.Debug("bayeux disconnect: the server no longer knew the session", "clientId", sess.id, "err", err)
				err = nil
			}
			if err == nil && !fromLoop && ready {
				grace := time.NewTimer(min(c.opts.MaxNetworkDelay, disconnectGrace))
				select {
				case <-c.loopDone:
				case <-grace.C:
				case <-ctx.Done():
				}
				grace.Stop()
			}
		}
		if stopLoop != nil {
			stopLoop()
		}
		if !fromLoop {
			select {
			case <-c.loopDone:
			case <-ctx.Done():
			}
		}
	}
	c.endQuit()
	c.mu.Lock()
	if c.sess != nil {
		c.sess.cancel(ErrClosed)
	}
	c.mu.Unlock()
	_ = c.wire.close()
	c.wire.unregisterAll()

	// Every subscription delivers what is queued, then stops.
	for _, s := range c.subs.close() {
		s.finish()
	}
	if started {
		c.setState(StateDisconnected, c.Err())
	}
	c.reports.close()
	c.track.finish()
	return err
}
