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
// context ended before the client's own goroutines exited; Done closes
// when they have, and the handlers too.
var ErrStillRunning = errors.New("bayeux: goroutines still running")

// Disconnect ends the session: it stops the /meta/connect loop, sends
// /meta/disconnect, lets every subscription finish the messages already
// queued, closes the transports and unregisters the extensions, and waits
// for the client's own goroutines (the session loop and the requests it
// runs in the background) to exit.
//
// It does not wait for handlers, listeners and callbacks: a handler still
// running, or delivering the messages queued before Disconnect, goes on
// after Disconnect returns, and Done closes once the last one has
// returned. So Disconnect is safe from any goroutine, a handler's or one a
// handler started and waits for included; wait for Done when the handlers
// must have finished.
//
// Disconnect is idempotent. ctx bounds the whole operation: when it ends
// first, the client still shuts down, and the error matches
// ErrStillRunning and wraps ctx's error. The error of the /meta/disconnect
// request, if any, is returned; a server that had already forgotten the
// session is not an error.
func (c *Client) Disconnect(ctx context.Context) error {
	first, running := c.moveToClosing(nil)
	var err error
	if first {
		err = c.shutdown(ctx, running, false)
	} else {
		select {
		case <-c.life.closed.Done():
		case <-ctx.Done():
			return fmt.Errorf("%w: %w", ErrStillRunning, ctx.Err())
		}
	}
	if !c.track.waitOwn(ctx) {
		return fmt.Errorf("%w (%d): %w", ErrStillRunning, c.track.running(), ctx.Err())
	}
	return err
}

// shutdown stops everything; it is run once, by whoever moved the client
// to stageClosing. When the client was running it first says goodbye to
// the server while the /meta/connect is still held. fromLoop is set when
// the session loop itself shuts the client down (the server ended the
// session): it does not wait for itself.
func (c *Client) shutdown(ctx context.Context, running, fromLoop bool) error {
	c.mu.Lock()
	stopLoop, sess := c.life.stopLoop, c.sess
	c.mu.Unlock()
	var err error
	if running {
		c.setState(StateDisconnecting, nil)
		// The /meta/disconnect goes out while the /meta/connect is still
		// held, as the CometD and Faye clients do: the server then answers
		// the held connect, and its request ends normally. Tearing a held
		// request instead crashes a stock Faye 1.4.3 server over
		// callback-polling (docs/interop.md).
		//
		// Any session that became current and is not known lost gets its
		// /meta/disconnect, ready or still re-subscribing: otherwise the
		// server keeps it (and Salesforce counts it) until it expires.
		if !fromLoop && sess != nil && !sess.lost() {
			ready := sess.isReady()
			msg := Message{ID: c.ep.newID(), Channel: MetaDisconnect, ClientID: sess.id}
			replies, found, derr := c.exchange(ctx, c.ep.transport(), []Message{msg}, false)
			if err = derr; err == nil {
				err = replyError(ErrDisconnectFailed, MetaDisconnect, replies[0], found[0])
			}
			if errors.Is(err, ErrUnknownClient) {
				// The server had already forgotten the session: it is
				// gone, which is all Disconnect wanted.
				c.log.Debug("bayeux disconnect: the server no longer knew the session", "clientId", sess.id, "err", err)
				err = nil
			}
			if err == nil && ready {
				grace := time.NewTimer(min(c.opts.MaxNetworkDelay, disconnectGrace))
				select {
				case <-c.loopDone:
				case <-grace.C:
				case <-ctx.Done():
				}
				grace.Stop()
			}
		}
		stopLoop()
		if !fromLoop {
			select {
			case <-c.loopDone:
			case <-ctx.Done():
			}
		}
	}
	c.mu.Lock()
	if c.sess != nil {
		c.sess.cancel(ErrClosed)
	}
	c.mu.Unlock()
	_ = c.ep.close()
	c.ep.unregisterAll()

	// Every subscription delivers what is queued, then stops.
	for _, s := range c.subs.close() {
		s.finish()
	}
	if running {
		c.setState(StateDisconnected, c.Err())
	}
	c.reports.close()
	c.moveToClosed()
	c.track.finish()
	return err
}
