package bayeux

import "sync"

// The message router: the subscriptions by channel (exact names and
// patterns) and dispatch, the hot path that hands each incoming message to
// the subscriptions it matches. What the server holds of each channel, and
// the reconciler that drives it, are in reconcile.go; the registry's one
// lock guards both.

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
	s.c.retire(s)
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

// all returns every subscription and listener registered.
func (r *subRegistry) all() []*Subscription {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := append([]*Subscription(nil), r.wild...)
	for _, l := range r.exact {
		out = append(out, l...)
	}
	return out
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
