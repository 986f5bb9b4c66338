package bayeux

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"
)

// run is the session goroutine: it sends handshakes and /meta/connect
// requests and carries out what decide says. It owns the backoff, the
// transport choice and the loop state; what it shares with other
// goroutines is the session value (c.sess, under c.mu).
func (c *Client) run(ctx context.Context, first chan<- error, connectRetry time.Duration) {
	defer close(c.loopDone)
	var (
		st           = loopState{connectFirst: true}
		bo           = backoff{increment: c.opts.BackoffIncrement, max: c.opts.MaxBackoff}
		tr           = newTransportPicker(c)
		started      = time.Now()
		firstFailure time.Time
		sess         *session
		reported     bool
	)
	report := func(err error) {
		if !reported {
			reported = true
			first <- err
		}
	}
	closing := c.life.closing.Done()
	stopped := func() bool {
		select {
		case <-closing:
			return true
		default:
			return ctx.Err() != nil
		}
	}

	for !stopped() {
		var ev loopEvent
		switch st.phase {
		case phaseHandshake:
			if st.rehandshake {
				c.setState(StateRehandshaking, c.lastFailure())
			} else {
				c.setState(StateHandshaking, nil)
			}
			var ns *session
			ns, ev = c.handshake(ctx, tr)
			if stopped() {
				return
			}
			ev.failingFor = time.Since(started)
			if st.established && !firstFailure.IsZero() {
				ev.failingFor = time.Since(firstFailure)
			}
			ev.connectRetry = connectRetry
			if ev.outcome == handshakeOK {
				sess = ns
			}

		case phaseConnect:
			if !c.backpressure(ctx, closing, sess) {
				continue
			}
			if t, switched := tr.pick(); switched {
				c.log.Info("bayeux transport switched", "transport", t.Name())
				st.connectFirst = true
			}
			ev = c.connect(ctx, sess, st.connectFirst, tr)
			if stopped() {
				return
			}
			if ev.outcome == connectFailed || ev.outcome == connectRefused {
				if firstFailure.IsZero() {
					firstFailure = time.Now()
				}
				ev.failingFor = time.Since(firstFailure)
			}
		}

		next, act := decide(st, ev)
		c.log.Debug("bayeux loop", "outcome", ev.outcome.String(), "err", ev.err)
		if ev.err != nil {
			c.mu.Lock()
			c.lastErr = ev.err
			c.mu.Unlock()
		}
		if act.loseSession {
			c.loseSession(sess, ev.err)
			c.subs.sessionLost()
		}
		if act.leave {
			c.disconnectOrphan(sess)
		}
		if act.setState {
			c.setState(act.state, ev.err)
		}
		if act.report && ev.err != nil {
			c.reportError(ev.err)
			if ev.outcome != connectRefused && ev.outcome != handshakeRefused {
				c.log.Warn("bayeux request failed; retrying", "outcome", ev.outcome.String(), "err", ev.err)
			}
		}
		switch {
		case act.failConnect:
			report(ev.err)
			c.endSession(ev.err, false)
			return
		case act.terminate:
			err := ev.err
			if err == nil {
				err = fmt.Errorf("%w: advised by the server", ErrSessionTerminated)
			}
			report(err)
			c.endSession(err, true)
			return
		}
		if act.ready {
			c.stats.handshakes.Add(1)
			c.publishSession(sess)
			c.resubscribe(sess)
			c.markReady(sess)
			if st.established {
				c.log.Info("bayeux session renewed", "clientId", sess.id)
			}
			report(nil)
		}
		switch ev.outcome {
		case connectFailed, connectRefused, connectDenied:
			c.stats.connectFailures.Add(1)
		case connectOK:
			c.stats.lastConnect.Store(time.Now().UnixNano())
		}
		if ev.outcome == connectOK {
			if !firstFailure.IsZero() {
				c.log.Info("bayeux connection recovered", "after", time.Since(firstFailure).Round(time.Millisecond))
			}
			tr.succeeded()
		}
		if act.resetClock {
			firstFailure = time.Time{}
		}
		if act.nextURL {
			c.nextURL()
		}
		if act.resetBackoff {
			bo.reset()
		}
		st = next
		d := act.wait
		if act.backoff {
			d += bo.next()
		}
		if d > 0 && !c.sleep(ctx, closing, sess, st.phase, d) {
			return
		}
	}
}

// sleep waits d; it returns early (true) when the session is lost while
// the loop would connect, and false when the client stops.
func (c *Client) sleep(ctx context.Context, closing <-chan struct{}, sess *session, p phase, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	var lost <-chan struct{}
	if p == phaseConnect && sess != nil {
		lost = sess.ctx.Done()
	}
	select {
	case <-ctx.Done():
		return false
	case <-closing:
		return false
	case <-lost:
		return true
	case <-t.C:
		return true
	}
}

// backpressure waits while a subscription's queue is over its size
// (OverflowBlock): the next /meta/connect, which would bring more
// messages, waits for the handlers. It returns false when the client
// stops meanwhile; when the session is lost it returns true, and the
// connect that follows reports it.
func (c *Client) backpressure(ctx context.Context, closing <-chan struct{}, sess *session) bool {
	warned := false
	for c.over.Load() > 0 {
		if !warned {
			warned = true
			c.log.Warn("bayeux delivery queue full; holding the next connect")
		}
		t := time.NewTimer(time.Second)
		select {
		case <-c.drained:
		case <-t.C:
		case <-closing:
			t.Stop()
			return false
		case <-sess.ctx.Done(): // lost, or ctx ended (sess.ctx derives from it)
			t.Stop()
			return ctx.Err() == nil
		}
		t.Stop()
	}
	return true
}

// lostSince reports whether a transport counted a lost response
// (TransportCounters.LostResponses) since the session loop last looked.
// Only the session loop calls it.
func (c *Client) lostSince() bool {
	n := c.ep.counters.LostResponses.Load()
	if n == c.lostSeen {
		return false
	}
	c.lostSeen = n
	return true
}

// mayHaveReached reports whether a request that failed with err may have
// reached the server (and been answered): every failure but one to open
// a connection or to resolve the server's name.
func mayHaveReached(err error) bool {
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return false
	}
	var dns *net.DNSError
	return !errors.As(err, &dns) && !errors.Is(err, ErrClosed)
}

func (c *Client) lastFailure() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lastErr
}

// handshake sends one /meta/handshake and, on success, returns the new
// session (not yet published).
func (c *Client) handshake(ctx context.Context, tr *transportPicker) (*session, loopEvent) {
	idx := tr.forHandshake()
	t := c.ep.transports[idx]
	msg := c.ep.handshakeMessage(tr.offered(), c.opts.HandshakeExt)
	hctx, cancel := context.WithTimeoutCause(ctx, c.opts.MaxNetworkDelay, ErrNetworkDelay)
	defer cancel()
	replies, found, err := c.exchange(hctx, t, []Message{msg}, false)
	if err != nil {
		var te *TransportError
		if errors.As(err, &te) && te.Refused {
			tr.refusedAt(idx)
			ev := loopEvent{outcome: handshakeRefused, err: err, otherTransport: tr.anyUsable()}
			if !ev.otherTransport {
				ev.err = fmt.Errorf("%w: the server refused every transport: %w", ErrNoTransport, err)
			}
			return nil, ev
		}
		ev := loopEvent{outcome: handshakeFailed, err: err, fatal: permanent(err)}
		if ev.fatal && c.ep.hooks.Load().retry(&msg, nil, err) {
			ev.fatal = false // an extension can fix it (a fresh token)
		}
		return nil, ev
	}
	if !found[0] {
		return nil, loopEvent{outcome: handshakeFailed, err: &TransportError{ConnectionType: t.Name(),
			Err: fmt.Errorf("%w: %s", ErrNoReply, MetaHandshake)}}
	}
	reply := replies[0]
	if !reply.Successful {
		ev := loopEvent{outcome: handshakeDenied, err: NewServerError(ErrHandshakeDenied, reply)}
		if reply.Advice != nil {
			ev.reconnect = reply.Advice.Reconnect
			if ev.reconnect != "" && ev.reconnect != ReconnectNone && ev.reconnect != ReconnectHandshake {
				ev.reconnect = ReconnectRetry
			}
		}
		adv := reply.Advice
		if c.ep.hooks.Load().retry(&msg, &reply, ev.err) {
			// An extension can fix it (a fresh token): its answer wins
			// over the server's advice, even "none" (Salesforce's answer
			// to an expired token), and "none" is not kept.
			ev.reconnect = ReconnectRetry
			if adv != nil && adv.Reconnect == ReconnectNone {
				cp := *adv
				cp.Reconnect = ReconnectRetry
				adv = &cp
			}
		}
		c.mergeAdvice(adv)
		ev.interval = c.Advice().IntervalAsDuration()
		return nil, ev
	}
	c.mergeAdvice(reply.Advice)
	if reply.ClientID == "" {
		return nil, loopEvent{outcome: handshakeFailed, fatal: true,
			err: &DecodeError{Reason: "successful handshake reply without clientId"}}
	}
	if err := tr.negotiated(reply.SupportedConnectionTypes); err != nil {
		return nil, loopEvent{outcome: handshakeFailed, fatal: true, err: noCommonTransport(c.ep.transportNames(), reply)}
	}
	// Answers lost before this handshake need no resume: the new
	// session's subscriptions start after the last event handled.
	c.lostSince()
	c.mu.Lock()
	c.gen++
	s := newSession(ctx, c.gen, reply.ClientID)
	c.mu.Unlock()
	c.log.Debug("bayeux handshaken", "transport", c.ep.transport().Name(), "generation", s.gen)
	return s, loopEvent{outcome: handshakeOK}
}

// connect sends one /meta/connect in sess and describes its outcome.
func (c *Client) connect(ctx context.Context, sess *session, first bool, tr *transportPicker) loopEvent {
	t := c.ep.transport()
	msg := Message{ID: c.ep.newID(), Channel: MetaConnect, ClientID: sess.id, ConnectionType: t.Name()}
	timeout := c.opts.MaxNetworkDelay
	if first {
		msg.Advice = &Advice{}
		msg.Advice.SetTimeout(0)
	} else {
		timeout += c.Advice().TimeoutAsDuration()
	}
	// The held connect belongs to the session: it ends when the session
	// is lost, so that the loop re-handshakes at once.
	cctx, cancel := context.WithTimeoutCause(sess.ctx, timeout, ErrNetworkDelay)
	defer cancel()
	start := time.Now()
	before := c.received.Load()
	c.stats.connects.Add(1)
	replies, found, err := c.exchange(cctx, t, []Message{msg}, false)
	elapsed := time.Since(start)
	if sess.lost() && ctx.Err() == nil {
		return loopEvent{outcome: sessionLost, err: context.Cause(sess.ctx)}
	}
	adv := c.Advice()
	ev := loopEvent{interval: adv.IntervalAsDuration(), elapsed: elapsed, minConnectPeriod: c.opts.MinConnectPeriod}
	if adv.MaxInterval > 0 {
		ev.expiry = adv.TimeoutAsDuration() + adv.IntervalAsDuration() + adv.MaxIntervalAsDuration()
	}
	if err != nil {
		var te *TransportError
		if errors.As(err, &te) && te.Refused {
			tr.refused()
			ev.outcome, ev.err, ev.otherTransport = connectRefused, err, tr.canSwitch()
			return ev
		}
		ev.outcome, ev.err = connectFailed, err
		c.lostSince()
		if (te != nil || errors.As(err, &te)) && (te.StatusCode == 401 || te.StatusCode == 403) &&
			c.ep.hooks.Load().retry(&msg, nil, err) {
			// Refused credentials an extension can renew: handshake
			// again at once rather than retry a connect that cannot work.
			ev.outcome, ev.reconnect = connectDenied, ReconnectHandshake
			return ev
		}
		if errors.Is(err, ErrResponseLost) {
			// The extensions already chose to resume (exchange).
			ev.resume = true
		} else if (te == nil || te.StatusCode == 0) && mayHaveReached(err) && c.ep.hooks.Load().resume(err) {
			// The server may have answered, with events, and the
			// answer was lost: an extension recovers them in a new
			// session.
			ev.resume = true
		}
		return ev
	}
	if !found[0] {
		ev.outcome = connectFailed
		ev.err = &TransportError{ConnectionType: t.Name(), Err: fmt.Errorf("%w: %s", ErrNoReply, MetaConnect)}
		return ev
	}
	reply := replies[0]
	c.mergeAdvice(reply.Advice)
	adv = c.Advice()
	ev.interval, ev.reconnect = adv.IntervalAsDuration(), adv.Reconnect
	if !reply.Successful {
		se := NewServerError(ErrConnectFailed, reply)
		ev.outcome, ev.err = connectDenied, se
		switch {
		case reply.Advice != nil && reply.Advice.Reconnect != "":
			ev.reconnect = reply.Advice.Reconnect
		case se.UnknownClient():
			ev.reconnect = ReconnectHandshake
		}
		return ev
	}
	// Empty: nothing but replies arrived while it was held, in its
	// response or pushed (a websocket server pushes events apart).
	ev.outcome, ev.empty = connectOK, c.received.Load() == before
	if adv.MustNotRetryOrHandshake() {
		ev.err = NewServerError(ErrSessionTerminated, reply)
	}
	return ev
}

// resubscribe renews, in one batch, the subscriptions of every channel
// nobody else is renewing, before sess lets requests through.
func (c *Client) resubscribe(sess *session) {
	chs := c.subs.claim(sess.gen)
	if len(chs) == 0 {
		return
	}
	msgs := make([]Message, len(chs))
	for i, ch := range chs {
		msgs[i] = Message{ID: c.ep.newID(), Channel: MetaSubscribe, ClientID: sess.id, Subscription: []Channel{ch}}
	}
	sctx, cancel := context.WithTimeout(sess.ctx, c.opts.MaxNetworkDelay)
	defer cancel()
	replies, found, err := c.exchange(sctx, c.ep.transport(), msgs, false)
	for i, ch := range chs {
		var res error
		var reply *Message
		if err != nil {
			res = err
		} else {
			res = subscribeReplyError(&msgs[i], replies[i], found[i])
			reply = &replies[i]
		}
		ok := c.applySubscribe(sess, &msgs[i], reply, res)
		if ok && c.subs.release(ch, sess.gen) {
			continue
		}
		// Something is left to do (a denial to retry, a failure): a
		// reconciler takes the channel over.
		if !c.track.spawn(func() { c.reconcile(ch, !ok) }) {
			c.subs.abandon(ch, ErrClosed)
		}
	}
}

// endSession records why the session ended and shuts the client down
// (from the loop goroutine, which does not wait for itself), unless a
// Disconnect already began the shutdown.
func (c *Client) endSession(err error, terminated bool) {
	first, running := c.moveToClosing(err)
	if !first {
		return
	}
	if terminated {
		c.log.Warn("bayeux session ended by the server", "err", err)
		c.reportError(err)
	}
	_ = c.shutdown(context.Background(), running, true)
}

// permanent reports whether a failure of the first handshake will not go
// away by retrying: an HTTP 4xx answer other than 408 and 429 (a wrong URL,
// a proxy asking for credentials, a transport the server does not serve),
// a redirect refused, or a TLS mismatch.
func permanent(err error) bool {
	if errors.Is(err, ErrRedirect) || tlsMismatch(err) {
		return true
	}
	var te *TransportError
	if !errors.As(err, &te) || te.Refused {
		return false
	}
	return te.StatusCode >= 400 && te.StatusCode < 500 && te.StatusCode != 408 && te.StatusCode != 429
}

// tlsMismatch reports whether err is a TLS failure no retry heals: an
// https:// or wss:// URL answered by a plain HTTP server (a record that is
// not TLS), or a server certificate that does not verify.
func tlsMismatch(err error) bool {
	var (
		rh tls.RecordHeaderError
		cv *tls.CertificateVerificationError
		ua x509.UnknownAuthorityError
		he x509.HostnameError
		ci x509.CertificateInvalidError
	)
	return errors.As(err, &rh) || errors.As(err, &cv) || errors.As(err, &ua) || errors.As(err, &he) || errors.As(err, &ci) ||
		strings.Contains(err.Error(), "server gave HTTP response to HTTPS client")
}
