package bayeuxtest

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/bayeux-go/sdk/bayeux"
)

// reqInfo describes where a batch of messages came from.
type reqInfo struct {
	transport string  // connection type the request arrived on
	browser   string  // BAYEUX_BROWSER cookie of the request ("" if none)
	ws        *wsConn // the websocket, for websocket frames
	// superseded lists the held connects this request released by
	// sending a newer connect.
	superseded []*heldConnect
}

// result is the outcome of processing one batch.
type result struct {
	replies []bayeux.Message
	events  []bayeux.Message // events drained for the response
	// replying is the session whose events a websocket reply took
	// (session.replying), to be ended once the frame is queued.
	replying *session
	held     *heldConnect // a lone connect to hold (replies is empty)
	cookie   string       // BAYEUX_BROWSER value to set (handshake)
}

// process runs one batch of messages (one HTTP request or one websocket
// frame) through the Bayeux engine. Messages are processed in order; the
// lock is taken per message, so that service handlers and extensions run
// without it.
func (s *Server) process(ri *reqInfo, msgs []bayeux.Message) result {
	var res result
	// A handshake must be alone: the specification says the server MUST
	// ignore the other messages of its request.
	for i := range msgs {
		if msgs[i].Channel == bayeux.MetaHandshake && !(s.cfg.mis.ProcessWithHandshake && len(msgs) > 1) {
			m := msgs[i]
			if reply, ok := s.incoming(&m); !ok {
				res.replies = []bayeux.Message{reply}
			} else {
				var reply bayeux.Message
				reply, res.cookie = s.handshake(ri, &m)
				res.replies = []bayeux.Message{reply}
			}
			res.replies = s.finish(res.replies, nil)
			return res
		}
	}

	lone := len(msgs) == 1 && msgs[0].Channel == bayeux.MetaConnect
	var (
		drain    *session   // session whose queued events ride on this response
		deferred []*session // sessions whose wake-up was deferred to this response
	)
	for i := range msgs {
		m := msgs[i]
		if reply, ok := s.incoming(&m); !ok {
			res.replies = append(res.replies, reply)
			continue
		}
		var (
			reply bayeux.Message
			sess  *session
			hc    *heldConnect
		)
		switch m.Channel {
		case bayeux.MetaConnect:
			reply, sess, hc = s.connect(ri, &m, lone)
		case bayeux.MetaSubscribe:
			reply, sess = s.subscribe(ri, &m, true)
		case bayeux.MetaUnsubscribe:
			reply, sess = s.subscribe(ri, &m, false)
		case bayeux.MetaDisconnect:
			reply = s.disconnect(ri, &m)
		case bayeux.MetaHandshake: // only with Misbehaviour.ProcessWithHandshake
			reply, res.cookie = s.handshake(ri, &m)
		default:
			reply, sess = s.publish(ri, &m, &deferred)
		}
		if hc != nil {
			res.held = hc
			return res
		}
		res.replies = append(res.replies, reply)
		if sess != nil {
			drain = sess
		}
	}

	if s.cfg.mis.DeliverOnConnectOnly && !slices.ContainsFunc(msgs, func(m bayeux.Message) bool { return m.Channel == bayeux.MetaConnect }) {
		drain = nil
	}
	s.mu.Lock()
	res.events = s.takeEventsLocked(drain, res.replies)
	if ri.ws != nil && len(res.events) > 0 {
		drain.replying++
		res.replying = drain
	}
	for _, sess := range deferred {
		s.wakeLocked(sess) // a no-op for a session whose events were drained
	}
	s.mu.Unlock()
	res.replies = s.finish(res.replies, res.events)
	res.events = nil
	return res
}

// incoming validates the message id and runs the Incoming extensions. It
// returns an unsuccessful reply and false when the message must not be
// processed.
func (s *Server) incoming(m *bayeux.Message) (bayeux.Message, bool) {
	if s.cfg.strictIDs && m.ID != "" && !isAlphanumeric(m.ID) {
		return s.errorReply(m, 405, m.ID, "Invalid message id"), false
	}
	m.Error = "" // a client has no business setting it; extensions may
	for _, e := range s.cfg.exts {
		e.Incoming(m)
	}
	if m.Error == "" {
		return bayeux.Message{}, true
	}
	r := s.errorReply(m, 0, "", "")
	r.Error = m.Error
	if m.Channel == bayeux.MetaHandshake {
		r.ClientID = ""
		r.Advice = s.reconnectAdvice(bayeux.ReconnectNone)
	}
	return r, false
}

// finish orders replies and events and runs the Outgoing extensions on
// every message, in reverse order of registration.
func (s *Server) finish(replies, events []bayeux.Message) []bayeux.Message {
	var out []bayeux.Message
	switch {
	case len(events) == 0:
		out = replies
	case s.cfg.eventsFirst:
		out = append(events, replies...)
	default:
		out = append(replies, events...)
	}
	if n := len(s.cfg.exts); n > 0 {
		for i := range out {
			for j := n - 1; j >= 0; j-- {
				s.cfg.exts[j].Outgoing(&out[i])
			}
		}
	}
	return s.rewrite(out)
}

// outgoing runs the Outgoing extensions on msgs in place.
func (s *Server) outgoing(msgs []bayeux.Message) {
	if n := len(s.cfg.exts); n > 0 {
		for i := range msgs {
			for j := n - 1; j >= 0; j-- {
				s.cfg.exts[j].Outgoing(&msgs[i])
			}
		}
	}
}

// handshake creates a session, or explains why not.
func (s *Server) handshake(ri *reqInfo, m *bayeux.Message) (bayeux.Message, string) {
	reply := bayeux.Message{
		ID:                       m.ID,
		Channel:                  bayeux.MetaHandshake,
		Version:                  "1.0",
		SupportedConnectionTypes: slices.Clone(s.cfg.connTypes),
	}
	fail := func(code int, arg, text string) (bayeux.Message, string) {
		reply.SetSuccessful(false)
		reply.Error = errorString(code, arg, text)
		reply.Advice = s.reconnectAdvice(bayeux.ReconnectHandshake)
		return reply, ""
	}
	if m.Version == "" {
		return fail(402, "version", "Missing required parameter")
	}
	if m.MinimumVersion != "" && compareVersions(m.MinimumVersion, "1.0") > 0 {
		return fail(300, m.MinimumVersion, "Version mismatch")
	}
	if len(m.SupportedConnectionTypes) == 0 {
		return fail(402, "supportedConnectionTypes", "Missing required parameter")
	}
	common := false
	for _, t := range m.SupportedConnectionTypes {
		if slices.Contains(s.cfg.connTypes, t) {
			common = true
			break
		}
	}
	if !common {
		return fail(301, strings.Join(m.SupportedConnectionTypes, ","), "Connection types not supported")
	}

	browser := ri.browser
	if browser == "" {
		browser = newBrowserID()
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return fail(503, "", "Server closed")
	}
	s.seq++
	sess := &session{
		id:         newClientID(),
		seq:        s.seq,
		browser:    browser,
		subs:       make(map[bayeux.Channel]struct{}),
		lastActive: time.Now(),
	}
	s.sessions[sess.id] = sess
	s.handshakes++
	s.bindLocked(sess, ri.ws)
	s.extHandshakeLocked(sess, m, &reply)
	s.notifyLocked()
	s.mu.Unlock()
	s.log.Debug("bayeuxtest: handshake", "clientId", sess.id, "transport", ri.transport)

	reply.ClientID = sess.id
	reply.SetSuccessful(true)
	reply.Advice = s.advice()
	return reply, browser
}

// connect handles /meta/connect. It returns the reply and the session, or
// a heldConnect when the connect is to be held.
func (s *Server) connect(ri *reqInfo, m *bayeux.Message, lone bool) (bayeux.Message, *session, *heldConnect) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sess := s.lookupLocked(ri.browser, m.ClientID)
	if sess == nil {
		return s.unknownReply(m), nil, nil
	}
	if m.ConnectionType == "" {
		r := s.errorReply(m, 402, "connectionType", "Missing required parameter")
		return r, sess, nil
	}
	if !slices.Contains(s.cfg.connTypes, m.ConnectionType) {
		r := s.errorReply(m, 301, m.ConnectionType, "Connection types not supported")
		return r, sess, nil
	}
	s.bindLocked(sess, ri.ws)
	s.ackConnectLocked(sess, m)
	if old := sess.held; old != nil {
		s.releaseLocked(old, relSuperseded)
		ri.superseded = append(ri.superseded, old)
	}
	reply := bayeux.Message{ID: m.ID, Channel: bayeux.MetaConnect, ClientID: sess.id, Advice: s.advice()}
	reply.SetSuccessful(true)

	hold := s.cfg.timeout
	if m.Advice != nil && m.Advice.HasTimeout() {
		// Servers SHOULD honour the client's timeout advice; it may only
		// shorten the hold here, so a test never waits longer than the
		// server's timeout.
		if t := time.Duration(m.Advice.Timeout) * time.Millisecond; t < hold {
			hold = max(t, 0)
		}
	}
	first := !sess.connected
	sess.connected = true
	sess.lastActive = time.Now()
	if lone && !first && s.multipleClientsLocked(sess, &reply) {
		return reply, sess, nil
	}
	if lone && !first && hold > 0 && len(sess.queue) == 0 && !s.closed {
		hc := &heldConnect{sess: sess, reply: reply, hold: hold, ws: ri.ws,
			release: make(chan struct{}), answered: make(chan struct{})}
		sess.held = hc
		s.held++
		s.notifyLocked()
		return bayeux.Message{}, sess, hc
	}
	return reply, sess, nil
}

// subscribe handles /meta/subscribe (sub true) and /meta/unsubscribe.
func (s *Server) subscribe(ri *reqInfo, m *bayeux.Message, sub bool) (bayeux.Message, *session) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sess := s.lookupLocked(ri.browser, m.ClientID)
	if sess == nil {
		return s.unknownReply(m), nil
	}
	if len(m.Subscription) == 0 {
		return s.errorReply(m, 402, "subscription", "Missing required parameter"), sess
	}
	for _, ch := range m.Subscription {
		if s.badChannel(ch, true) {
			return s.errorReply(m, 405, string(ch), "Invalid channel"), sess
		}
		if sub && ch.Type() == bayeux.MetaChannel && !s.cfg.mis.MetaSubscribable {
			return s.errorReply(m, 403, string(ch), "Forbidden channel"), sess
		}
	}
	if r, ok := s.replaySubscribeLocked(sess, m, sub); !ok {
		return r, sess
	}
	for _, ch := range m.Subscription {
		if ch.Type() != bayeux.BroadcastChannel && !s.cfg.mis.MetaSubscribable && !(s.cfg.mis.BroadcastService && ch.Type() == bayeux.ServiceChannel) {
			// Subscriptions to /service channels are not recorded (the
			// specification says they SHOULD NOT be); unsubscribing from
			// one, or from /meta, is a no-op.
			continue
		}
		if sub {
			s.subscribeLocked(sess, ch)
		} else if !s.cfg.mis.IgnoreUnsubscribe {
			s.unsubscribeLocked(sess, ch)
		}
	}
	s.notifyLocked()
	reply := s.okReply(m, sess)
	return reply, sess
}

// disconnect handles /meta/disconnect.
func (s *Server) disconnect(ri *reqInfo, m *bayeux.Message) bayeux.Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	sess := s.lookupLocked(ri.browser, m.ClientID)
	if sess == nil {
		return s.unknownReply(m)
	}
	if !s.cfg.mis.KeepSessionOnDisconnect {
		s.removeLocked(sess, relDisconnected)
	}
	return s.okReply(m, sess)
}

// publish handles a message on any other channel: an unknown /meta
// channel, a /service channel or a broadcast channel.
func (s *Server) publish(ri *reqInfo, m *bayeux.Message, deferred *[]*session) (bayeux.Message, *session) {
	s.mu.Lock()
	sess := s.lookupLocked(ri.browser, m.ClientID)
	if sess == nil {
		s.mu.Unlock()
		return s.unknownReply(m), nil
	}
	var fail string
	switch {
	case m.Channel.Type() == bayeux.MetaChannel:
		fail = errorString(403, string(m.Channel), "Forbidden channel")
	case s.badChannel(m.Channel, false):
		fail = errorString(405, string(m.Channel), "Invalid channel")
	case len(m.Data) == 0:
		fail = errorString(402, "data", "Missing required parameter")
	}
	if fail != "" {
		s.mu.Unlock()
		r := s.errorReply(m, 0, "", "")
		r.ClientID = sess.id
		r.Error = fail
		return r, sess
	}
	if m.Channel.Type() == bayeux.ServiceChannel && !s.cfg.mis.BroadcastService {
		s.mu.Unlock()
		return s.callService(m, sess), sess
	}
	if s.cfg.replay && s.cfg.replayPublishes && m.Channel.Type() == bayeux.BroadcastChannel {
		s.publishEventLocked(bayeux.Message{Channel: m.Channel, ID: m.ID, Ext: m.Ext}, slices.Clone(m.Data), sess, deferred)
		s.mu.Unlock()
		return s.okReply(m, sess), sess
	}
	ev := bayeux.Message{Channel: m.Channel, Data: slices.Clone(m.Data), ID: m.ID, Ext: m.Ext}
	s.publishLocked(ev, sess, deferred)
	s.mu.Unlock()
	return s.okReply(m, sess), sess
}

// callService runs the handler of a /service message, if any, and builds
// the reply to the caller.
func (s *Server) callService(m *bayeux.Message, sess *session) bayeux.Message {
	reply := s.okReply(m, sess)
	fn := s.serviceFor(m.Channel)
	if fn == nil {
		return reply
	}
	data, err := safeCall(fn, cloneMessage(m))
	if err == nil && data != nil {
		var raw json.RawMessage
		raw, err = marshalData(data)
		reply.Data = raw
	}
	if err != nil {
		reply.Data = nil
		reply.SetSuccessful(false)
		reply.Error = "500::" + err.Error()
	}
	return reply
}

// safeCall calls a service handler, turning a panic into an error.
func safeCall(fn ServiceFunc, m bayeux.Message) (data any, err error) {
	defer func() {
		if r := recover(); r != nil {
			data, err = nil, fmt.Errorf("service handler panicked: %v", r)
		}
	}()
	return fn(m)
}

// okReply is the successful reply to m: channel, id, clientId and, for
// subscribe and unsubscribe, the subscription in the form it came.
func (s *Server) okReply(m *bayeux.Message, sess *session) bayeux.Message {
	r := bayeux.Message{ID: m.ID, Channel: m.Channel}
	if sess != nil {
		r.ClientID = sess.id
	}
	echoSubscription(&r, m)
	r.SetSuccessful(true)
	return r
}

// errorReply is an unsuccessful reply to m with error code:arg:text (left
// empty when code is 0). It echoes the clientId the message carried.
func (s *Server) errorReply(m *bayeux.Message, code int, arg, text string) bayeux.Message {
	r := bayeux.Message{ID: m.ID, Channel: m.Channel, ClientID: m.ClientID}
	echoSubscription(&r, m)
	r.SetSuccessful(false)
	if code != 0 {
		r.Error = errorString(code, arg, text)
	}
	return r
}

// unknownReply answers a message whose clientId is unknown, expired or
// missing (or, with cookie binding, sent without the session's cookie).
func (s *Server) unknownReply(m *bayeux.Message) bayeux.Message {
	r := bayeux.Message{ID: m.ID, Channel: m.Channel}
	echoSubscription(&r, m)
	r.SetSuccessful(false)
	r.Error = errorString(402, m.ClientID, "Unknown client")
	r.Advice = s.reconnectAdvice(bayeux.ReconnectHandshake)
	return r
}

func echoSubscription(r, m *bayeux.Message) {
	if m.Channel == bayeux.MetaSubscribe || m.Channel == bayeux.MetaUnsubscribe {
		r.Subscription = slices.Clone(m.Subscription)
		r.SetSubscriptionArray(m.SubscriptionIsArray())
	}
}

// errorString formats a Bayeux error "code:arg:text". An argument that
// would break the grammar (a ':', control or non-ASCII characters, or more
// than 128 bytes) is left out; commas separate arguments.
func errorString(code int, arg, text string) string {
	if !safeErrorArg(arg) {
		arg = ""
	}
	return fmt.Sprintf("%03d:%s:%s", code, arg, text)
}

func safeErrorArg(a string) bool {
	if len(a) > 128 {
		return false
	}
	for i := 0; i < len(a); i++ {
		c := a[i]
		if c < 0x20 || c >= 0x7f || c == ':' {
			return false
		}
	}
	return true
}

// isAlphanumeric reports whether s is [A-Za-z0-9]+.
func isAlphanumeric(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
			return false
		}
	}
	return true
}

// compareVersions compares dotted Bayeux versions element by element
// (numerically when both elements are numbers).
func compareVersions(a, b string) int {
	as, bs := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < len(as) || i < len(bs); i++ {
		var x, y string
		if i < len(as) {
			x = as[i]
		}
		if i < len(bs) {
			y = bs[i]
		}
		xn, xerr := strconv.Atoi(x)
		yn, yerr := strconv.Atoi(y)
		if x == "" {
			xn, xerr = 0, nil
		}
		if y == "" {
			yn, yerr = 0, nil
		}
		switch {
		case xerr == nil && yerr == nil:
			if xn != yn {
				if xn < yn {
					return -1
				}
				return 1
			}
		case x != y:
			if x < y {
				return -1
			}
			return 1
		}
	}
	return 0
}
