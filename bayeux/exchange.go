package bayeux

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// exchange sends msgs over t and returns the replies matched to each
// message by id (found[i] reports whether msgs[i] got one). Every message
// received on the way is processed by receive: events are dispatched,
// replies routed to their waiters.
func (c *Client) exchange(ctx context.Context, t Transport, msgs []Message, call bool) ([]Message, []bool, error) {
	ws := make([]*waiter, len(msgs))
	for i := range msgs {
		if msgs[i].ID != "" {
			ws[i] = c.pending.add(msgs[i].ID, msgs[i].Channel, call)
		}
	}
	defer c.pending.remove(ws)
	if len(msgs) != 1 || msgs[0].Channel != MetaConnect {
		// Every request other than the held /meta/connect (whose caller
		// adds the advised timeout) gets the maximum network delay: the
		// client's own deadline, the one that may judge the server
		// silent (ErrNetworkDelay), unlike the caller's.
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeoutCause(ctx, c.opts.MaxNetworkDelay, ErrNetworkDelay)
		defer cancel()
	}
	connect := len(msgs) == 1 && msgs[0].Channel == MetaConnect
	// A persistent transport's connection broke since the last
	// /meta/connect, perhaps with events the server pushed on it: resume
	// before anything new arrives on another connection, so that no event
	// after the lost ones is handled first.
	if connect {
		if err := c.resumeIfLost(t, "the connection broke, perhaps with events the server had sent on it"); err != nil {
			return nil, nil, err
		}
	}
	res, err := c.ep.roundTrip(ctx, t, c.currentURL(), msgs)
	// The transport sent the /meta/connect again after an attempt whose
	// answer, and the events in it, may have been lost. An extension that
	// can ask for those events again (ext/replay) gets them in a new
	// session: this answer's events are not delivered, so that nothing
	// after the lost ones is handled first (they come again after them).
	if err == nil && connect {
		if err := c.resumeIfLost(t, "the /meta/connect was sent again after its answer was cut off"); err != nil {
			return nil, nil, err
		}
	}
	if len(res) > 0 {
		c.receive(res)
	}
	if err != nil {
		if errors.Is(err, ErrTransport) {
			c.stats.transportFailures.Add(1)
		}
		if cause := context.Cause(ctx); cause != nil && cause != ctx.Err() && !errors.Is(err, cause) {
			// The request was cut short for a known reason (the session
			// was lost): say so rather than "context canceled".
			err = fmt.Errorf("%w (%w)", err, cause)
		}
		return nil, nil, err
	}
	replies := make([]Message, len(msgs))
	found := make([]bool, len(msgs))
	for i, w := range ws {
		if w == nil {
			continue
		}
		select {
		case r := <-w.reply:
			replies[i], found[i] = r, true
		default:
		}
	}
	return replies, found, nil
}

// resumeIfLost returns an error matching ErrResponseLost, saying why,
// when a transport counted a lost answer since the session loop last
// looked (lostSince) and a ResumeExtension chose to resume; nil
// otherwise.
func (c *Client) resumeIfLost(t Transport, why string) error {
	if !c.lostSince() {
		return nil
	}
	cause := &TransportError{ConnectionType: t.Name(), Err: fmt.Errorf("%w: %s", ErrResponseLost, why)}
	if c.ep.hooks.Load().resume(cause) {
		return cause
	}
	return nil
}

// receive processes messages from the server, in order: incoming
// extensions, then replies to their waiters, meta messages to listeners,
// events to subscriptions. It never waits: delivery only queues.
func (c *Client) receive(msgs []Message) {
	c.receiveMu.Lock()
	defer c.receiveMu.Unlock()
	c.payload++
	c.payloadSize = payloadSize(msgs)
	c.queueLimit = c.opts.QueueSize
	if c.overflow() == OverflowBlock {
		// Backpressure holds the next /meta/connect; what arrives anyway
		// (the rest of a payload) is queued up to one more payload of
		// the size of the one being delivered.
		c.queueLimit += payloadMessageLimit(c.payloadSize)
	}
	c.ep.incoming(msgs)
	stray, events := 0, 0
	var strayChannel Channel
	for i := range msgs {
		m := &msgs[i]
		matched := c.pending.deliver(m)
		switch {
		case m.IsMeta():
			if !matched {
				c.log.Debug("bayeux unmatched meta reply ignored", "channel", string(m.Channel), "id", m.ID)
			}
			c.subs.dispatch(c, m)
		case matched:
		case m.HasSuccessful():
			// A reply no request waits for any more (its caller gave up,
			// or a server answered twice): never an event, data or not.
			c.log.Debug("bayeux unmatched reply ignored", "channel", string(m.Channel), "id", m.ID)
		case m.Channel.HasWildcard():
			// No one can publish to a pattern: a server forwarding such an
			// event is broken. It is not delivered (a subscriber of /a/*
			// would otherwise get an event "on" /a/**).
			stray++
			strayChannel = m.Channel
		case len(m.Data) > 0:
			events++
			if h := c.ep.hooks.Load(); len(h.filters) == 0 || h.keep(m) {
				c.subs.dispatch(c, m)
			} else {
				c.stats.filtered.Add(1)
			}
		default:
			stray++
			strayChannel = m.Channel
		}
	}
	if events > 0 {
		c.received.Add(uint64(events))
		c.stats.lastEvent.Store(time.Now().UnixNano())
	}
	if stray > 0 {
		c.stats.invalid.Add(uint64(stray))
		// One report per payload, however many such messages it holds.
		c.reportError(&DecodeError{Reason: fmt.Sprintf("%d message(s) neither a reply nor an event (no data, no successful, or a wildcard channel), the last on %s", stray, strayChannel)})
	}
}

// payloadSize estimates the size of the response body msgs were decoded
// from: their data, which aliases it, and the envelope of each message.
func payloadSize(msgs []Message) int {
	n := 0
	for i := range msgs {
		n += len(msgs[i].Data) + envelopeSize
	}
	return n
}

// envelopeSize is about what a message's fields other than data take in a
// payload (channel, id, clientId and the JSON around them).
const envelopeSize = 64

// waiter is a request waiting for its reply.
type waiter struct {
	id      string
	seq     uint64
	channel Channel
	call    bool
	reply   chan Message
}

// pendingReplies maps message ids to waiters. mu guards the fields.
type pendingReplies struct {
	mu  sync.Mutex
	m   map[string]*waiter
	seq uint64
}

func (p *pendingReplies) init() { p.m = make(map[string]*waiter) }

func (p *pendingReplies) add(id string, ch Channel, call bool) *waiter {
	p.mu.Lock()
	p.seq++
	w := &waiter{id: id, seq: p.seq, channel: ch, call: call, reply: make(chan Message, 1)}
	p.m[id] = w
	p.mu.Unlock()
	return w
}

func (p *pendingReplies) remove(ws []*waiter) {
	p.mu.Lock()
	for _, w := range ws {
		if w != nil && p.m[w.id] == w {
			delete(p.m, w.id)
		}
	}
	p.mu.Unlock()
}

// deliver hands m to the waiter for its id when m is the reply it waits
// for: same channel, and for a publish no data (a message with data and a
// colliding id is someone's event, as Faye forwards publishers' ids). A
// meta reply without an id (the specification makes id optional) goes to
// the oldest request waiting on its channel.
func (p *pendingReplies) deliver(m *Message) bool {
	p.mu.Lock()
	var w *waiter
	if m.ID != "" {
		w = p.m[m.ID]
	} else if m.IsMeta() && m.HasSuccessful() {
		for _, x := range p.m {
			if x.channel == m.Channel && (w == nil || x.seq < w.seq) {
				w = x
			}
		}
	}
	if w == nil || w.channel != m.Channel || (!w.call && !m.IsMeta() && len(m.Data) > 0) {
		p.mu.Unlock()
		return false
	}
	delete(p.m, w.id)
	p.mu.Unlock()
	w.reply <- *m
	return true
}
