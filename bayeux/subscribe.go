package bayeux

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
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

// subRegistry holds the subscriptions. mu guards every field, and the
// state and err of each Subscription; dispatch holds the read lock while
// it queues (which never waits).
type subRegistry struct {
	mu     sync.RWMutex
	closed bool // set by close: no subscription is added afterwards
	exact  map[Channel][]*Subscription
	wild   []*Subscription
	server map[Channel]*chanEntry

	// last caches exact[last.ch] for dispatch: the events of a payload are
	// mostly on one channel, whose name the decoder interns, so that the
	// next one is found by comparing two pointers rather than hashing the
	// name. dispatch runs only under Client.receiveMu, which orders its
	// writes made under the read lock; add and unlistLocked reset it under
	// the write lock.
	last struct {
		ch   Channel
		subs []*Subscription
		ok   bool
	}
}

func (r *subRegistry) init() {
	r.exact = make(map[Channel][]*Subscription)
	r.server = make(map[Channel]*chanEntry)
}

// Subscribe subscribes handler to channel (a name or a pattern ending in
// "*" or "**") and returns once the server has acknowledged the
// subscription. Each matching message is delivered once per subscription,
// in order, on a goroutine of the subscription, outside every lock: the
// handler may call Publish, Subscribe, Unsubscribe or Disconnect. A nil
// handler makes a pull-mode subscription read with Next or All.
//
// The subscription survives a lost session: the client subscribes again
// after every re-handshake, and retries with backoff a renewal the server
// denies (State and Err show it). Subscribing several times to one channel
// sends one /meta/subscribe. A denied subscription returns a *ServerError
// matching ErrSubscriptionDenied. When ctx ends before the server
// answered, Subscribe returns an error and the client makes sure the
// server does not keep the subscription. /meta/ channels are served by
// AddListener instead.
func (c *Client) Subscribe(ctx context.Context, channel Channel, handler func(Message)) (*Subscription, error) {
	if err := channel.Validate(); err != nil {
		return nil, err
	}
	if channel.Type() == MetaChannel {
		return nil, &InvalidChannelError{Channel: channel, Reason: "cannot subscribe to a /meta/ channel; use AddListener"}
	}
	if err := c.usable(); err != nil {
		return nil, err
	}
	s := newSubscription(c, channel, handler, false)
	spawn, ok := c.subs.add(s, c.currentGen())
	if !ok {
		return nil, ErrClosed
	}
	if spawn && !c.track.spawn(func() { c.reconcile(channel, false) }) {
		c.subs.abandon(channel, ErrClosed)
	}
	select {
	case <-s.settled:
	case <-ctx.Done():
		// Leave nothing behind on the server: the reconciler unsubscribes
		// once the request in flight is answered.
		done, cancel := context.WithCancel(context.Background())
		cancel()
		_ = s.Unsubscribe(done)
		return nil, fmt.Errorf("bayeux: subscribe %s: not confirmed (client %s): %w", channel, c.State(), ctx.Err())
	}
	if s.State() == SubscriptionUnsubscribed {
		if err := s.Err(); err != nil {
			return nil, err
		}
		return nil, ErrClosed
	}
	return s, nil
}

// usable returns nil when the client accepts requests.
func (c *Client) usable() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.usableLocked()
}

// Unsubscribe removes the subscription: once it returns, no handler call
// begins (Next returns ErrClosed); a call already under way is not waited
// for, so that a handler may unsubscribe itself. When it was the last subscription to its
// channel, /meta/unsubscribe is sent (after any subscribe or re-subscribe
// still in flight is answered) and its reply awaited until ctx ends; a
// failure is returned, but the local removal stands. Calling it again does
// nothing.
func (s *Subscription) Unsubscribe(ctx context.Context) error {
	if !s.removed.CompareAndSwap(false, true) {
		return nil
	}
	s.stop()
	c := s.c
	wait, spawn := c.subs.remove(s)
	if spawn && !c.track.spawn(func() { c.reconcile(s.channel, false) }) {
		c.subs.abandon(s.channel, nil)
	}
	if wait == nil {
		return nil
	}
	select {
	case err := <-wait:
		return err
	case <-c.life.closing.Done():
		return nil
	case <-ctx.Done():
		return fmt.Errorf("bayeux: unsubscribe %s: no answer yet (it is still carried out): %w", s.channel, ctx.Err())
	}
}

// AddListener adds a local listener: it receives every message the client
// receives on a matching channel, /meta/ channels included (the protocol's
// own replies: a listener on /meta/connect sees every connect reply), and
// sends nothing to the server. It runs like a subscription handler. Remove
// it with Unsubscribe.
func (c *Client) AddListener(channel Channel, handler func(Message)) (*Subscription, error) {
	if err := channel.Validate(); err != nil {
		return nil, err
	}
	if c.stageOf() >= stageClosing {
		return nil, ErrClosed
	}
	s := newSubscription(c, channel, handler, true)
	if _, ok := c.subs.add(s, 0); !ok {
		return nil, ErrClosed
	}
	return s, nil
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
		msg := Message{ID: c.wire.newID(), Channel: op, ClientID: sess.id, Subscription: []Channel{ch}}
		replies, found, err := c.exchange(sess.ctx, c.wire.transport(), []Message{msg}, false)
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
			c.reportError(wrapOp("unsubscribe "+string(ch), err))
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
		if c.wire.hooks.Load().retry(req, reply, err) {
			// An extension will change the request: try again, the
			// first Subscribe still waiting.
			// The extension reports what it does about it.
			c.log.Debug("bayeux subscription denied; an extension retries it", "channel", string(ch), "err", err)
			c.subs.failed(ch, err)
			return false
		}
		if c.subs.denied(ch, err) {
			c.log.Warn("bayeux re-subscription denied; retrying", "channel", string(ch), "err", err)
			c.reportError(wrapOp("re-subscribe "+string(ch), err))
		}
		return false
	default:
		// A transport failure: the server may have carried the request
		// out. If nothing wants the channel any more, it is unsubscribed.
		c.subs.maybeHeld(ch, sess.gen)
		c.reportError(wrapOp("subscribe "+string(ch), err))
		return false
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

// add registers s. For a server subscription it reports whether the
// caller must start a reconciler; a subscription to a channel the server
// confirmed in the current session (generation gen) is settled at once.
func (r *subRegistry) add(s *Subscription, gen uint64) (spawn, ok bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return false, false
	}
	if s.channel.HasWildcard() {
		r.wild = append(r.wild, s)
	} else {
		r.exact[s.channel] = append(r.exact[s.channel], s)
		r.last.ok = false
	}
	if s.local {
		s.state = SubscriptionSubscribed
		close(s.settled)
		return false, true
	}
	e := r.server[s.channel]
	if e == nil {
		e = &chanEntry{}
		r.server[s.channel] = e
	}
	e.want++
	if gen != 0 && e.confirmed == gen && !e.busy {
		// Confirmed in the current session, and no unsubscribe in
		// flight that would undo it.
		s.state = SubscriptionSubscribed
		close(s.settled)
		return false, true
	}
	s.state = SubscriptionSubscribing
	if e.busy {
		return false, true
	}
	e.busy = true
	return true, true
}

// remove unregisters s. For the last server subscription of a channel it
// returns a channel that receives the outcome of the /meta/unsubscribe,
// and whether the caller must start a reconciler to send it.
func (r *subRegistry) remove(s *Subscription) (wait chan error, spawn bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.unlistLocked(s)
	if s.state == SubscriptionSubscribing {
		close(s.settled)
	}
	s.state = SubscriptionUnsubscribed
	if s.local {
		return nil, false
	}
	e := r.server[s.channel]
	if e == nil {
		return nil, false
	}
	e.want--
	if e.want > 0 {
		return nil, false
	}
	switch {
	case e.busy:
	case e.confirmed != 0 || e.maybe != 0:
		// The server holds, or may hold, the channel: a reconciler
		// compares with the current session, whose generation it reads
		// under the client's lock (one read here could be stale by the
		// time this lock is taken, and drop a channel just confirmed).
		e.busy, spawn = true, true
	default:
		// The server holds nothing in the current session.
		delete(r.server, s.channel)
		return nil, false
	}
	wait = make(chan error, 1)
	e.waiters = append(e.waiters, wait)
	return wait, spawn
}

func (r *subRegistry) unlistLocked(s *Subscription) {
	if s.channel.HasWildcard() {
		r.wild = removeSub(r.wild, s)
		return
	}
	r.last.ok = false
	if l := removeSub(r.exact[s.channel], s); len(l) > 0 {
		r.exact[s.channel] = l
	} else {
		delete(r.exact, s.channel)
	}
}

func removeSub(l []*Subscription, s *Subscription) []*Subscription {
	for i, x := range l {
		if x == s {
			return append(l[:i:i], l[i+1:]...)
		}
	}
	return l
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
		s.removed.Store(true)
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

// dispatch hands m to every subscription matching its channel: the exact
// ones and the wildcard patterns that match. Meta messages (the protocol's
// replies) go only to local listeners: a server subscription such as "/**"
// receives events, not /meta/connect replies.
func (r *subRegistry) dispatch(c *Client, m *Message) {
	meta := m.IsMeta()
	r.mu.RLock()
	defer r.mu.RUnlock()
	if r.closed {
		return
	}
	last := &r.last
	if !last.ok || last.ch != m.Channel {
		last.ch, last.subs, last.ok = m.Channel, r.exact[m.Channel], true
	}
	for _, s := range last.subs {
		if !meta || s.local {
			s.enqueue(m)
		}
	}
	for _, s := range r.wild {
		if (!meta || s.local) && s.channel.MatchString(string(m.Channel)) {
			s.enqueue(m)
		}
	}
}

// close stops new subscriptions, fails those waiting for their first
// answer, and returns every subscription.
func (r *subRegistry) close() []*Subscription {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closed = true
	out := append([]*Subscription(nil), r.wild...)
	for _, l := range r.exact {
		out = append(out, l...)
	}
	for _, s := range out {
		if s.state == SubscriptionSubscribing {
			s.err = ErrClosed
			close(s.settled)
		}
		s.state = SubscriptionUnsubscribed
	}
	for ch, e := range r.server {
		r.finishLocked(ch, e, nil)
	}
	return out
}
