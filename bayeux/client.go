package bayeux

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"sync"
	"sync/atomic"
)

// Client is a Bayeux session: it handshakes, keeps the /meta/connect loop
// running in the background, follows the server's advice, re-handshakes and
// re-subscribes every subscription when the server loses the session, and
// delivers messages to subscribers in order.
//
// Create one with NewClient, start it with Connect, and end it with
// Disconnect. Every method is safe for concurrent use, and may be called
// from handlers and listeners. A Client runs one session lifetime: after
// Disconnect, or after the server ended the session, create a new one.
// Done closes once everything it ran, handlers included, has returned.
type Client struct {
	ep *endpoint // the wire layer shared with BayeuxClient: transports, extensions, ids, cookies
	// facade is the BayeuxClient handed to MessageExtender.Registered.
	facade *BayeuxClient
	opts   Options
	log    *slog.Logger
	track  *tracker

	// mu guards the fields below, up to the blank line. It is never held
	// while calling out or waiting.
	mu          sync.Mutex
	life        lifecycle     // the client's lifetime: see lifecycle.go
	state       State         // where the current session stands
	sess        *session      // the current session; nil before the first handshake
	gen         uint64        // generation of the last session created
	sessChanged chan struct{} // closed and replaced when sess changes or becomes ready
	advice      Advice
	err         error // why the session ended
	lastErr     error // the loop's last failure, for errors that would say only "deadline"
	urls        []string
	urlIndex    int

	loopDone  chan struct{} // closed when the session loop goroutine returns
	reports   *reportQueue
	receiveMu sync.Mutex // serializes incoming processing, which keeps order
	// payload numbers the payloads receive processed, and payloadSize
	// estimates the size of the current one (guarded by receiveMu): a
	// subscription tells by them which messages came in one response body,
	// and how much its queue keeps alive.
	payload     uint64
	payloadSize int
	// queueLimit is how many messages a subscription's queue may hold
	// while the current payload is dispatched: the queue size, plus one
	// more payload of this one's size under OverflowBlock (guarded by
	// receiveMu; set once per payload, not per message).
	queueLimit int
	pending    pendingReplies
	subs       subRegistry
	// over counts subscriptions whose queue is over its size (OverflowBlock
	// backpressure); drained is signalled when one drains.
	over    atomic.Int32
	drained chan struct{}
	// received counts the events received, for the loop's pacing of
	// empty connects and for Stats; stats holds the other counters.
	received atomic.Uint64
	stats    counters
	// lostSeen is the last TransportCounters.LostResponses the session
	// loop saw (it alone reads and writes it).
	lostSeen uint64
}

// NewClient creates a Client for the Bayeux server at serverAddress (an
// absolute http or https URL; websocket transports derive ws:// and wss://
// from it). Nothing is sent until Connect.
func NewClient(serverAddress string, opts ...Option) (*Client, error) {
	o, err := resolve(opts)
	if err != nil {
		return nil, err
	}
	urls := []string{serverAddress}
	for _, u := range o.FailoverURLs {
		p, err := url.Parse(u)
		if err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
			return nil, fmt.Errorf("%w: failover URL %q must be an absolute http or https URL", ErrInvalidOption, u)
		}
		if !slices.Contains(urls, u) {
			urls = append(urls, u)
		}
	}
	track := newTracker()
	c := &Client{opts: o, log: o.Logger, track: track, life: newLifecycle(),
		sessChanged: make(chan struct{}), loopDone: make(chan struct{}),
		drained: make(chan struct{}, 1), urls: urls}
	c.reports = &reportQueue{track: track, onError: o.ErrorHandler, onState: o.StateListener}
	c.pending.init()
	c.subs.init()
	c.ep, err = newEndpoint(serverAddress, &o, c.receive, true)
	if err != nil {
		return nil, err
	}
	c.facade = &BayeuxClient{endpoint: c.ep, state: NewConnectionStateMachine(), sessionID: c.ClientID}
	for _, e := range o.Extensions {
		if err := c.UseExtension(e); err != nil {
			_ = c.ep.close()
			return nil, err
		}
	}
	return c, nil
}

// State returns the session's current state.
func (c *Client) State() State {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.state
}

// ClientID returns the session's id ("" when there is none).
func (c *Client) ClientID() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.sess == nil || c.sess.lost() || c.life.stage >= stageClosing {
		return ""
	}
	return c.sess.id
}

// Advice returns the server's latest advice, merged field by field.
func (c *Client) Advice() Advice {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.advice
}

// TransportName returns the connection type in use.
func (c *Client) TransportName() string { return c.ep.transport().Name() }

// Done returns a channel closed when the client has shut down, after
// Disconnect or because the server ended the session, and every goroutine
// of the client has exited (a handler still running when Disconnect
// returned included).
func (c *Client) Done() <-chan struct{} { return c.track.done }

// Err returns why the session ended: nil while it runs and after a plain
// Disconnect; otherwise for example a *ServerError matching
// ErrSessionTerminated.
func (c *Client) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// UseExtension registers a message extension (see MessageExtender and its
// optional interfaces).
func (c *Client) UseExtension(ext MessageExtender) error {
	if err := c.ep.use(ext, c.facade); err != nil {
		return err
	}
	if se, ok := ext.(SessionExtension); ok {
		se.AttachSession(sessionHandle{c})
	}
	return nil
}

// sessionHandle is the SessionHandle given to extensions.
type sessionHandle struct{ c *Client }

func (h sessionHandle) ClientID() string      { return h.c.ClientID() }
func (h sessionHandle) ReportError(err error) { h.c.reportError(err) }
func (h sessionHandle) Logger() *slog.Logger  { return h.c.log }
func (h sessionHandle) Rehandshake(reason error) {
	h.c.mu.Lock()
	s := h.c.sess
	h.c.mu.Unlock()
	if s == nil || s.lost() {
		return
	}
	h.c.loseSession(s, reason)
	// Ready or still re-subscribing, the server holds the session.
	h.c.disconnectOrphan(s)
}

// disconnectOrphan tells the server, best effort and in the background,
// that the session s, which the client left to handshake again (an
// extension asked for it), is over: otherwise the server keeps it, and
// its held /meta/connect, until it expires, and Salesforce counts it
// against the organization's concurrent clients meanwhile.
func (c *Client) disconnectOrphan(s *session) {
	c.track.spawn(func() {
		ctx, cancel := context.WithTimeout(c.life.closed, c.opts.MaxNetworkDelay)
		defer cancel()
		msg := Message{ID: c.ep.newID(), Channel: MetaDisconnect, ClientID: s.id}
		_, _, err := c.exchange(ctx, c.ep.transport(), []Message{msg}, false)
		c.log.Debug("bayeux left session disconnected", "clientId", s.id, "err", err)
	})
}

// RemoveExtension unregisters a message extension.
func (c *Client) RemoveExtension(ext MessageExtender) bool { return c.ep.remove(ext) }

func (c *Client) setState(to State, cause error) {
	c.mu.Lock()
	from := c.state
	if from == to {
		c.mu.Unlock()
		return
	}
	c.state = to
	id := ""
	if c.sess != nil && !c.sess.lost() {
		id = c.sess.id
	}
	c.mu.Unlock()
	c.log.Debug("bayeux state", "from", from.String(), "to", to.String(), "clientId", id)
	c.reports.state(StateChange{From: from, To: to, ClientID: id, Err: cause})
}

func (c *Client) reportError(err error) {
	c.log.Debug("bayeux error", "err", err)
	c.reports.error(err)
}

func (c *Client) currentURL() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.urls[c.urlIndex]
}

// Connect starts the session: it handshakes and starts the /meta/connect
// loop in the background, and returns once the first handshake succeeded.
//
// A first handshake that fails for a transient reason (connection refused,
// DNS, an HTTP 5xx), or that the server denies with advice to retry, is
// retried with backoff until ctx's deadline, or for DefaultConnectRetry
// (5s) when ctx has none; WithConnectRetry sets another bound, and
// WithConnectRetryForever retries until ctx ends. Then Connect returns
// the last cause, wrapped (errors.Is(err, ErrTransport), errors.As a
// *TransportError for the status; ErrHandshakeDenied for a denial). A
// handshake denied without such advice, a server with no connection type
// in common, or an HTTP 4xx fail at once.
// When ctx ends first, the error wraps both ctx's error and the last
// cause. On failure the client is stopped; create a new one to try again.
func (c *Client) Connect(ctx context.Context) error {
	loopCtx, err := c.moveToRunning()
	if err != nil {
		return err
	}
	retry := c.opts.ConnectRetry
	if retry == 0 {
		retry = DefaultConnectRetry
		if _, ok := ctx.Deadline(); ok {
			retry = -1 // until ctx's deadline: Connect's own wait ends then
		}
	}
	first := make(chan error, 1)
	if !c.track.spawn(func() { c.run(loopCtx, first, retry) }) {
		return ErrClosed
	}
	select {
	case err = <-first:
	case <-c.life.closing.Done():
		// The loop reports a failure before it stops the client: prefer
		// that cause to ErrClosed.
		select {
		case err = <-first:
		default:
			err = ErrClosed
		}
	case <-ctx.Done():
		c.mu.Lock()
		last := c.lastErr
		c.mu.Unlock()
		if last != nil {
			err = fmt.Errorf("bayeux: connect: %w (last failure: %w)", ctx.Err(), last)
		} else {
			err = fmt.Errorf("bayeux: connect: %w", ctx.Err())
		}
	}
	if err != nil {
		// Stop the loop and everything else; the client is done.
		dctx, dcancel := context.WithTimeout(context.Background(), c.opts.MaxNetworkDelay)
		defer dcancel()
		_ = c.Disconnect(dctx)
		return err
	}
	return nil
}

// mergeAdvice merges the server's advice into the advice in force, with
// unknown reconnect values reported and taken as "retry", and timeout and
// interval capped.
func (c *Client) mergeAdvice(a *Advice) {
	if a == nil {
		return
	}
	cp := *a
	switch a.Reconnect {
	case "", ReconnectRetry, ReconnectHandshake, ReconnectNone:
	default:
		// Unknown advice is reported and treated as "retry" (the
		// specification's behaviour for a failed connect).
		c.reportError(&DecodeError{Reason: "unknown reconnect advice", Input: a.Reconnect})
		cp.Reconnect = ReconnectRetry
	}
	if a.HasTimeout() && a.TimeoutAsDuration() > c.opts.MaxAdviceTimeout {
		c.log.Warn("bayeux advice timeout capped", "advised", a.TimeoutAsDuration(), "max", c.opts.MaxAdviceTimeout)
		cp.SetTimeout(int(c.opts.MaxAdviceTimeout.Milliseconds()))
	}
	if a.HasInterval() && a.IntervalAsDuration() > c.opts.MaxAdviceInterval {
		c.log.Warn("bayeux advice interval capped", "advised", a.IntervalAsDuration(), "max", c.opts.MaxAdviceInterval)
		cp.SetInterval(int(c.opts.MaxAdviceInterval.Milliseconds()))
	}
	c.mu.Lock()
	c.advice = c.advice.Merge(&cp)
	if len(a.Hosts) > 0 {
		c.followHostsLocked(a.Hosts)
	}
	c.mu.Unlock()
}

// followHostsLocked adds the advised hosts the user allowed to the URLs
// the client fails over to; others are ignored, so that credentials never
// go to a host the user did not name. c.mu must be held.
func (c *Client) followHostsLocked(hosts []string) {
	base, err := url.Parse(c.urls[0])
	if err != nil {
		return
	}
	for _, h := range hosts {
		if !slices.Contains(c.opts.AllowedHosts, h) {
			c.log.Debug("bayeux advised host ignored (not allowed)", "host", h)
			continue
		}
		v := *base
		v.Host = h
		if s := v.String(); !slices.Contains(c.urls, s) {
			c.urls = append(c.urls, s)
		}
	}
}

// nextURL moves to the next server URL (failover URLs and allowed advised
// hosts) after a failed handshake.
func (c *Client) nextURL() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.urls) > 1 {
		c.urlIndex = (c.urlIndex + 1) % len(c.urls)
		c.log.Warn("bayeux failing over", "url", c.urls[c.urlIndex])
	}
}
