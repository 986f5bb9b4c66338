package bayeuxtest

import (
	"crypto/rand"
	"encoding/hex"
	"maps"
	"time"

	"github.com/bayeux-go/sdk/bayeux"
)

// session is one Bayeux client session. All fields are guarded by
// Server.mu.
type session struct {
	id      string
	seq     uint64
	browser string // BAYEUX_BROWSER cookie value bound at handshake
	subs    map[bayeux.Channel]struct{}
	// queue holds events waiting for the next response of the session.
	queue []bayeux.Message
	// connected is set by the first /meta/connect: later lone connects
	// may be held.
	connected bool
	// held is the outstanding held /meta/connect, if any.
	held *heldConnect
	// replying counts the websocket replies that took queued events and
	// whose frame is not queued on the websocket yet: meanwhile an event
	// is queued, not pushed, so that it cannot overtake them.
	replying int
	// ws is the websocket the session last used; events are pushed on it
	// as soon as they are published.
	ws *wsConn
	// lastActive is when the session last had a connect reply (or its
	// handshake); the sweeper expires it maxInterval later unless a
	// connect is held.
	lastActive time.Time
	removed    bool
	// ack is the acknowledgement extension's state (ack.go), nil when the
	// session did not negotiate it; replay is set when its handshake asked
	// for the replay extension (replay.go).
	ack    *ackState
	replay bool
}

// releaseReason says why a held /meta/connect ended.
type releaseReason int

const (
	relNone         releaseReason = iota
	relTimeout                    // the hold timeout elapsed
	relWake                       // events were queued for the session
	relSuperseded                 // a newer connect of the same session arrived
	relDisconnected               // the session disconnected
	relExpired                    // the session expired or was expired by a test
	relTeardown                   // Close or Restart: tear the connection
	relGone                       // the client went away (request cancelled, socket closed)
)

// heldConnect is a /meta/connect being held. reason is guarded by
// Server.mu; release is closed (once) when reason is set by someone other
// than the holding goroutine.
type heldConnect struct {
	sess    *session
	reply   bayeux.Message
	hold    time.Duration
	ws      *wsConn
	release chan struct{}
	reason  releaseReason
	// replying is set when its reply took events (session.replying).
	replying bool
	// answered is closed by the websocket goroutine holding the connect
	// once its reply is queued, so that a newer connect's reply on the
	// same socket follows it.
	answered chan struct{}
}

// newID returns n random bytes as lowercase hex.
func newID(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go >= 1.24)
	return hex.EncodeToString(b)
}

// newClientID returns a clientId of 128 random bits as 32 hex characters.
func newClientID() string { return newID(16) }

// newBrowserID returns a BAYEUX_BROWSER cookie value of 160 random bits.
func newBrowserID() string { return newID(20) }

// advice returns the advice of successful handshake and connect replies.
func (s *Server) advice() *bayeux.Advice {
	a := &bayeux.Advice{Reconnect: bayeux.ReconnectRetry, Hosts: s.hosts()}
	a.SetInterval(int(s.cfg.interval / time.Millisecond))
	a.SetTimeout(int(s.cfg.timeout / time.Millisecond))
	if s.cfg.maxInterval > 0 {
		a.SetMaxInterval(int(s.cfg.maxInterval / time.Millisecond))
	}
	return a
}

// reconnectAdvice returns advice {reconnect, interval:0} (and hosts).
func (s *Server) reconnectAdvice(reconnect string) *bayeux.Advice {
	a := &bayeux.Advice{Reconnect: reconnect, Hosts: s.hosts()}
	a.SetInterval(0)
	return a
}

func (s *Server) hosts() []string {
	if len(s.cfg.hosts) == 0 {
		return nil
	}
	return append([]string(nil), s.cfg.hosts...)
}

// lookupLocked returns the live session clientID, honouring cookie
// binding, or nil.
func (s *Server) lookupLocked(browser, clientID string) *session {
	if clientID == "" {
		return nil
	}
	sess := s.sessions[clientID]
	if sess == nil {
		return nil
	}
	if s.cfg.cookieBinding && browser != sess.browser {
		return nil
	}
	return sess
}

// releaseLocked ends a held connect for reason (first reason wins).
func (s *Server) releaseLocked(hc *heldConnect, reason releaseReason) {
	if hc.reason != relNone {
		return
	}
	hc.reason = reason
	close(hc.release)
	if hc.sess.held == hc {
		hc.sess.held = nil
	}
	s.held--
	s.notifyLocked()
}

// removeLocked deletes a session; a held connect is released for reason.
func (s *Server) removeLocked(sess *session, reason releaseReason) {
	if sess.removed {
		return
	}
	sess.removed = true
	delete(s.sessions, sess.id)
	for ch := range sess.subs {
		s.index.remove(ch, sess)
	}
	if sess.held != nil {
		s.releaseLocked(sess.held, reason)
	}
	if sess.ws != nil {
		delete(sess.ws.sessions, sess)
		sess.ws = nil
	}
	sess.queue = nil
	s.log.Debug("bayeuxtest: session removed", "clientId", sess.id, "reason", int(reason))
	s.notifyLocked()
}

// bindLocked makes c the websocket of sess: its events are pushed there.
func (s *Server) bindLocked(sess *session, c *wsConn) {
	if c == nil || sess.ws == c {
		return
	}
	if sess.ws != nil {
		delete(sess.ws.sessions, sess)
	}
	sess.ws = c
	c.sessions[sess] = struct{}{}
}

// publishLocked broadcasts ev to every session subscribed to a channel
// matching ev.Channel, once per session. The held connect of exclude is not
// woken (its events ride on the response being built); such sessions are
// added to *deferred so the caller can wake them if their events are not
// drained.
func (s *Server) publishLocked(ev bayeux.Message, exclude *session, deferred *[]*session) {
	name := string(ev.Channel)
	p := s.newPush(ev)
	s.forEachSubscriberLocked(name, func(sess *session) {
		if s.cfg.mis.ExcludePublisher && sess == exclude {
			return
		}
		wake := sess != exclude
		for range s.copies(sess, name) {
			s.deliverPushLocked(sess, p, wake)
		}
		if !wake && deferred != nil {
			*deferred = append(*deferred, sess)
		}
	})
	s.publishFilteredLocked(ev, exclude, deferred)
}

// push is an event on its way to the recipients of one publish: the
// message and, when every recipient is sent the same bytes (no Outgoing
// extension and no Misbehaviour.Rewrite may change them), its JSON
// encoding, made once (for the first recipient on a websocket) and shared
// read-only by the websocket writers. It is guarded by Server.mu.
type push struct {
	msg       bayeux.Message
	shareable bool // the recipients may share enc
	enc       []byte
}

// newPush prepares ev for its recipients.
func (s *Server) newPush(ev bayeux.Message) *push {
	return &push{msg: ev, shareable: len(s.cfg.exts) == 0 && s.cfg.mis.Rewrite == nil}
}

// encoded returns the shared encoding of the event, or nil if the
// recipients may not share one (or it cannot be encoded: each writer then
// reports it).
func (p *push) encoded() []byte {
	if p.enc == nil && p.shareable {
		enc, err := bayeux.AppendMessage(nil, &p.msg)
		if err != nil {
			p.shareable = false
			return nil
		}
		p.enc = enc
	}
	return p.enc
}

// replied ends a websocket reply that took events of sess: its frame
// is queued.
func (s *Server) replied(sess *session) {
	if sess == nil {
		return
	}
	s.mu.Lock()
	sess.replying--
	s.mu.Unlock()
}

// deliverLocked gives ev to sess: pushed on its websocket, or queued and,
// if wake, waking its held connect.
func (s *Server) deliverLocked(sess *session, ev bayeux.Message, wake bool) {
	s.deliverPushLocked(sess, &push{msg: ev}, wake)
}

// deliverPushLocked is deliverLocked for one of the recipients of p.
func (s *Server) deliverPushLocked(sess *session, p *push, wake bool) {
	ev := p.msg
	if len(s.cfg.exts) > 0 && ev.Ext != nil {
		ev.Ext = maps.Clone(ev.Ext) // each session's copy may be changed by Outgoing
	}
	// Pushed at once on the session's websocket, unless events wait in
	// its queue (queued while it had no websocket) or ride on a reply not
	// yet queued on the websocket: those go first, and this one after
	// them, with the next /meta/connect reply.
	if sess.ack == nil && !s.cfg.connectDeliveryOnly && sess.ws != nil && len(sess.queue) == 0 && sess.replying == 0 &&
		sess.ws.push(ev, p.encoded()) {
		return
	}
	sess.queue = append(sess.queue, ev)
	if wake && sess.held != nil {
		s.releaseLocked(sess.held, relWake)
	}
}

// wakeLocked releases the held connect of sess if events are queued.
func (s *Server) wakeLocked(sess *session) {
	if !sess.removed && len(sess.queue) > 0 && sess.held != nil {
		s.releaseLocked(sess.held, relWake)
	}
}

// drainLocked takes the queued events of sess.
func (s *Server) drainLocked(sess *session) []bayeux.Message {
	if sess == nil || sess.removed || len(sess.queue) == 0 {
		return nil
	}
	q := sess.queue
	sess.queue = nil
	return q
}

// awaitHeld waits until the held connect hc ends and returns what to send:
// the messages (reply and events), or tear to tear the connection down, or
// neither when the client went away (gone closed) and nothing is to be
// written.
func (s *Server) awaitHeld(hc *heldConnect, gone <-chan struct{}) (msgs []bayeux.Message, tear bool) {
	t := time.NewTimer(hc.hold)
	defer t.Stop()
	timedOut := false
	select {
	case <-hc.release:
	case <-t.C:
		timedOut = true
	case <-gone:
	}
	s.mu.Lock()
	if hc.reason == relNone {
		if timedOut {
			s.releaseLocked(hc, relTimeout)
		} else {
			s.releaseLocked(hc, relGone)
		}
	}
	sess := hc.sess
	if !sess.removed {
		sess.lastActive = time.Now()
	}
	var events []bayeux.Message
	reply := hc.reply
	switch hc.reason {
	case relTimeout, relWake:
		rs := []bayeux.Message{reply}
		events = s.takeEventsLocked(sess, rs)
		reply = rs[0]
		if hc.ws != nil && len(events) > 0 {
			sess.replying++
			hc.replying = true
		}
	case relSuperseded:
		// answered without events: they go to the newer connect
	case relDisconnected:
		reply.Advice = &bayeux.Advice{Reconnect: bayeux.ReconnectNone, Hosts: s.hosts()}
	case relExpired:
		reply = s.unknownReply(&hc.reply)
	case relTeardown:
		s.mu.Unlock()
		return nil, true
	case relGone:
		s.mu.Unlock()
		return nil, false
	}
	s.mu.Unlock()
	return s.finish([]bayeux.Message{reply}, events), false
}

// sweep expires sessions that had no /meta/connect for maxInterval.
func (s *Server) sweep() {
	defer s.wg.Done()
	if s.cfg.maxInterval <= 0 {
		<-s.done
		return
	}
	period := min(max(s.cfg.maxInterval/4, 5*time.Millisecond), 250*time.Millisecond)
	tk := time.NewTicker(period)
	defer tk.Stop()
	for {
		select {
		case <-s.done:
			return
		case now := <-tk.C:
			s.mu.Lock()
			for _, sess := range s.sessions {
				if sess.held == nil && now.Sub(sess.lastActive) > s.cfg.maxInterval {
					s.log.Debug("bayeuxtest: session expired", "clientId", sess.id)
					s.removeLocked(sess, relExpired)
				}
			}
			s.mu.Unlock()
		}
	}
}
