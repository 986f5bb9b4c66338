package bayeux

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"sync"
	"sync/atomic"
	"time"
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
type Client struct {
	wire *BayeuxClient
	opts Options
	log  *slog.Logger

	// mu guards the fields below, up to the blank line.
	mu       sync.Mutex
	state    State
	started  bool
	closing  bool
	ready    chan struct{} // closed while the session is handshaken
	advice   Advice
	err      error // why the session ended
	urls     []string
	urlIndex int

	quit      chan struct{} // closed when the client starts shutting down
	quitOnce  sync.Once
	stopping  chan struct{} // closed by Disconnect: the loop sends nothing new
	stopOnce  sync.Once
	done      chan struct{} // closed when shutdown finished
	stopLoop  context.CancelFunc
	loopDone  chan struct{}
	events    *eventQueue
	receiveMu sync.Mutex // serializes incoming processing, which keeps order
	pending   pendingReplies
	subs      subRegistry
	connectID atomic.Pointer[string]
	// shutdownStarted makes shutdown run once.
	shutdownStarted atomic.Bool
	// lost is set when a reply to some other request says the server does
	// not know the session; cancelConnect ends the held /meta/connect so
	// that the loop re-handshakes at once.
	lost          atomic.Bool
	cancelConnect atomic.Pointer[context.CancelFunc]
}

// NewClient creates a Client for the Bayeux server at serverAddress (an
// absolute http or https URL; websocket transports derive ws:// and wss://
// from it). Nothing is sent until Connect.
func NewClient(serverAddress string, opts ...Option) (*Client, error) {
	o, err := resolve(opts)
	if err != nil {
		return nil, err
	}
	wire, err := newBayeuxClient(serverAddress, &o)
	if err != nil {
		return nil, err
	}
	c := &Client{wire: wire, opts: o, log: o.Logger, ready: make(chan struct{}),
		quit: make(chan struct{}), done: make(chan struct{}), loopDone: make(chan struct{}),
		stopping: make(chan struct{}),
		events:   newEventQueue(), urls: []string{serverAddress}}
	c.pending.init()
	c.subs.init()
	wire.mu.Lock()
	wire.onPush = c.receive
	wire.mu.Unlock()
	return c, nil
}

// State returns the session's current state.
func (c *Client) State() State {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.state
}

// ClientID returns the session's id ("" when there is none).
func (c *Client) ClientID() string { return c.wire.ClientID() }

// Advice returns the server's latest advice, merged field by field.
func (c *Client) Advice() Advice {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.advice
}

// TransportName returns the connection type in use.
func (c *Client) TransportName() string { return c.wire.transport().Name() }

// Done returns a channel closed when the client has shut down, after
// Disconnect or because the server ended the session.
func (c *Client) Done() <-chan struct{} { return c.done }

// Err returns why the session ended: nil while it runs and after a plain
// Disconnect; otherwise for example a *ServerError matching
// ErrSessionTerminated.
func (c *Client) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// UseExtension registers a message extension (see MessageExtender).
func (c *Client) UseExtension(ext MessageExtender) error { return c.wire.UseExtension(ext) }

// RemoveExtension unregisters a message extension.
func (c *Client) RemoveExtension(ext MessageExtender) bool { return c.wire.RemoveExtension(ext) }

func (c *Client) setState(to State, cause error) {
	c.mu.Lock()
	from := c.state
	if from == to {
		c.mu.Unlock()
		return
	}
	c.state = to
	c.mu.Unlock()
	id := c.wire.ClientID()
	c.log.Debug("bayeux state", "from", from.String(), "to", to.String(), "clientId", id)
	if fn := c.opts.StateListener; fn != nil {
		ch := StateChange{From: from, To: to, ClientID: id, Err: cause}
		c.events.push(func() { fn(ch) })
	}
}

func (c *Client) reportError(err error) {
	c.log.Debug("bayeux error", "err", err)
	if fn := c.opts.ErrorHandler; fn != nil {
		c.events.push(func() { fn(err) })
	}
}

func (c *Client) currentURL() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.urls[c.urlIndex]
}

// Connect starts the session: it handshakes and starts the /meta/connect
// loop in the background, and returns once the first handshake succeeded.
// Transport failures are retried with backoff until ctx ends; a denied
// handshake, a server with no connection type in common, or ctx ending
// stops the client and is returned.
func (c *Client) Connect(ctx context.Context) error {
	c.mu.Lock()
	if c.started || c.closing {
		c.mu.Unlock()
		return fmt.Errorf("%w: Connect called twice or after Disconnect", ErrBadState)
	}
	c.started = true
	c.mu.Unlock()

	go c.events.run()
	loopCtx, cancel := context.WithCancel(context.Background())
	c.stopLoop = cancel
	first := make(chan error, 1)
	go c.run(loopCtx, first)

	var err error
	select {
	case err = <-first:
	case <-ctx.Done():
		err = ctx.Err()
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

// waitReady waits until the session is handshaken and returns the client id.
func (c *Client) waitReady(ctx context.Context) (string, error) {
	for {
		c.mu.Lock()
		started, closing, ready, err := c.started, c.closing, c.ready, c.err
		c.mu.Unlock()
		switch {
		case closing && err != nil:
			return "", fmt.Errorf("%w: %w", ErrClosed, err)
		case closing:
			return "", ErrClosed
		case !started:
			return "", fmt.Errorf("%w: call Connect first", ErrBadState)
		}
		select {
		case <-ready:
			if id := c.wire.ClientID(); id != "" {
				return id, nil
			}
		case <-c.quit:
		case <-ctx.Done():
			return "", ctx.Err()
		}
	}
}

type action int

const (
	actHandshake action = iota
	actConnect
)

// run is the session goroutine. It owns the backoff, the transport choice
// and the connect loop; everything it shares is behind c.mu or atomics.
func (c *Client) run(ctx context.Context, first chan<- error) {
	defer close(c.loopDone)
	var (
		bo            = backoff{increment: c.opts.BackoffIncrement, max: c.opts.MaxBackoff}
		act           = actHandshake
		rehandshake   bool
		connectFirst  = true
		firstFailure  time.Time
		failures      int // failures since the last successful connect
		reported      bool
		tr            = newTransportPicker(c)
		lastHandshake error
	)
	report := func(err error) {
		if !reported {
			reported = true
			first <- err
		}
	}
	wait := func(d time.Duration) bool {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-ctx.Done():
			return false
		case <-c.stopping:
			return false
		case <-t.C:
			return true
		}
	}
	stopped := func() bool {
		select {
		case <-c.stopping:
			return true
		default:
			return ctx.Err() != nil
		}
	}

	for !stopped() {
		switch act {
		case actHandshake:
			if rehandshake {
				c.setState(StateRehandshaking, lastHandshake)
			} else {
				c.setState(StateHandshaking, nil)
			}
			err := c.handshake(ctx, tr)
			if stopped() {
				return
			}
			if err == nil {
				if rehandshake {
					c.resubscribe(ctx)
				}
				c.mu.Lock()
				select {
				case <-c.ready:
				default:
					close(c.ready)
				}
				c.mu.Unlock()
				report(nil)
				c.setState(StateConnecting, nil)
				act, connectFirst = actConnect, true
				continue
			}
			lastHandshake = err
			var se *ServerError
			isServer := errors.As(err, &se)
			if !reported && errors.Is(err, errTryNextTransport) && !tr.anyUsable() {
				err = fmt.Errorf("%w: the server refused every transport: %w", ErrNoTransport, err)
			}
			if errors.Is(err, ErrNoCommonTransport) || errors.Is(err, ErrSessionTerminated) ||
				(!reported && (isServer || permanent(err) || errors.Is(err, ErrNoTransport))) {
				report(err)
				c.terminate(err)
				return
			}
			c.reportError(err)
			if errors.Is(err, errTryNextTransport) && tr.anyUsable() {
				continue
			}
			failures++
			c.nextHost()
			if !wait(bo.next()) {
				return
			}

		case actConnect:
			if t, switched := tr.pick(); switched {
				c.log.Info("bayeux transport switched", "transport", t.Name())
				connectFirst = true
			}
			reply, err := c.connect(ctx, connectFirst)
			if stopped() {
				return
			}
			if c.lost.Swap(false) {
				// Another request learnt that the session is gone.
				c.setState(StateRehandshaking, err)
				c.sessionLost()
				act, rehandshake, lastHandshake = actHandshake, true, err
				failures++
				continue
			}
			if err != nil {
				var te *TransportError
				if errors.As(err, &te) && te.Refused {
					tr.refused()
					c.setState(StateUnconnected, err)
					c.reportError(err)
					connectFirst = true
					continue
				}
				c.setState(StateUnconnected, err)
				c.reportError(err)
				if firstFailure.IsZero() {
					firstFailure = time.Now()
				}
				failures++
				d := bo.next()
				adv := c.Advice()
				if adv.MaxInterval > 0 && time.Since(firstFailure)+d >
					adv.TimeoutAsDuration()+adv.IntervalAsDuration()+adv.MaxIntervalAsDuration() {
					// The server has certainly expired the session.
					act, rehandshake, lastHandshake = actHandshake, true, err
					c.sessionLost()
				}
				connectFirst = true
				if !wait(adv.IntervalAsDuration() + d) {
					return
				}
				continue
			}
			c.mergeAdvice(reply.Advice)
			adv := c.Advice()
			if !reply.Successful {
				se := NewServerError(ErrConnectFailed, reply)
				reconnect := adv.Reconnect
				if reply.Advice != nil && reply.Advice.Reconnect != "" {
					reconnect = reply.Advice.Reconnect
				} else if se.UnknownClient() {
					reconnect = ReconnectHandshake
				}
				switch {
				case reconnect == ReconnectNone || adv.Interval < 0:
					c.terminate(se)
					return
				case reconnect == ReconnectHandshake:
					c.setState(StateRehandshaking, se)
					c.sessionLost()
					act, rehandshake, lastHandshake = actHandshake, true, se
					var d time.Duration
					if failures > 0 {
						d = bo.next()
					}
					failures++
					if !wait(d) {
						return
					}
				default:
					c.setState(StateUnconnected, se)
					c.reportError(se)
					failures++
					connectFirst = true
					if !wait(adv.IntervalAsDuration() + bo.next()) {
						return
					}
				}
				continue
			}
			c.setState(StateConnected, nil)
			tr.succeeded()
			bo.reset()
			failures, firstFailure, connectFirst = 0, time.Time{}, false
			if adv.MustNotRetryOrHandshake() {
				c.terminate(NewServerError(ErrSessionTerminated, reply))
				return
			}
			if !wait(adv.IntervalAsDuration()) {
				return
			}
		}
	}
}

// disconnectGrace is how long Disconnect waits for the server to answer
// the held /meta/connect after /meta/disconnect, before abandoning it (Faye
// never answers it over websocket).
const disconnectGrace = time.Second

// permanent reports whether a failure of the first handshake will not go
// away by retrying: an HTTP 4xx answer other than 408 and 429 (a wrong URL,
// a proxy asking for credentials, a transport the server does not serve).
func permanent(err error) bool {
	var te *TransportError
	if !errors.As(err, &te) || te.Refused {
		return false
	}
	return te.StatusCode >= 400 && te.StatusCode < 500 && te.StatusCode != 408 && te.StatusCode != 429
}

// errTryNextTransport makes the loop retry the handshake at once with the
// next transport, after the server refused one.
var errTryNextTransport = errors.New("bayeux: transport refused, trying the next one")

func (c *Client) mergeAdvice(a *Advice) {
	if a == nil {
		return
	}
	switch a.Reconnect {
	case "", ReconnectRetry, ReconnectHandshake, ReconnectNone:
	default:
		// Unknown advice is reported and treated as "retry" (the
		// specification's behaviour for a failed connect).
		c.reportError(&DecodeError{Reason: "unknown reconnect advice", Input: a.Reconnect})
		cp := *a
		cp.Reconnect = ReconnectRetry
		a = &cp
	}
	c.mu.Lock()
	c.advice = c.advice.Merge(a)
	if len(a.Hosts) > 0 {
		base := c.urls[0]
		urls := []string{base}
		if u, err := url.Parse(base); err == nil {
			for _, h := range a.Hosts {
				v := *u
				v.Host = h
				if s := v.String(); !slices.Contains(urls, s) {
					urls = append(urls, s)
				}
			}
		}
		cur := c.urls[c.urlIndex]
		c.urls = urls
		c.urlIndex = max(0, slices.Index(urls, cur))
	}
	c.mu.Unlock()
}

// nextHost moves to the next URL of the hosts advice (the spec's failover
// on re-handshake); with no hosts advice it stays on the configured URL.
func (c *Client) nextHost() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.urls) > 1 {
		c.urlIndex = (c.urlIndex + 1) % len(c.urls)
		c.log.Info("bayeux failing over", "url", c.urls[c.urlIndex])
	}
}

// sessionLost forgets the session: operations wait for the next handshake,
// and every subscription will be renewed.
func (c *Client) sessionLost() {
	c.mu.Lock()
	select {
	case <-c.ready:
		c.ready = make(chan struct{})
	default:
	}
	c.mu.Unlock()
	c.subs.unconfirmAll()
}

// terminate ends the session because of err (server advice none, a denied
// first handshake, no transport in common) and shuts the client down.
func (c *Client) terminate(err error) {
	c.mu.Lock()
	if c.err == nil {
		c.err = err
	}
	c.mu.Unlock()
	c.log.Info("bayeux session ended", "err", err)
	c.reportError(err)
	go func() {
		<-c.loopDone
		c.shutdown(context.Background(), false)
	}()
}

// handshake sends one /meta/handshake and, on success, records the session.
func (c *Client) handshake(ctx context.Context, tr *transportPicker) error {
	idx := tr.forHandshake()
	t := c.wire.transports[idx]
	msg := c.wire.handshakeMessage(tr.offered(), c.opts.HandshakeExt)
	hctx, cancel := context.WithTimeout(ctx, c.opts.MaxNetworkDelay)
	defer cancel()
	replies, found, err := c.exchange(hctx, t, []Message{msg}, false)
	if err != nil {
		var te *TransportError
		if errors.As(err, &te) && te.Refused {
			tr.refusedAt(idx)
			return fmt.Errorf("%w: %w", errTryNextTransport, err)
		}
		return err
	}
	if !found[0] {
		return fmt.Errorf("%w: %s", ErrNoReply, MetaHandshake)
	}
	reply := replies[0]
	c.mergeAdvice(reply.Advice)
	if !reply.Successful {
		return NewServerError(ErrHandshakeDenied, reply)
	}
	if reply.ClientID == "" {
		return &DecodeError{Reason: "successful handshake reply without clientId"}
	}
	if err := tr.negotiated(reply.SupportedConnectionTypes); err != nil {
		return noCommonTransport(c.wire.transportNames(), reply)
	}
	c.wire.setClientID(reply.ClientID)
	c.log.Debug("bayeux handshaken", "transport", c.wire.transport().Name())
	return nil
}

// connect sends one /meta/connect and returns its reply.
func (c *Client) connect(ctx context.Context, first bool) (Message, error) {
	t := c.wire.transport()
	msg := Message{ID: c.wire.newID(), Channel: MetaConnect, ClientID: c.wire.ClientID(), ConnectionType: t.Name()}
	timeout := c.opts.MaxNetworkDelay
	if first {
		msg.Advice = &Advice{}
		msg.Advice.SetTimeout(0)
	} else {
		timeout += c.Advice().TimeoutAsDuration()
	}
	id := msg.ID
	c.connectID.Store(&id)
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	c.cancelConnect.Store(&cancel)
	defer c.cancelConnect.Store(nil)
	if c.lost.Load() {
		cancel()
	}
	replies, found, err := c.exchange(cctx, t, []Message{msg}, false)
	if err != nil {
		return Message{}, err
	}
	if !found[0] {
		return Message{}, &TransportError{ConnectionType: t.Name(), Err: fmt.Errorf("%w: %s", ErrNoReply, MetaConnect)}
	}
	return replies[0], nil
}

// resubscribe renews every subscription after a re-handshake, in one batch.
func (c *Client) resubscribe(ctx context.Context) {
	var msgs []Message
	id := c.wire.ClientID()
	for _, ch := range c.subs.serverChannels() {
		if _, _, mine := c.subs.begin(ch); mine {
			msgs = append(msgs, Message{ID: c.wire.newID(), Channel: MetaSubscribe, ClientID: id, Subscription: []Channel{ch}})
		}
	}
	if len(msgs) == 0 {
		return
	}
	sctx, cancel := context.WithTimeout(ctx, c.opts.MaxNetworkDelay)
	defer cancel()
	replies, found, err := c.exchange(sctx, c.wire.transport(), msgs, false)
	for i, m := range msgs {
		ok := err == nil && found[i] && replies[i].Successful
		c.subs.end(m.Subscription[0], ok)
		switch {
		case ok:
		case err != nil:
			c.reportError(fmt.Errorf("bayeux: re-subscribe %s: %w", m.Subscription[0], err))
		default:
			c.reportError(replyError(ErrSubscriptionDenied, MetaSubscribe, replies[i], found[i]))
		}
	}
}

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
		// adds the advised timeout) gets the maximum network delay.
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.opts.MaxNetworkDelay)
		defer cancel()
	}
	res, err := c.wire.roundTrip(ctx, t, c.currentURL(), msgs)
	if len(res) > 0 {
		c.receive(res)
	}
	if err != nil {
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

// receive processes messages from the server, in order: incoming
// extensions, then replies to their waiters, meta messages to listeners,
// events to subscriptions. It never blocks on a handler (see Overflow).
func (c *Client) receive(msgs []Message) {
	c.receiveMu.Lock()
	defer c.receiveMu.Unlock()
	c.wire.incoming(msgs)
	for i := range msgs {
		m := &msgs[i]
		if m.Channel == MetaConnect && m.ID == "" {
			if id := c.connectID.Load(); id != nil {
				m.ID = *id
			}
		}
		matched := m.ID != "" && c.pending.deliver(m)
		switch {
		case m.IsMeta():
			if !matched {
				c.log.Debug("bayeux unmatched meta reply ignored", "channel", string(m.Channel), "id", m.ID)
			}
			c.subs.dispatch(m, c.opts.Overflow)
		case matched:
		case len(m.Data) > 0:
			c.subs.dispatch(m, c.opts.Overflow)
		case m.HasSuccessful():
			c.log.Debug("bayeux unmatched reply ignored", "channel", string(m.Channel), "id", m.ID)
		default:
			c.reportError(&DecodeError{Reason: "message on " + string(m.Channel) + " is neither a reply nor an event (no data, no successful)"})
		}
	}
}

// Subscribe subscribes handler to channel (a name or a pattern ending in
// "*" or "**") and returns once the server has acknowledged the
// subscription. Each matching message is delivered once per subscription,
// in order, on a goroutine of the subscription, outside every lock: the
// handler may call Publish, Subscribe or Unsubscribe. A nil handler makes a
// pull-mode subscription read with Next or All.
//
// The subscription survives a lost session: the client subscribes again
// after every re-handshake. Subscribing several times to one channel sends
// one /meta/subscribe. A denied subscription returns a *ServerError
// matching ErrSubscriptionDenied. /meta/ channels are served by
// AddListener instead.
func (c *Client) Subscribe(ctx context.Context, channel Channel, handler func(Message)) (*Subscription, error) {
	if err := channel.Validate(); err != nil {
		return nil, err
	}
	if channel.Type() == MetaChannel {
		return nil, &InvalidChannelError{Channel: channel, Reason: "cannot subscribe to a /meta/ channel; use AddListener"}
	}
	if _, err := c.waitReady(ctx); err != nil {
		return nil, err
	}
	s := newSubscription(c, channel, handler, false, c.opts.QueueSize)
	c.subs.add(s)
	if err := c.confirm(ctx, channel); err != nil {
		s.removed.Store(true)
		c.subs.remove(s)
		return nil, err
	}
	if !c.subs.start(s) {
		s.removed.Store(true)
		c.subs.remove(s)
		return nil, ErrClosed
	}
	return s, nil
}

// confirm makes sure the server has a subscription to channel in the
// current session, sending /meta/subscribe when nobody else is.
func (c *Client) confirm(ctx context.Context, channel Channel) error {
	for {
		confirmed, wait, mine := c.subs.begin(channel)
		switch {
		case confirmed:
			return nil
		case wait != nil:
			select {
			case <-wait:
				continue
			case <-ctx.Done():
				return ctx.Err()
			}
		case !mine:
			return ErrClosed
		}
		id, err := c.waitReady(ctx)
		if err != nil {
			c.subs.end(channel, false)
			return err
		}
		msg := Message{ID: c.wire.newID(), Channel: MetaSubscribe, ClientID: id, Subscription: []Channel{channel}}
		replies, found, err := c.exchange(ctx, c.wire.transport(), []Message{msg}, false)
		if err == nil {
			err = replyError(ErrSubscriptionDenied, MetaSubscribe, replies[0], found[0])
			c.subs.end(channel, err == nil)
			if errors.Is(err, ErrUnknownClient) {
				// The session was lost; the loop re-handshakes. Try again
				// in the new session.
				c.sessionGone(id)
				c.retryLater(ctx)
				continue
			}
			return err
		}
		c.subs.end(channel, false)
		if ctx.Err() != nil || errors.Is(err, ErrClosed) {
			return err
		}
		// A transport failure: subscribing again is harmless.
		c.reportError(err)
		if !c.retryLater(ctx) {
			return err
		}
	}
}

// sessionGone is called when a reply to a request made with clientID says
// the server does not know the session: the loop is told to re-handshake
// now instead of waiting for its held /meta/connect.
func (c *Client) sessionGone(clientID string) {
	if clientID != c.wire.ClientID() {
		return // already handled
	}
	c.sessionLost()
	c.lost.Store(true)
	if cancel := c.cancelConnect.Load(); cancel != nil {
		(*cancel)()
	}
}

// retryLater waits a little before an operation is tried again after a
// failure the session loop is already handling.
func (c *Client) retryLater(ctx context.Context) bool {
	select {
	case <-ctx.Done():
		return false
	case <-c.quit:
		return false
	case <-time.After(c.opts.BackoffIncrement / 2):
		return true
	}
}

func (c *Client) sendUnsubscribe(ctx context.Context, channel Channel) error {
	id, err := c.waitReady(ctx)
	if err != nil {
		if errors.Is(err, ErrClosed) {
			return nil
		}
		return err
	}
	msg := Message{ID: c.wire.newID(), Channel: MetaUnsubscribe, ClientID: id, Subscription: []Channel{channel}}
	replies, found, err := c.exchange(ctx, c.wire.transport(), []Message{msg}, false)
	if err != nil {
		return err
	}
	return replyError(ErrUnsubscribeFailed, MetaUnsubscribe, replies[0], found[0])
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
	s := newSubscription(c, channel, handler, true, c.opts.QueueSize)
	c.mu.Lock()
	closing := c.closing
	c.mu.Unlock()
	if closing {
		return nil, ErrClosed
	}
	c.subs.add(s)
	if !c.subs.start(s) {
		c.subs.remove(s)
		return nil, ErrClosed
	}
	return s, nil
}

// Publish publishes data to channel and waits for the server's reply.
// data is encoded with encoding/json, except json.RawMessage and []byte,
// which must hold JSON and are sent as they are. A denied publish returns a
// *ServerError matching ErrPublishDenied. A publish is never re-sent after
// a transport failure (it could be delivered twice); it is re-sent once
// when the server answered that it did not know the session, since then it
// was not processed.
func (c *Client) Publish(ctx context.Context, channel Channel, data any) error {
	_, err := c.publish(ctx, channel, data, false)
	return err
}

// Call makes a remote call: it publishes data to channel (normally a
// /service/ channel) and returns the server's reply, correlated by message
// id, whose Data holds the result. A failure reply returns a *ServerError
// matching ErrPublishDenied, with the reply in it.
func (c *Client) Call(ctx context.Context, channel Channel, data any) (Message, error) {
	return c.publish(ctx, channel, data, true)
}

func (c *Client) publish(ctx context.Context, channel Channel, data any, call bool) (Message, error) {
	if err := validatePublish(channel); err != nil {
		return Message{}, err
	}
	raw, err := encodeData(data)
	if err != nil {
		return Message{}, err
	}
	for attempt := 0; ; attempt++ {
		id, err := c.waitReady(ctx)
		if err != nil {
			return Message{}, err
		}
		msg := Message{ID: c.wire.newID(), Channel: channel, ClientID: id, Data: raw}
		replies, found, err := c.exchange(ctx, c.wire.transport(), []Message{msg}, call)
		if err != nil {
			return Message{}, err
		}
		err = replyError(ErrPublishDenied, channel, replies[0], found[0])
		if errors.Is(err, ErrUnknownClient) {
			c.sessionGone(id)
			if attempt == 0 && c.retryLater(ctx) {
				continue
			}
		}
		return replies[0], err
	}
}

// Batch returns a Batch: messages added to it are sent in one request by
// Send.
func (c *Client) Batch() *Batch { return &Batch{c: c} }

// Batch collects publishes to send in one request.
type Batch struct {
	c    *Client
	msgs []Message
	err  error
}

// Publish adds a publish to the batch. An invalid channel or payload is
// reported by Send.
func (b *Batch) Publish(channel Channel, data any) *Batch {
	if b.err != nil {
		return b
	}
	if err := validatePublish(channel); err != nil {
		b.err = err
		return b
	}
	raw, err := encodeData(data)
	if err != nil {
		b.err = err
		return b
	}
	b.msgs = append(b.msgs, Message{Channel: channel, Data: raw})
	return b
}

// Len returns the number of messages in the batch.
func (b *Batch) Len() int { return len(b.msgs) }

// Send sends the batch in one request and waits for every reply. It
// returns nil when every publish succeeded, or the failures joined
// (errors.Is works on each).
func (b *Batch) Send(ctx context.Context) error {
	if b.err != nil {
		return b.err
	}
	if len(b.msgs) == 0 {
		return nil
	}
	id, err := b.c.waitReady(ctx)
	if err != nil {
		return err
	}
	msgs := make([]Message, len(b.msgs))
	for i, m := range b.msgs {
		m.ID, m.ClientID = b.c.wire.newID(), id
		msgs[i] = m
	}
	replies, found, err := b.c.exchange(ctx, b.c.wire.transport(), msgs, false)
	if err != nil {
		return err
	}
	var errs []error
	for i := range msgs {
		if err := replyError(ErrPublishDenied, msgs[i].Channel, replies[i], found[i]); err != nil {
			errs = append(errs, err)
		}
	}
	return joinErrors(errs)
}

// Disconnect ends the session: it stops the /meta/connect loop, sends
// /meta/disconnect, lets every subscription finish the messages already
// queued, closes the transports and unregisters the extensions. When it
// returns, no goroutine of the client remains (a handler or listener that
// calls Disconnect is not waited for: its goroutine ends when it returns).
//
// Disconnect is idempotent and safe from any goroutine: later calls wait
// for the first to finish (or ctx). ctx bounds the whole operation; the
// error of the /meta/disconnect request, if any, is returned, but the
// client shuts down regardless.
func (c *Client) Disconnect(ctx context.Context) error {
	c.mu.Lock()
	first := !c.closing
	c.closing = true
	started := c.started
	c.mu.Unlock()
	if !first {
		if c.ownGoroutine() {
			return nil
		}
		select {
		case <-c.done:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if !started {
		c.shutdown(ctx, false)
		return nil
	}
	return c.shutdown(ctx, true)
}

// ownGoroutine reports whether the caller runs on one of the client's
// callback goroutines (a handler, listener, or state or error callback).
func (c *Client) ownGoroutine() bool {
	id := goid()
	if c.events.gid.Load() == id {
		return true
	}
	for _, s := range c.subs.all() {
		if s.gid.Load() == id {
			return true
		}
	}
	return false
}

// shutdown stops everything. With sendDisconnect it first stops the loop
// and says goodbye to the server.
func (c *Client) shutdown(ctx context.Context, sendDisconnect bool) error {
	if !c.shutdownStarted.CompareAndSwap(false, true) {
		if c.ownGoroutine() {
			return nil
		}
		select {
		case <-c.done:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	c.mu.Lock()
	c.closing = true
	started := c.started
	c.mu.Unlock()
	self := goid()
	var err error
	if started {
		c.setState(StateDisconnecting, nil)
		c.stopOnce.Do(func() { close(c.stopping) })
		// The /meta/disconnect goes out while the /meta/connect is still
		// held, as the CometD and Faye clients do: the server then answers
		// the held connect, and its request ends normally. Tearing a held
		// request instead crashes a stock Faye 1.4.3 server over
		// callback-polling (docs/interop.md).
		if id := c.wire.ClientID(); sendDisconnect && id != "" {
			msg := Message{ID: c.wire.newID(), Channel: MetaDisconnect, ClientID: id}
			replies, found, derr := c.exchange(ctx, c.wire.transport(), []Message{msg}, false)
			if err = derr; err == nil {
				err = replyError(ErrDisconnectFailed, MetaDisconnect, replies[0], found[0])
			}
			if err == nil {
				grace := time.NewTimer(min(c.opts.MaxNetworkDelay, disconnectGrace))
				select {
				case <-c.loopDone:
				case <-grace.C:
				case <-ctx.Done():
				}
				grace.Stop()
			}
		}
		c.stopLoop()
		select {
		case <-c.loopDone:
		case <-ctx.Done():
		}
	}
	c.quitOnce.Do(func() { close(c.quit) })
	_ = c.wire.Close()
	c.wire.setClientID("")

	// Let every subscription finish its queue, then wait for their
	// goroutines, except the caller's own.
	subs := c.subs.close()
	for _, s := range subs {
		s.finish()
	}
	for _, s := range subs {
		if s.gid.Load() == self {
			continue
		}
		select {
		case <-s.exited:
		case <-ctx.Done():
			if err == nil {
				err = ctx.Err()
			}
		}
	}
	if started {
		c.setState(StateDisconnected, c.Err())
		c.events.close()
		if c.events.gid.Load() != self {
			select {
			case <-c.events.done:
			case <-ctx.Done():
			}
		}
	}
	close(c.done)
	return err
}

// waiter is a request waiting for its reply.
type waiter struct {
	id      string
	channel Channel
	call    bool
	reply   chan Message
}

// pendingReplies maps message ids to waiters. mu guards m.
type pendingReplies struct {
	mu sync.Mutex
	m  map[string]*waiter
}

func (p *pendingReplies) init() { p.m = make(map[string]*waiter) }

func (p *pendingReplies) add(id string, ch Channel, call bool) *waiter {
	w := &waiter{id: id, channel: ch, call: call, reply: make(chan Message, 1)}
	p.mu.Lock()
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
// colliding id is someone's event, as Faye forwards publishers' ids).
func (p *pendingReplies) deliver(m *Message) bool {
	p.mu.Lock()
	w := p.m[m.ID]
	if w == nil || w.channel != m.Channel || (!w.call && !m.IsMeta() && len(m.Data) > 0) {
		p.mu.Unlock()
		return false
	}
	delete(p.m, m.ID)
	p.mu.Unlock()
	w.reply <- *m
	return true
}
