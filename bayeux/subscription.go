package bayeux

import (
	"bytes"
	"context"
	"fmt"
	"iter"
	"runtime"
	"sync"
	"sync/atomic"
)

// Subscription is one subscriber to a channel or pattern: a handler (or, in
// pull mode, a queue read with Next or All) receiving every matching
// message once, in the order the client received them. Several
// subscriptions may share a channel; the server subscription is made by the
// first and removed with the last.
//
// A subscription has a state (State) and, after a denial, an error (Err):
// it survives lost sessions, and a renewal the server denies is retried.
type Subscription struct {
	c       *Client
	channel Channel
	handler func(Message)
	// local subscriptions (AddListener) never talk to the server.
	local bool

	// state and err are guarded by c.subs.mu.
	state SubscriptionState
	err   error
	// settled is closed when the subscription leaves
	// SubscriptionSubscribing (confirmed, or denied).
	settled chan struct{}

	// mu guards the delivery queue (buf[head:]) and the fields up to the
	// blank line. Delivery never waits for room: a full queue drops (or,
	// with OverflowBlock, holds the next /meta/connect).
	//
	// The queue holds pointers to the messages as received, into the
	// []Message of their payload, which the client owns once a transport
	// handed it over and which nothing modifies after dispatch: a queued
	// message costs 8 bytes and is neither copied nor cleared (the payload's
	// array lives as long as the body its messages' Data alias anyway).
	// That pins the whole response body a message came in, so a queue
	// pins at most about maxPinnedBytes of them: the messages of further
	// payloads are copied (see enqueue).
	mu      sync.Mutex
	buf     []*Message
	head    int
	spare   []*Message
	running bool   // a delivery goroutine runs (there is none while the queue is empty)
	over    bool   // the queue is over its size (counted in c.over)
	episode uint64 // messages dropped since the queue was last empty
	// payload is the number (Client.payload) of the payload of the last
	// message queued; pinned adds up the sizes of the payloads the queue
	// holds messages of without copies (since the last take); detach is
	// set while the messages of the current payload are copied.
	payload     uint64
	payloadSize int
	pinned      int
	detach      bool
	highWater   int // the most messages the queue held at once

	ready chan struct{} // pull mode: signalled when the queue becomes non-empty
	// pending is the message the last Next returned, not yet marked
	// handled (pull mode): the DeliveredExtension hooks see it when the
	// caller asks for the next one, or calls Commit. Guarded by mu.
	pending *Message

	// end says whether and how the subscription ended (endLive,
	// endDrain, endStop); it only moves forward. ended is closed at the
	// first end, waking a Next that waits.
	end     atomic.Int32
	ended   chan struct{}
	endOnce sync.Once

	dropped   atomic.Uint64
	delivered atomic.Uint64
}

// How a subscription ends (Subscription.end).
const (
	// endLive: it receives messages.
	endLive int32 = iota
	// endDrain: the client shut down; what is queued is still delivered,
	// nothing new is queued.
	endDrain
	// endStop: unsubscribed (or its first subscription denied): nothing
	// more is delivered.
	endStop
)

// Channel returns the channel or pattern subscribed to.
func (s *Subscription) Channel() Channel { return s.channel }

// State returns where the subscription stands with the server.
func (s *Subscription) State() SubscriptionState {
	s.c.subs.mu.RLock()
	defer s.c.subs.mu.RUnlock()
	return s.state
}

// Err returns why the subscription is failed or was ended by a denial
// (nil otherwise): a *ServerError matching ErrSubscriptionDenied, with the
// server's error and advice.
func (s *Subscription) Err() error {
	s.c.subs.mu.RLock()
	defer s.c.subs.mu.RUnlock()
	return s.err
}

// Dropped returns how many messages were dropped because the queue was full
// (see OverflowDrop).
func (s *Subscription) Dropped() uint64 { return s.dropped.Load() }

// Delivered returns how many messages were handed to the handler (or
// returned by Next).
func (s *Subscription) Delivered() uint64 { return s.delivered.Load() }

func newSubscription(c *Client, ch Channel, handler func(Message), local bool) *Subscription {
	return &Subscription{c: c, channel: ch, handler: handler, local: local,
		settled: make(chan struct{}), ready: make(chan struct{}, 1), ended: make(chan struct{})}
}

// overflow returns the slow-consumer policy in force: the one set, or for
// OverflowDefault, OverflowBlock while an extension needs backpressure.
func (c *Client) overflow() Overflow {
	switch {
	case c.opts.Overflow != OverflowDefault:
		return c.opts.Overflow
	case c.ep.hooks.Load().backpressure:
		return OverflowBlock
	}
	return OverflowDrop
}

// enqueue queues m for delivery. It never waits.
func (s *Subscription) enqueue(m *Message) {
	if s.end.Load() != endLive {
		return
	}
	size, limit := s.c.opts.QueueSize, s.c.queueLimit
	s.mu.Lock()
	if s.end.Load() != endLive {
		// Ended meanwhile: stop has already taken the queue out of the
		// backpressure count.
		s.mu.Unlock()
		return
	}
	n := len(s.buf) - s.head
	if n >= limit {
		s.dropped.Add(1)
		s.episode++
		first := s.episode == 1
		s.mu.Unlock()
		if first {
			// Once per slow-consumer episode; the report keeps no part of
			// the response body.
			s.c.reportError(&DroppedMessageError{Subscription: s.channel, Message: header(m), Count: 1})
		}
		for _, u := range s.c.ep.hooks.Load().undelivered {
			u.Undelivered(s.channel, m)
		}
		return
	}
	if p := s.c.payload; p != s.payload {
		// A new payload: queued as it is while the queue keeps less than
		// maxPinnedBytes of bodies alive (always, into an empty queue).
		psize := s.c.payloadSize
		s.payload, s.payloadSize = p, psize
		s.detach = s.pinned > 0 && s.pinned+psize > maxPinnedBytes
		if !s.detach {
			s.pinned += psize
		}
	}
	if s.detach {
		// Behind a backlog: the message keeps its own bytes, not the
		// response body it came in.
		m = detached(m)
	}
	if s.buf == nil {
		s.buf = make([]*Message, 0, min(size, queueStart))
	}
	s.buf = append(s.buf, m)
	if n+1 > s.highWater {
		s.highWater = n + 1
	}
	if n+1 > size && !s.over {
		s.over = true
		s.c.over.Add(1)
	}
	start := s.handler != nil && !s.running
	if start {
		s.running = true
	}
	s.mu.Unlock()
	switch {
	case start:
		if !s.c.track.spawnUser(s.run) {
			s.mu.Lock()
			s.running = false
			s.mu.Unlock()
		}
	case s.handler == nil && n == 0:
		select {
		case s.ready <- struct{}{}:
		default:
		}
	case s.handler != nil && n+1 >= size/2 && (n+1)%64 == 0:
		// The queue is half full: the delivery goroutine is runnable
		// but not running, typically queued behind this one, which has
		// data to read and would not yield its processor before the
		// scheduler preempts it (10 ms: thousands of messages, dropped
		// once the queue is full). Yield, now and then, to let it run.
		runtime.Gosched()
	}
}

// maxPinnedBytes bounds the response bodies a subscription's queue keeps
// alive by the messages it holds uncopied since its handler last took
// them (a single larger body is let through into an empty queue); with
// the batch its handler works on, a subscription pins at most about twice
// that. The messages of a payload that would go beyond it are copied as
// they are queued, so that a slow handler's backlog costs what it holds (a
// stuck handler behind 50 small events that came in 50 large bodies
// pinned every one of them), while a handler that keeps up, or lags by a
// few payloads, never copies.
const maxPinnedBytes = 4 << 20

// detached returns a copy of m that shares no memory with the response
// body m was decoded from (only Data aliases it).
func detached(m *Message) *Message {
	cp := *m
	cp.Data = bytes.Clone(m.Data)
	return &cp
}

// queueStart is the capacity a delivery queue's buffer starts with (2 KiB);
// it grows as bursts need, and the queue keeps its two buffers (the one
// filling and the one being delivered). Starting small spares the
// subscriptions that see a message now and then (15 KiB per buffer with
// 64 messages).
const queueStart = 8

// header returns m without its payload, for reports.
func header(m *Message) Message {
	return Message{Channel: m.Channel, ID: m.ID}
}

// take removes and returns every queued message, or nil (and the delivery
// goroutine ends) when there is none. The slice is valid until the next
// take, and the caller clears it before then.
func (s *Subscription) take() []*Message {
	s.mu.Lock()
	out := s.buf[s.head:]
	if len(out) == 0 {
		s.running = false
		ended := s.endEpisodeLocked()
		s.mu.Unlock()
		s.reportEpisode(ended)
		return nil
	}
	// Swap buffers: the returned one is reused after the caller is done
	// with it (at the next take); run clears it first, outside the lock.
	s.buf, s.spare = s.spare[:0], s.buf
	s.head = 0
	s.pinned = 0
	if !s.detach {
		// The payload being queued goes on into the empty queue.
		s.pinned = s.payloadSize
	}
	s.drainedLocked()
	s.mu.Unlock()
	return out
}

// drainedLocked notes that the queue is back under its size.
func (s *Subscription) drainedLocked() {
	if s.over {
		s.over = false
		s.c.over.Add(-1)
		select {
		case s.c.drained <- struct{}{}:
		default:
		}
	}
}

// endEpisodeLocked ends a slow-consumer episode (the queue is empty) and
// returns how many messages it dropped.
func (s *Subscription) endEpisodeLocked() uint64 {
	n := s.episode
	s.episode = 0
	return n
}

func (s *Subscription) reportEpisode(n uint64) {
	if n > 1 {
		s.c.reportError(&DroppedMessageError{Subscription: s.channel, Count: n})
	}
}

// run is a delivery goroutine: it calls the handler for each queued
// message, in order, outside every lock of the client, and ends when the
// queue is empty.
func (s *Subscription) run() {
	for {
		batch := s.take()
		if batch == nil {
			return
		}
		for i := 0; i < len(batch); {
			i = s.callFrom(batch, i)
		}
		// Drop the delivered messages (their payloads) before the buffer
		// is reused; enqueue appends only to the other one.
		clear(batch)
		if s.end.Load() == endStop {
			s.discard()
			return
		}
	}
}

// discard empties the queue of a removed subscription.
func (s *Subscription) discard() {
	s.mu.Lock()
	clear(s.buf)
	s.buf, s.head, s.running = s.buf[:0], 0, false
	s.drainedLocked()
	s.mu.Unlock()
}

// callFrom hands batch[i:] to the handler, one message at a time, and
// returns how far it got: len(batch) when done or stopped, or the index
// after a message whose handler panicked (the panic is reported and
// delivery goes on with the next message). One deferred recover covers
// the whole batch, and the handler gets its copy straight from the
// payload's array: a message costs no allocation here.
func (s *Subscription) callFrom(batch []*Message, i int) (next int) {
	hs := s.c.ep.hooks.Load().handlers
	var ends []func(bool) // the handler extensions' ends for the call under way
	defer func() {
		if r := recover(); r != nil {
			for _, end := range ends {
				end(true)
			}
			s.c.reportError(&HandlerPanicError{Subscription: s.channel, Value: r})
			next = i + 1
		}
	}()
	for ; i < len(batch); i++ {
		if s.end.Load() == endStop {
			return len(batch)
		}
		m := batch[i]
		s.delivered.Add(1)
		if len(hs) == 0 {
			s.handler(*m)
		} else {
			for _, h := range hs {
				if end := h.StartHandler(s.channel, m); end != nil {
					ends = append(ends, end)
				}
			}
			s.handler(*m)
			for _, end := range ends {
				end(false)
			}
			ends = ends[:0]
		}
		s.handled(m)
	}
	return i
}

// handled calls the DeliveredExtension hooks for m.
func (s *Subscription) handled(m *Message) {
	for _, d := range s.c.ep.hooks.Load().delivered {
		d.Delivered(s.channel, m)
	}
}

// pop removes the first queued message (pull mode).
func (s *Subscription) pop() *Message {
	s.mu.Lock()
	if s.head == len(s.buf) {
		ended := s.endEpisodeLocked()
		s.mu.Unlock()
		s.reportEpisode(ended)
		return nil
	}
	m := s.buf[s.head]
	s.buf[s.head] = nil
	s.head++
	s.pending = m
	if s.head == len(s.buf) {
		s.buf, s.head = s.buf[:0], 0
		s.pinned = 0
	}
	if len(s.buf)-s.head <= s.c.opts.QueueSize {
		s.drainedLocked()
	}
	s.mu.Unlock()
	return m
}

// finish makes the subscription deliver what is queued and stop (the
// client is shutting down).
func (s *Subscription) finish() {
	if s.end.CompareAndSwap(endLive, endDrain) {
		s.endOnce.Do(func() { close(s.ended) })
	}
}

// Next returns the next message of a pull-mode subscription (one made with
// a nil handler). It returns ErrClosed once the subscription was removed or
// the client disconnected (after the messages already queued), and an
// error wrapping ctx.Err() when ctx ends.
//
// The message Next returns is handled once the caller asks for the next
// one (or calls Commit): only then do the DeliveredExtension hooks see it,
// so that ext/replay's stored position never moves past an event the
// caller was still working on when the process died. With several
// goroutines calling Next on one subscription, any call marks the message
// returned before it handled: give such a subscription one reader, or
// commit explicitly.
func (s *Subscription) Next(ctx context.Context) (Message, error) {
	if s.handler != nil {
		return Message{}, fmt.Errorf("%w: Next on a subscription with a handler", ErrBadState)
	}
	// Asking for the next message says the caller is done with the one
	// before: it is handled now, not when it was returned.
	s.Commit()
	for {
		if s.end.Load() == endStop {
			return Message{}, ErrClosed
		}
		if m := s.pop(); m != nil {
			s.delivered.Add(1)
			return *m, nil
		}
		if s.end.Load() != endLive {
			return Message{}, ErrClosed
		}
		select {
		case <-s.ready:
		case <-s.ended:
		case <-ctx.Done():
			return Message{}, fmt.Errorf("bayeux: waiting for a message on %s: %w", s.channel, ctx.Err())
		}
	}
}

// Commit marks the message the last Next returned handled now: the
// DeliveredExtension hooks see it (ext/replay stores its replay id), as
// they would at the next call of Next. Call it when the caller is done
// with a message but will not ask for another soon (before a pause, or
// after breaking out of All), so that a restart does not deliver it again.
// Commit is idempotent and safe from any goroutine; it does nothing on a
// subscription with a handler, whose messages are handled when the
// handler returns.
func (s *Subscription) Commit() {
	s.mu.Lock()
	m := s.pending
	s.pending = nil
	s.mu.Unlock()
	if m != nil {
		s.handled(m)
	}
}

// All returns an iterator over the messages of a pull-mode subscription:
//
//	for m := range sub.All(ctx) { ... }
//
// It ends when ctx ends, the subscription is removed or the client
// disconnects. Each message is handled (see Next) when the loop's body
// asks for the next one; one the body breaks out on is not: call Commit
// if the body was done with it.
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

// stop ends the subscription for good (Unsubscribe, or a denial of its
// first subscription) and reports whether this call did.
func (s *Subscription) stop() bool {
	for {
		e := s.end.Load()
		if e == endStop {
			return false
		}
		if s.end.CompareAndSwap(e, endStop) {
			break
		}
	}
	s.endOnce.Do(func() { close(s.ended) })
	s.mu.Lock()
	// An unsubscribed subscription's queue no longer holds the next
	// /meta/connect, whether or not its handler is still running.
	s.drainedLocked()
	running := s.running
	s.mu.Unlock()
	if !running {
		s.discard()
	}
	return true
}

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
