package bayeux

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"
)

// How subscriptions reach the server: each channel subscribed to has a
// chanEntry saying what the subscriptions want (want > 0: subscribed) and
// what the server has (confirmed: the generation of the session in which
// the server confirmed it). One goroutine at a time (the entry is busy)
// drives the server to what is wanted, sending /meta/subscribe or
// /meta/unsubscribe in the current session and looking again after each
// answer: the reconciler. So a subscribe still in flight when the session
// is lost, an Unsubscribe while a re-subscription is in flight, or a
// Subscribe whose context ended mid-request all end with the server
// holding exactly what the subscriptions want.

// chanEntry is the server-side state of one channel. Guarded by
// subRegistry.mu.
type chanEntry struct {
	want      int    // live non-local subscriptions
	confirmed uint64 // session generation in which the server confirmed it; 0 none
	// maybe is the session generation in which a /meta/subscribe failed
	// without an answer (the connection torn under it): the server may
	// have carried it out. 0 none.
	maybe   uint64
	busy    bool // a reconciler drives the channel
	waiters []chan error
}

// held reports whether the server holds, or may hold, the channel in the
// session of generation gen.
func (e *chanEntry) held(gen uint64) bool {
	return gen != 0 && (e.confirmed == gen || e.maybe == gen)
}

// reconcile drives the server side of ch to what its subscriptions want,
// one request at a time, each in the current session, until the two
// agree. delay makes it wait a backoff step first.
func (c *Client) reconcile(ch Channel, delay bool) {
	bo := backoff{increment: c.opts.BackoffIncrement, max: c.opts.MaxBackoff}
	for {
		if delay && !c.pause(bo.next()) {
			c.subs.abandon(ch, ErrClosed)
			return
		}
		sess, err := c.waitReady(c.life.closing)
		if err != nil {
			c.subs.abandon(ch, ErrClosed)
			return
		}
		op, done := c.subs.next(ch, sess.gen)
		if done {
			return
		}
		msg := Message{ID: c.ep.newID(), Channel: op, ClientID: sess.id, Subscription: []Channel{ch}}
		replies, found, err := c.exchange(sess.ctx, c.ep.transport(), []Message{msg}, false)
		if op == MetaSubscribe {
			var reply *Message
			if err == nil {
				err = subscribeReplyError(&msg, replies[0], found[0])
				reply = &replies[0]
			}
			delay = !c.applySubscribe(sess, &msg, reply, err)
			if !delay {
				bo.reset()
			}
			continue
		}
		if err == nil {
			err = replyError(ErrUnsubscribeFailed, MetaUnsubscribe, replies[0], found[0])
		}
		var se *ServerError
		switch {
		case errors.Is(err, ErrUnknownClient):
			// The server forgot the session, and the subscription with it.
			c.loseSession(sess, err)
			c.subs.unsubscribed(ch, nil)
		case err == nil || errors.As(err, &se):
			c.subs.unsubscribed(ch, err)
		case sess.lost():
			c.subs.unsubscribed(ch, nil)
		default:
			c.backgroundError(wrapOp("unsubscribe "+string(ch), err))
			delay = true
		}
	}
}

// subscribeReplyError is the outcome of the /meta/subscribe req: a reply
// naming another channel than the request is not taken as a confirmation
// (matching by id alone would let a confused server confirm the wrong
// subscription).
func subscribeReplyError(req *Message, reply Message, found bool) error {
	if err := replyError(ErrSubscriptionDenied, MetaSubscribe, reply, found); err != nil {
		return err
	}
	if len(reply.Subscription) > 0 && !slices.Equal(reply.Subscription, req.Subscription) {
		return &DecodeError{Reason: "/meta/subscribe reply names another subscription",
			Input: fmt.Sprint(reply.Subscription)}
	}
	return nil
}

// applySubscribe records the outcome of the /meta/subscribe req sent in
// sess (reply is the server's answer, nil when none came) and reports
// whether the reconciler may go on at once (false: wait a backoff step).
func (c *Client) applySubscribe(sess *session, req, reply *Message, err error) bool {
	ch := req.Subscription[0]
	var se *ServerError
	switch {
	case err == nil:
		c.subs.confirm(ch, sess.gen)
		return true
	case errors.Is(err, ErrUnknownClient):
		c.loseSession(sess, err)
		return true
	case sess.lost():
		// Cut short by the end of its session: renewed in the next one.
		return true
	case errors.As(err, &se):
		if c.ep.hooks.Load().retry(req, reply, err) {
			// An extension will change the request: try again, the
			// first Subscribe still waiting.
			// The extension reports what it does about it.
			c.log.Debug("bayeux subscription denied; an extension retries it", "channel", string(ch), "err", err)
			c.subs.failed(ch, err)
			return false
		}
		if c.subs.denied(ch, err) {
			c.log.Warn("bayeux re-subscription denied; retrying", "channel", string(ch), "err", err)
			c.backgroundError(wrapOp("re-subscribe "+string(ch), err))
		}
		return false
	default:
		// A transport failure: the server may have carried the request
		// out. If nothing wants the channel any more, it is unsubscribed.
		c.subs.maybeHeld(ch, sess.gen)
		c.backgroundError(wrapOp("subscribe "+string(ch), err))
		return false
	}
}

// backgroundError reports err, an error of a subscription or
// unsubscription the client carries out in the background, and ends the
// session with it when the user's IgnoreError says not to go on.
func (c *Client) backgroundError(err error) {
	c.reportError(err)
	if f := c.opts.IgnoreError; f != nil && !f(err) {
		c.track.spawn(func() {
			if first, running := c.moveToClosing(err); first {
				ctx, cancel := context.WithTimeout(context.Background(), c.opts.MaxNetworkDelay)
				defer cancel()
				_ = c.shutdown(ctx, running, false)
			}
		})
	}
}

// pause waits d unless the client stops.
func (c *Client) pause(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-c.life.closing.Done():
		return false
	}
}

// serverSubsLocked calls fn for each live server subscription to ch.
func (r *subRegistry) serverSubsLocked(ch Channel, fn func(*Subscription)) {
	list := r.exact[ch]
	if ch.HasWildcard() {
		list = r.wild
	}
	for _, s := range list {
		if !s.local && s.channel == ch {
			fn(s)
		}
	}
}

// next returns the request that brings the server side of ch to what is
// wanted in the session of generation gen, or done when nothing is left
// to do (the reconciler then ends).
func (r *subRegistry) next(ch Channel, gen uint64) (op Channel, done bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	e := r.server[ch]
	switch {
	case e == nil:
		return "", true
	case e.want > 0 && e.confirmed != gen:
		return MetaSubscribe, false
	case e.want == 0 && e.held(gen):
		return MetaUnsubscribe, false
	}
	r.settleLocked(ch, e, gen)
	r.finishLocked(ch, e, nil)
	return "", true
}

// settleLocked confirms the subscriptions to ch that joined while the
// channel was busy, once the server holds it in the session of generation
// gen.
func (r *subRegistry) settleLocked(ch Channel, e *chanEntry, gen uint64) {
	if gen == 0 || e.confirmed != gen {
		return
	}
	r.serverSubsLocked(ch, func(s *Subscription) {
		if s.state == SubscriptionSubscribing {
			close(s.settled)
		}
		s.state, s.err = SubscriptionSubscribed, nil
	})
}

// release ends the claim of the session loop on ch when nothing is left
// to do, and reports whether it did.
func (r *subRegistry) release(ch Channel, gen uint64) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	e := r.server[ch]
	if e == nil {
		return true
	}
	if (e.want > 0 && e.confirmed != gen) || (e.want == 0 && e.held(gen)) {
		return false
	}
	r.settleLocked(ch, e, gen)
	r.finishLocked(ch, e, nil)
	return true
}

func (r *subRegistry) finishLocked(ch Channel, e *chanEntry, err error) {
	e.busy = false
	for _, w := range e.waiters {
		w <- err
	}
	e.waiters = nil
	if e.want == 0 {
		delete(r.server, ch)
	}
}

// abandon ends the reconciler of ch without agreement (the client stops):
// subscriptions still waiting for their first answer fail with err.
func (r *subRegistry) abandon(ch Channel, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	e := r.server[ch]
	if e == nil {
		return
	}
	r.serverSubsLocked(ch, func(s *Subscription) {
		if s.state == SubscriptionSubscribing {
			s.state, s.err = SubscriptionUnsubscribed, err
			close(s.settled)
		}
	})
	r.finishLocked(ch, e, nil)
}

// confirm records that the server confirmed ch in the session of
// generation gen.
func (r *subRegistry) confirm(ch Channel, gen uint64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	e := r.server[ch]
	if e == nil {
		return
	}
	e.confirmed, e.maybe = gen, 0
	r.settleLocked(ch, e, gen)
}

// maybeHeld records that a /meta/subscribe of ch sent in the session of
// generation gen failed without an answer: the server may hold it.
func (r *subRegistry) maybeHeld(ch Channel, gen uint64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if e := r.server[ch]; e != nil {
		e.maybe = gen
	}
}

// denied records a denial of ch: subscriptions waiting for their first
// answer fail with err and are removed; the others are failed, to be
// retried. It reports whether any subscription is left to retry.
func (r *subRegistry) denied(ch Channel, err error) (retry bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	e := r.server[ch]
	if e == nil {
		return false
	}
	var gone []*Subscription
	r.serverSubsLocked(ch, func(s *Subscription) {
		if s.state == SubscriptionSubscribing {
			gone = append(gone, s)
			return
		}
		s.state, s.err = SubscriptionFailed, err
		retry = true
	})
	for _, s := range gone {
		s.stop()
		r.unlistLocked(s)
		s.state, s.err = SubscriptionUnsubscribed, err
		close(s.settled)
		e.want--
	}
	return retry
}

// failed records a denial an extension retries: renewals are failed,
// first subscriptions keep waiting.
func (r *subRegistry) failed(ch Channel, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.serverSubsLocked(ch, func(s *Subscription) {
		if s.state != SubscriptionSubscribing {
			s.state, s.err = SubscriptionFailed, err
		}
	})
}

// unsubscribed records the outcome of a /meta/unsubscribe of ch: the
// server holds nothing (or refused, which is reported to the waiters).
func (r *subRegistry) unsubscribed(ch Channel, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	e := r.server[ch]
	if e == nil {
		return
	}
	e.confirmed, e.maybe = 0, 0
	for _, w := range e.waiters {
		w <- err
	}
	e.waiters = nil
}

// sessionLost marks every confirmed subscription as being renewed.
func (r *subRegistry) sessionLost() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, l := range r.exact {
		for _, s := range l {
			if !s.local && s.state == SubscriptionSubscribed {
				s.state = SubscriptionResubscribing
			}
		}
	}
	for _, s := range r.wild {
		if !s.local && s.state == SubscriptionSubscribed {
			s.state = SubscriptionResubscribing
		}
	}
}

// claim hands the session loop every channel to renew in the session of
// generation gen that no reconciler is driving.
func (r *subRegistry) claim(gen uint64) []Channel {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []Channel
	for ch, e := range r.server {
		if e.want > 0 && e.confirmed != gen && !e.busy {
			e.busy = true
			out = append(out, ch)
		}
	}
	slices.Sort(out)
	return out
}
