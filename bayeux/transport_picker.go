package bayeux

import "time"

// transportPicker chooses the transport of a Client's session. It is owned
// by the session goroutine.
//
// The rule for a transport the server refused (for example a websocket
// upgrade answered with 400): it is left aside for Options.TransportRetry,
// doubled on each consecutive refusal up to 16 times, and then tried
// again at the next /meta/connect, within the same session (CometD and Faye
// servers accept a session's connect over any transport they offered). A
// successful connect over it resets the count. So a brief websocket outage
// costs a spell on long-polling, not the rest of the session.
type transportPicker struct {
	c        *Client
	names    []string
	server   []string // the server's connection types; nil before a handshake
	until    []time.Time
	refusals []int
	now      func() time.Time
}

func newTransportPicker(c *Client) *transportPicker {
	n := len(c.ep.transports)
	return &transportPicker{c: c, names: c.ep.transportNames(), until: make([]time.Time, n),
		refusals: make([]int, n), now: time.Now}
}

func (p *transportPicker) disabled(i int) bool { return p.now().Before(p.until[i]) }

// firstUsable returns the first transport not left aside (the one coming
// back soonest when all are), optionally only among polling ones.
func (p *transportPicker) firstUsable(polling bool) int {
	best := -1
	for i, n := range p.names {
		if polling && n != ConnectionTypeLongPolling && n != ConnectionTypeCallbackPolling {
			continue
		}
		if !p.disabled(i) {
			return i
		}
		if best < 0 || p.until[i].Before(p.until[best]) {
			best = i
		}
	}
	return best
}

// forHandshake returns the transport to handshake with: the first usable
// one (StrategyFallback), or the first usable polling one
// (StrategyUpgrade), and makes it current.
func (p *transportPicker) forHandshake() int {
	i := -1
	if p.c.opts.Strategy == StrategyUpgrade {
		i = p.firstUsable(true)
	}
	if i < 0 {
		i = p.firstUsable(false)
	}
	p.c.ep.current.Store(int32(i))
	return i
}

// offered returns the connection types to offer in a handshake: every
// configured one, so that the session can move between them.
func (p *transportPicker) offered() []string { return p.names }

// negotiated records the server's connection types from a successful
// handshake and makes the preferred common one current.
func (p *transportPicker) negotiated(server []string) error {
	p.server = server
	i := negotiate(p.names, server, p.disabled)
	if i < 0 {
		i = negotiate(p.names, server, nil)
	}
	if i < 0 {
		return ErrNoCommonTransport
	}
	p.c.ep.current.Store(int32(i))
	return nil
}

// pick chooses the transport for the next /meta/connect: the preferred
// usable one the server supports. It reports whether that is a change.
func (p *transportPicker) pick() (Transport, bool) {
	cur := int(p.c.ep.current.Load())
	i := negotiate(p.names, p.server, p.disabled)
	if i < 0 || i == cur {
		return p.c.ep.transports[cur], false
	}
	p.c.ep.current.Store(int32(i))
	return p.c.ep.transports[i], true
}

// maxTransportRetryFactor bounds how many times TransportRetry a refused
// transport is left aside after consecutive refusals.
const maxTransportRetryFactor = 16

// refused leaves the current transport aside.
func (p *transportPicker) refused() { p.refusedAt(int(p.c.ep.current.Load())) }

func (p *transportPicker) refusedAt(i int) {
	p.refusals[i]++
	d := p.c.opts.TransportRetry
	for k := 1; k < p.refusals[i] && d < maxTransportRetryFactor*p.c.opts.TransportRetry; k++ {
		d *= 2
	}
	p.until[i] = p.now().Add(d)
	p.c.log.Info("bayeux transport refused", "transport", p.names[i], "retryIn", d)
}

// succeeded records a successful connect over the current transport.
func (p *transportPicker) succeeded() { p.refusals[p.c.ep.current.Load()] = 0 }

// canSwitch reports whether the next /meta/connect can go over another
// transport than the current one: one the server supports and that is not
// left aside.
func (p *transportPicker) canSwitch() bool {
	i := negotiate(p.names, p.server, p.disabled)
	return i >= 0 && i != int(p.c.ep.current.Load())
}

// anyUsable reports whether some transport is not left aside.
func (p *transportPicker) anyUsable() bool {
	for i := range p.names {
		if !p.disabled(i) {
			return true
		}
	}
	return false
}
