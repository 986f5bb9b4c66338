package bayeuxtest

import (
	"strings"

	"github.com/bayeux-go/sdk/bayeux"
)

// Misbehaviour makes the server break Bayeux rules on purpose, so that a
// conformance suite (package conformance) can show that each of its cases
// detects the breach. The zero value breaks nothing. Combine it with
// faults (InjectFault), extensions (WithExtension) and an http.Handler
// wrapped around Server.Handler for breaches of the HTTP layer.
type Misbehaviour struct {
	// Rewrite, when set, replaces every list of messages the server is
	// about to send (an HTTP response, or a websocket frame of replies or
	// of pushed events), after the Outgoing extensions ran. It may add,
	// drop, reorder or change messages.
	Rewrite func(msgs []bayeux.Message) []bayeux.Message
	// ProcessWithHandshake processes the other messages of a request that
	// holds a handshake instead of ignoring them.
	ProcessWithHandshake bool
	// LaxChannels accepts invalid channel names in subscribe, unsubscribe
	// and publish, and publishing to wildcard channels.
	LaxChannels bool
	// MetaSubscribable lets clients subscribe to /meta channels.
	MetaSubscribable bool
	// BroadcastService records subscriptions to /service channels and
	// broadcasts messages published there like any other.
	BroadcastService bool
	// GreedyStar makes "*" match one or more segments, like "**".
	GreedyStar bool
	// ShallowStarStar makes "**" match one segment only, like "*".
	ShallowStarStar bool
	// NoDedup delivers an event once per matching subscription of a
	// session, rather than once per session.
	NoDedup bool
	// ExcludePublisher never delivers a message to its publisher.
	ExcludePublisher bool
	// KeepSessionOnDisconnect answers /meta/disconnect successfully
	// without removing the session.
	KeepSessionOnDisconnect bool
	// IgnoreUnsubscribe answers /meta/unsubscribe successfully without
	// removing the subscription.
	IgnoreUnsubscribe bool
	// WebSocketFrame, when set, replaces the bytes of every websocket frame
	// the server sends.
	WebSocketFrame func(frame []byte) []byte
	// DeliverOnConnectOnly delivers events only in /meta/connect
	// responses (or pushes), never on the immediate reply to another
	// request of the session.
	DeliverOnConnectOnly bool
}

// WithMisbehaviour makes the server break the rules m names. Only for
// testing conformance checkers.
func WithMisbehaviour(m Misbehaviour) Option {
	return func(c *config) { c.mis = m }
}

// rewrite applies Misbehaviour.Rewrite.
func (s *Server) rewrite(msgs []bayeux.Message) []bayeux.Message {
	if s.cfg.mis.Rewrite == nil {
		return msgs
	}
	return s.cfg.mis.Rewrite(msgs)
}

// badChannel reports whether ch is refused as a channel to publish to or
// subscribe to (wildcards allowed only when pattern is set).
func (s *Server) badChannel(ch bayeux.Channel, pattern bool) bool {
	if s.cfg.mis.LaxChannels {
		return false
	}
	if pattern && s.salesforceLike() && ch.Base() != ch {
		return ch.ValidateSubscription() != nil // a filtered PushTopic channel (filter.go)
	}
	return ch.Validate() != nil || (!pattern && ch.HasWildcard())
}

// misMatch is bayeux.Channel.MatchString with the wildcard breaches.
func (s *Server) misMatch(p bayeux.Channel, name string) bool {
	ps := string(p)
	switch {
	case s.cfg.mis.GreedyStar && strings.HasSuffix(ps, "/*"):
		p = bayeux.Channel(ps + "*")
	case s.cfg.mis.ShallowStarStar && strings.HasSuffix(ps, "/**"):
		p = bayeux.Channel(strings.TrimSuffix(ps, "*"))
	}
	return p.MatchString(name)
}

// copies returns how many copies of an event on name sess gets under
// NoDedup (one per matching subscription), or 1.
func (s *Server) copies(sess *session, name string) int {
	if !s.cfg.mis.NoDedup {
		return 1
	}
	n := 0
	for p := range sess.subs {
		if string(p) == name || (p.HasWildcard() && s.misMatch(p, name)) {
			n++
		}
	}
	return max(n, 1)
}
