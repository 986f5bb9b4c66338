package bayeux

import "strings"

// Channel represents a Bayeux Channel which is defined as "a string that
// looks like a URL path such as `/foo/bar`, `/meta/connect`, or
// `/service/chat`."
//
// See also: https://docs.cometd.org/current/reference/#_concepts_channels
type Channel string

const (
	// MetaHandshake is the Channel for the first message a new client sends.
	MetaHandshake Channel = "/meta/handshake"
	// MetaConnect is the Channel used for connect messages after a successful
	// handshake.
	MetaConnect Channel = "/meta/connect"
	// MetaDisconnect is the Channel used for disconnect messages.
	MetaDisconnect Channel = "/meta/disconnect"
	// MetaSubscribe is the Channel used by a client to subscribe to channels.
	MetaSubscribe Channel = "/meta/subscribe"
	// MetaUnsubscribe is the Channel used by a client to unsubscribe to
	// channels.
	MetaUnsubscribe Channel = "/meta/unsubscribe"
)

// ChannelType is used to define the three types of channels:
// - meta channels, channels starting with `/meta/`
// - service channels, channels starting with `/service/`
// - broadcast channels, all other channels
type ChannelType string

const (
	// MetaChannel represents the `/meta/` channel type
	MetaChannel ChannelType = "meta"
	// ServiceChannel represents the `/service/` channel type
	ServiceChannel ChannelType = "service"
	// BroadcastChannel represents all other channels
	BroadcastChannel ChannelType = "broadcast"
)

// Type provides the type of Channel this struct represents
func (c Channel) Type() ChannelType {
	switch {
	case strings.HasPrefix(string(c), "/meta/"):
		return MetaChannel
	case strings.HasPrefix(string(c), "/service/"):
		return ServiceChannel
	default:
		return BroadcastChannel
	}
}

// HasWildcard indicates whether the Channel ends with * or **
//
// See also: https://docs.cometd.org/current/reference/#_concepts_channels_wild
func (c Channel) HasWildcard() bool {
	return strings.HasSuffix(string(c), "/*") || strings.HasSuffix(string(c), "/**")
}

// IsValid reports whether c is a valid channel name or pattern: Validate
// returns nil.
func (c Channel) IsValid() bool { return c.Validate() == nil }

// Validate checks c against the Bayeux channel grammar: a leading "/", one or
// more non-empty segments of token characters (letters, digits and
// - _ ! ~ ( ) $ @ plus the characters CometD also allows: space # + . { } and
// *), and wildcards ("*" or "**") only as the whole last segment. It returns
// an *InvalidChannelError (errors.Is(err, ErrBadChannel)) describing the
// first problem.
func (c Channel) Validate() error {
	s := string(c)
	if s == "" || s[0] != '/' {
		return &InvalidChannelError{Channel: c, Reason: "must start with /"}
	}
	segs := strings.Split(s[1:], "/")
	for i, seg := range segs {
		if seg == "" {
			return &InvalidChannelError{Channel: c, Reason: "empty segment"}
		}
		if seg == "*" || seg == "**" {
			if i != len(segs)-1 {
				return &InvalidChannelError{Channel: c, Reason: "wildcard allowed only as the last segment"}
			}
			continue
		}
		for j := 0; j < len(seg); j++ {
			if !isChannelChar(seg[j]) {
				return &InvalidChannelError{Channel: c, Reason: "invalid character " + quoteByte(seg[j])}
			}
		}
	}
	return nil
}

// TopicPrefix starts the names of Salesforce's PushTopic channels
// ("/topic/<PushTopic name>"), the only channels ValidateSubscription
// allows a query part on.
const TopicPrefix = "/topic/"

// ValidateSubscription checks c as a channel to subscribe to (or
// unsubscribe from): a name or pattern Validate accepts, or a Salesforce
// filtered PushTopic channel, "/topic/<name>?<field>=<value>[&...]": a
// /topic/ channel name (no wildcard) followed by "?" and a non-empty query
// of printable ASCII characters. Salesforce delivers the events of a
// filtered subscription on the channel as subscribed, query included, and
// keeps their replay position under the channel without it (see Base). A
// query on any other channel is refused, since the Bayeux grammar has no
// "?": a server that is not Salesforce-like would refuse it too. It
// returns an *InvalidChannelError (errors.Is(err, ErrBadChannel)).
func (c Channel) ValidateSubscription() error {
	base, query, ok := strings.Cut(string(c), "?")
	if !ok {
		return c.Validate()
	}
	b := Channel(base)
	if err := b.Validate(); err != nil {
		return &InvalidChannelError{Channel: c, Reason: err.(*InvalidChannelError).Reason}
	}
	switch {
	case !strings.HasPrefix(base, TopicPrefix):
		return &InvalidChannelError{Channel: c, Reason: "a query (?...) is allowed only on a " + TopicPrefix + " channel (a Salesforce filtered PushTopic channel)"}
	case b.HasWildcard():
		return &InvalidChannelError{Channel: c, Reason: "a query (?...) is not allowed on a wildcard pattern"}
	case query == "":
		return &InvalidChannelError{Channel: c, Reason: "empty query after ?"}
	}
	for i := 0; i < len(query); i++ {
		if query[i] < 0x20 || query[i] >= 0x7f {
			return &InvalidChannelError{Channel: c, Reason: "invalid character " + quoteByte(query[i]) + " in the query"}
		}
	}
	return nil
}

// Base returns c without its query part: "/topic/Orders" for the filtered
// PushTopic channel "/topic/Orders?Status__c=Open", c itself when it has
// no "?".
func (c Channel) Base() Channel {
	if i := strings.IndexByte(string(c), '?'); i >= 0 {
		return c[:i]
	}
	return c
}

func quoteByte(b byte) string {
	if b < 0x20 || b >= 0x7f {
		const hex = "0123456789abcdef"
		return string([]byte{'0', 'x', hex[b>>4], hex[b&0xf]})
	}
	return "'" + string(b) + "'"
}

// isChannelChar reports whether b may appear in a channel segment: the
// union of the Bayeux token grammar and the CometD validator, without "*"
// (wildcards are whole segments).
func isChannelChar(b byte) bool {
	switch {
	case b >= 'a' && b <= 'z', b >= 'A' && b <= 'Z', b >= '0' && b <= '9':
		return true
	}
	switch b {
	case '-', '_', '!', '~', '(', ')', '$', '@', ' ', '#', '+', '.', '{', '}':
		return true
	}
	return false
}

// Match checks if a given Channel matches this Channel. Note wildcards are
// only valid after the last /.
//
// See also: https://docs.cometd.org/current/reference/#_concepts_channels_wild
func (c Channel) Match(other Channel) bool { return c.MatchString(string(other)) }

// MatchString checks if a given string matches this Channel: exactly, or
// through a trailing "*" (one segment) or "**" (one or more segments). "/**"
// matches every channel. Note wildcards are only valid after the last /.
//
// See also: https://docs.cometd.org/current/reference/#_concepts_channels_wild
func (c Channel) MatchString(name string) bool {
	p := string(c)
	switch {
	case strings.HasSuffix(p, "/**"):
		prefix := p[:len(p)-2] // keeps the trailing "/"
		return len(name) > len(prefix) && strings.HasPrefix(name, prefix)
	case strings.HasSuffix(p, "/*"):
		prefix := p[:len(p)-1]
		if len(name) <= len(prefix) || !strings.HasPrefix(name, prefix) {
			return false
		}
		return strings.IndexByte(name[len(prefix):], '/') < 0
	default:
		return p == name
	}
}
