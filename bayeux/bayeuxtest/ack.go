package bayeuxtest

import (
	"math"

	"github.com/bayeux-go/sdk/bayeux"
	"github.com/bayeux-go/sdk/internal/extfield"
)

// WithAckExtension turns on the server side of CometD's message
// acknowledgement extension (its AcknowledgedMessagesExtension). A session
// whose handshake carries ext {"ack": true} gets ext {"ack": true} in the
// handshake reply, and from then on:
//
//   - events for it are delivered only in /meta/connect replies (never on
//     other replies, never pushed alone on a websocket), so they arrive in
//     one total order;
//   - every successful /meta/connect reply carries ext {"ack": N}, the id
//     of the batch of events it delivers (1, 2, 3... counted per session,
//     whether or not the batch holds events);
//   - each /meta/connect the client sends carries ext {"ack": N}, the last
//     batch id it received; the server then forgets the events of batches
//     up to N and sends every event it delivered in a later batch again,
//     first, in the next connect reply (which is answered at once); every
//     connect reply carries the events not yet acknowledged, as CometD's
//     do.
//
// So an event is lost only if the session itself is lost (it expires after
// maxInterval without a connect, or the server restarts). Sessions that
// did not ask for the extension are served as usual. Default off.
func WithAckExtension(on bool) Option {
	return func(c *config) { c.ack = on }
}

// ackState is one session's acknowledgement bookkeeping, guarded by
// Server.mu.
type ackState struct {
	// batch is the id of the last batch sent.
	batch int64
	// unacked holds the events sent in batches the client has not
	// acknowledged, in the order sent.
	unacked []ackedEvent
}

type ackedEvent struct {
	batch int64
	msg   bayeux.Message
}

// extHandshakeLocked negotiates the built-in extensions (ack, replay) a
// new session asked for in its handshake, adding their fields to the
// reply's ext.
func (s *Server) extHandshakeLocked(sess *session, m, reply *bayeux.Message) {
	if s.cfg.ack && extfield.Enabled(m.Ext["ack"]) {
		sess.ack = &ackState{}
		reply.Ext = extfield.With(reply.Ext, "ack", true)
	}
	if s.cfg.replay && extfield.Enabled(m.Ext["replay"]) {
		sess.replay = true
		reply.Ext = extfield.With(reply.Ext, "replay", true)
		reply.Ext["payload.format"] = true // as Salesforce answers
	}
}

// ackConnectLocked applies the acknowledgement a /meta/connect carries:
// the events of acknowledged batches are forgotten, the others go back to
// the front of the session's queue to be sent again.
func (s *Server) ackConnectLocked(sess *session, m *bayeux.Message) {
	a := sess.ack
	if a == nil {
		return
	}
	acked, ok := extfield.Int(m.Ext["ack"])
	if !ok {
		acked = math.MinInt64 // nothing acknowledged: resend everything
	}
	i := 0
	for i < len(a.unacked) && a.unacked[i].batch <= acked {
		i++
	}
	rest := a.unacked[i:]
	a.unacked = nil
	if len(rest) == 0 {
		return
	}
	q := make([]bayeux.Message, 0, len(rest)+len(sess.queue))
	for _, e := range rest {
		q = append(q, e.msg)
	}
	sess.queue = append(q, sess.queue...)
	s.log.Debug("bayeuxtest: ack: resending", "clientId", sess.id, "acked", acked, "events", len(rest))
}

// takeEventsLocked takes the queued events of sess that may ride on a
// response holding replies: all of them, or, for a session using the ack
// extension, all of them if replies hold its successful /meta/connect
// reply (which then gets the batch id) and none otherwise. With
// WithMetaConnectDeliveryOnly, a session without ack too gets its events
// only with its successful /meta/connect reply.
func (s *Server) takeEventsLocked(sess *session, replies []bayeux.Message) []bayeux.Message {
	if sess == nil || sess.removed {
		return nil
	}
	a := sess.ack
	if a == nil {
		if s.cfg.connectDeliveryOnly && !holdsConnectReply(sess, replies) {
			return nil
		}
		return s.drainLocked(sess)
	}
	for i := range replies {
		r := &replies[i]
		if r.Channel != bayeux.MetaConnect || !r.Successful || r.ClientID != sess.id {
			continue
		}
		a.batch++
		r.Ext = extfield.With(r.Ext, "ack", a.batch)
		// Events of earlier batches not yet acknowledged go first, again,
		// as in CometD, where every connect reply carries every
		// unacknowledged message. They are there only when two replies
		// were built for the session since its last connect (a woken
		// connect and a newer one racing): the client may read only the
		// newer, and its ack of that batch would otherwise acknowledge
		// the older batch's events too, never received.
		q := make([]bayeux.Message, 0, len(a.unacked)+len(sess.queue))
		for _, e := range a.unacked {
			q = append(q, e.msg)
		}
		q = append(q, s.drainLocked(sess)...)
		a.unacked = a.unacked[:0]
		for j := range q {
			// A copy: Outgoing extensions may change the sent one.
			a.unacked = append(a.unacked, ackedEvent{batch: a.batch, msg: cloneMessage(&q[j])})
		}
		return q
	}
	return nil
}

// holdsConnectReply reports whether replies hold the successful
// /meta/connect reply of sess.
func holdsConnectReply(sess *session, replies []bayeux.Message) bool {
	for i := range replies {
		r := &replies[i]
		if r.Channel == bayeux.MetaConnect && r.Successful && r.ClientID == sess.id {
			return true
		}
	}
	return false
}
