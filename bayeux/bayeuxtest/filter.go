package bayeuxtest

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/bayeux-go/sdk/bayeux"
)

// Salesforce's filtered PushTopic channels, "/topic/<name>?<field>=<value>
// [&<field>=<value>...]", served when the server is Salesforce-like
// (WithOneChannelSubscriptions or WithBearerAuth): a subscription to one
// gets the events published on "/topic/<name>" whose fields all have the
// values of the query, on the channel as subscribed (query included).
// A field is looked up in the event's data.sobject (a PushTopic event),
// then data.payload (PublishEvent's shape), then data itself, and compared
// as text. Replay ids are those of "/topic/<name>", and the replay ext of
// the subscribe names the channel without its query, as Salesforce keys
// it.

// salesforceLike reports whether the server plays Salesforce.
func (s *Server) salesforceLike() bool { return s.cfg.oneChannel || s.cfg.auth != nil }

// publishFilteredLocked delivers ev, published on a /topic/ channel, to
// the filtered subscriptions to that channel whose query it matches.
func (s *Server) publishFilteredLocked(ev bayeux.Message, exclude *session, deferred *[]*session) {
	if len(s.index.filtered) == 0 || ev.Channel.Base() != ev.Channel {
		return
	}
	for ch := range s.index.filtered {
		if ch.Base() != ev.Channel || !filterMatches(ch, ev.Data) {
			continue
		}
		cp := ev
		cp.Channel = ch
		p := s.newPush(cp)
		for _, sess := range s.index.byName[ch].list {
			wake := sess != exclude
			s.deliverPushLocked(sess, p, wake)
			if !wake && deferred != nil {
				*deferred = append(*deferred, sess)
			}
		}
	}
}

// appendFiltered appends ev to backlog, on channel ch, if ch has no query
// or ev matches it.
func appendFiltered(backlog []bayeux.Message, ch bayeux.Channel, ev bayeux.Message) []bayeux.Message {
	if ch.Base() == ch {
		return append(backlog, ev)
	}
	if !filterMatches(ch, ev.Data) {
		return backlog
	}
	ev.Channel = ch
	return append(backlog, ev)
}

// filterMatches reports whether the event data matches every
// field=value pair of ch's query.
func filterMatches(ch bayeux.Channel, data json.RawMessage) bool {
	_, query, _ := strings.Cut(string(ch), "?")
	var top map[string]any
	if json.Unmarshal(data, &top) != nil {
		return false
	}
	fields := top
	for _, k := range []string{"sobject", "payload"} {
		if m, ok := top[k].(map[string]any); ok {
			fields = m
			break
		}
	}
	for pair := range strings.SplitSeq(query, "&") {
		k, want, _ := strings.Cut(pair, "=")
		v, ok := fields[k]
		if !ok || fmt.Sprint(v) != want {
			return false
		}
	}
	return true
}
