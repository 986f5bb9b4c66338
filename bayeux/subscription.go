package bayeux

import (
	"context"
	"fmt"
	"iter"
	"sync"
	"sync/atomic"
)

// Subscription is one subscriber to a channel or pattern: a handler (or, in
// pull mode, a queue read with Next or All) receiving every matching
// message once, in the order the client received them. Several
// subscriptions may share a channel; the server subscription is made by the
// first and removed with the last.
type Subscription struct {
	c       *Client
	channel Channel
	handler func(Message)
	// local subscriptions (AddListener) never talk to the server.
	local bool

	// mu guards buf, head and spare: the queue of messages not yet
	// handed to the handler (buf[head:]), at most size long. The dispatch
	// goroutine takes the whole queue at once, so a burst of messages
	// costs one wake-up, not one per message.
	mu    sync.Mutex
	buf   []Message
	head  int
	spare []Message
	size  int
	ready chan struct{} // signalled (non-blocking) when buf becomes non-empty
	space chan struct{} // signalled when the queue is drained (OverflowBlock)

	quit     chan struct{} // closed to stop delivery now (Unsubscribe)
	quitOnce sync.Once
	drain    chan struct{} // closed to finish the queue and stop (Disconnect)
	drainOne sync.Once
	exited   chan struct{} // closed when the dispatch goroutine is gone
	gid      atomic.Uint64 // dispatch goroutine id
	stopped  atomic.Bool   // quit was closed

	dropped   atomic.Uint64
	delivered atomic.Uint64
	removed   atomic.Bool
}

// Channel returns the channel or pattern subscribed to.
func (s *Subscription) Channel() Channel { return s.channel }

// Dropped returns how many messages were dropped because the queue was full
// (see OverflowDrop).
func (s *Subscription) Dropped() uint64 { return s.dropped.Load() }

// Delivered returns how many messages were handed to the handler (or
// returned by Next).
func (s *Subscription) Delivered() uint64 { return s.delivered.Load() }

func newSubscription(c *Client, ch Channel, handler func(Message), local bool, size int) *Subscription {
	return &Subscription{c: c, channel: ch, handler: handler, local: local, size: size,
		ready: make(chan struct{}, 1), space: make(chan struct{}, 1),
		quit: make(chan struct{}), drain: make(chan struct{}), exited: make(chan struct{})}
}

func (s *Subscription) start() {
	if s.handler == nil {
		close(s.exited)
		return
	}
	go s.run()
}

// take removes and returns every queued message; the slice is only valid
// until the next take.
func (s *Subscription) take() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.buf[s.head:]
	if len(out) == 0 {
		return nil
	}
	// Swap buffers: the returned one is reused after the caller is done
	// with it (at the next take).
	clear(s.spare)
	s.buf, s.spare = s.spare[:0], s.buf
	s.head = 0
	select {
	case s.space <- struct{}{}:
	default:
	}
	return out
}

// run is the dispatch goroutine: it calls the handler for each queued
// message, in order, outside every lock of the client.
func (s *Subscription) run() {
	defer close(s.exited)
	s.gid.Store(goid())
	for s.deliverQueued() {
		select {
		case <-s.quit:
			return
		case <-s.ready:
		case <-s.drain:
			s.deliverQueued()
			return
		}
	}
}

// deliverQueued hands every queued message to the handler and reports
// false if the subscription was stopped meanwhile.
func (s *Subscription) deliverQueued() bool {
	for batch := s.take(); len(batch) > 0; batch = s.take() {
		for i := range batch {
			if s.stopped.Load() {
				return false
			}
			s.call(batch[i])
		}
	}
	return !s.stopped.Load()
}

func (s *Subscription) call(m Message) {
	defer func() {
		if r := recover(); r != nil {
			s.c.reportError(&HandlerPanicError{Subscription: s.channel, Value: r})
		}
	}()
	s.delivered.Add(1)
	s.handler(m)
}

// enqueue hands m to the subscription following the overflow policy.
func (s *Subscription) enqueue(m *Message, policy Overflow) {
	for {
		if s.stopped.Load() {
			return
		}
		s.mu.Lock()
		if n := len(s.buf) - s.head; n < s.size {
			if s.buf == nil {
				s.buf = make([]Message, 0, min(s.size, 64))
			}
			s.buf = append(s.buf, *m)
			s.mu.Unlock()
			if n == 0 {
				select {
				case s.ready <- struct{}{}:
				default:
				}
			}
			return
		}
		s.mu.Unlock()
		if policy != OverflowBlock {
			s.dropped.Add(1)
			s.c.reportError(&DroppedMessageError{Subscription: s.channel, Message: *m})
			return
		}
		select {
		case <-s.space:
		case <-s.quit:
			return
		case <-s.c.quit:
			return
		}
	}
}

// pop removes the first queued message (pull mode).
func (s *Subscription) pop() (Message, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.head == len(s.buf) {
		return Message{}, false
	}
	m := s.buf[s.head]
	s.buf[s.head] = Message{}
	s.head++
	if s.head == len(s.buf) {
		s.buf, s.head = s.buf[:0], 0
	}
	select {
	case s.space <- struct{}{}:
	default:
	}
	return m, true
}

// Next returns the next message of a pull-mode subscription (one made with
// a nil handler). It returns ErrClosed once the subscription was removed or
// the client disconnected, and ctx.Err() when ctx ends.
func (s *Subscription) Next(ctx context.Context) (Message, error) {
	if s.handler != nil {
		return Message{}, fmt.Errorf("%w: Next on a subscription with a handler", ErrBadState)
	}
	for {
		if s.stopped.Load() {
			return Message{}, ErrClosed
		}
		if m, ok := s.pop(); ok {
			s.delivered.Add(1)
			return m, nil
		}
		select {
		case <-s.ready:
		case <-s.quit:
			return Message{}, ErrClosed
		case <-s.drain:
			if m, ok := s.pop(); ok {
				s.delivered.Add(1)
				return m, nil
			}
			return Message{}, ErrClosed
		case <-ctx.Done():
			return Message{}, ctx.Err()
		}
	}
}

// All returns an iterator over the messages of a pull-mode subscription:
//
//	for m := range sub.All(ctx) { ... }
//
// It ends when ctx ends, the subscription is removed or the client
// disconnects.
func (s *Subscription) All(ctx context.Context) iter.Seq[Message] {
	return func(yield func(Message) bool) {
		for {
			m, err := s.Next(ctx)
			if err != nil || !yield(m) {
				return
			}
		}
	}
}

// Unsubscribe removes the subscription: no message is delivered to it
// after Unsubscribe returns. When it was the last subscription to its
// channel, /meta/unsubscribe is sent and its reply awaited; a failure is
// returned, but the local removal stands. Calling it again does nothing.
func (s *Subscription) Unsubscribe(ctx context.Context) error {
	if !s.removed.CompareAndSwap(false, true) {
		return nil
	}
	s.stop()
	last := s.c.subs.remove(s)
	if s.local || !last {
		return nil
	}
	return s.c.sendUnsubscribe(ctx, s.channel)
}

func (s *Subscription) stop() {
	s.quitOnce.Do(func() {
		s.stopped.Store(true)
		close(s.quit)
	})
}

func (s *Subscription) finish() { s.drainOne.Do(func() { close(s.drain) }) }

// HandlerPanicError reports a panic in a subscription handler; the client
// recovers, reports it to the error handler and goes on.
type HandlerPanicError struct {
	Subscription Channel
	Value        any
}

// Error implements the error interface.
func (e *HandlerPanicError) Error() string {
	return fmt.Sprintf("bayeux: handler of %s panicked: %v", e.Subscription, e.Value)
}

// serverSub is the server-side state of one channel subscribed by the
// client.
type serverSub struct {
	count     int           // non-local subscriptions
	confirmed bool          // the server acknowledged the subscription in this session
	inflight  chan struct{} // non-nil while a /meta/subscribe is in flight; closed when done
}

// registry holds the subscriptions. mu guards every field; dispatch holds
// the read lock while it enqueues (which never blocks in OverflowDrop).
type subRegistry struct {
	mu     sync.RWMutex
	closed bool // set by close: no subscription starts afterwards
	exact  map[Channel][]*Subscription
	wild   []*Subscription
	server map[Channel]*serverSub
}

func (r *subRegistry) init() {
	r.exact = make(map[Channel][]*Subscription)
	r.server = make(map[Channel]*serverSub)
}

func (r *subRegistry) add(s *Subscription) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if s.channel.HasWildcard() {
		r.wild = append(r.wild, s)
	} else {
		r.exact[s.channel] = append(r.exact[s.channel], s)
	}
	if !s.local {
		st := r.server[s.channel]
		if st == nil {
			st = &serverSub{}
			r.server[s.channel] = st
		}
		st.count++
	}
}

// remove deletes s and reports whether it was the last non-local
// subscription of a channel the server had confirmed.
func (r *subRegistry) remove(s *Subscription) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if s.channel.HasWildcard() {
		r.wild = removeSub(r.wild, s)
	} else {
		if l := removeSub(r.exact[s.channel], s); len(l) > 0 {
			r.exact[s.channel] = l
		} else {
			delete(r.exact, s.channel)
		}
	}
	if s.local {
		return false
	}
	st := r.server[s.channel]
	if st == nil {
		return false
	}
	st.count--
	if st.count > 0 {
		return false
	}
	delete(r.server, s.channel)
	return st.confirmed
}

func removeSub(l []*Subscription, s *Subscription) []*Subscription {
	for i, x := range l {
		if x == s {
			return append(l[:i:i], l[i+1:]...)
		}
	}
	return l
}

// begin returns the state of ch's server subscription: confirmed, or the
// channel to wait on while another request is in flight, or (mine) the
// caller must send the request and call end.
func (r *subRegistry) begin(ch Channel) (confirmed bool, wait chan struct{}, mine bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	st := r.server[ch]
	if st == nil {
		return false, nil, false
	}
	if st.confirmed {
		return true, nil, false
	}
	if st.inflight != nil {
		return false, st.inflight, false
	}
	st.inflight = make(chan struct{})
	return false, nil, true
}

func (r *subRegistry) end(ch Channel, ok bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	st := r.server[ch]
	if st == nil {
		return
	}
	if ok {
		st.confirmed = true
	}
	if st.inflight != nil {
		close(st.inflight)
		st.inflight = nil
	}
}

// unconfirmAll marks every server subscription as unknown to the server
// (the session was lost) and returns the channels.
func (r *subRegistry) unconfirmAll() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, st := range r.server {
		st.confirmed = false
	}
}

func (r *subRegistry) serverChannels() []Channel {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]Channel, 0, len(r.server))
	for ch := range r.server {
		out = append(out, ch)
	}
	return out
}

// dispatch hands m to every subscription matching its channel: the exact
// ones and the wildcard patterns that match.
// Meta messages (the protocol's replies) go only to local listeners: a
// server subscription such as "/**" receives events, not /meta/connect
// replies.
func (r *subRegistry) dispatch(m *Message, policy Overflow) {
	meta := m.IsMeta()
	r.mu.RLock()
	defer r.mu.RUnlock()
	for _, s := range r.exact[m.Channel] {
		if !meta || s.local {
			s.enqueue(m, policy)
		}
	}
	for _, s := range r.wild {
		if (!meta || s.local) && s.channel.MatchString(string(m.Channel)) {
			s.enqueue(m, policy)
		}
	}
}

// start starts s's dispatch goroutine unless the registry was closed (the
// client is shutting down), under the lock, so that close sees every
// started subscription.
func (r *subRegistry) start(s *Subscription) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return false
	}
	s.start()
	return true
}

// close stops new subscriptions from starting and returns every
// subscription.
func (r *subRegistry) close() []*Subscription {
	r.mu.Lock()
	r.closed = true
	r.mu.Unlock()
	return r.all()
}

func (r *subRegistry) all() []*Subscription {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := append([]*Subscription(nil), r.wild...)
	for _, l := range r.exact {
		out = append(out, l...)
	}
	return out
}

// eventQueue runs the user's state and error callbacks in order, on one
// goroutine, outside every lock. mu guards items and closed.
type eventQueue struct {
	mu     sync.Mutex
	items  []func()
	closed bool
	wake   chan struct{}
	done   chan struct{}
	gid    atomic.Uint64
}

func newEventQueue() *eventQueue {
	return &eventQueue{wake: make(chan struct{}, 1), done: make(chan struct{})}
}

func (q *eventQueue) run() {
	defer close(q.done)
	q.gid.Store(goid())
	for {
		q.mu.Lock()
		items := q.items
		q.items = nil
		closed := q.closed
		q.mu.Unlock()
		for _, f := range items {
			func() {
				defer func() { _ = recover() }()
				f()
			}()
		}
		if len(items) > 0 {
			continue
		}
		if closed {
			return
		}
		<-q.wake
	}
}

func (q *eventQueue) push(f func()) {
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return
	}
	q.items = append(q.items, f)
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

func (q *eventQueue) close() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
}
