package bayeuxtest

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/bayeux-go/sdk/bayeux"
	"github.com/bayeux-go/sdk/internal/extfield"
)

// Replay starting points a subscriber may give instead of an event's
// replay id, as Salesforce defines them.
const (
	// ReplayNew (-1) asks for the events published after the subscription
	// only.
	ReplayNew int64 = -1
	// ReplayAll (-2) asks for every retained event of the channel, then the
	// new ones.
	ReplayAll int64 = -2
)

// ErrReplayDisabled is returned by PublishEvent when the server was built
// without WithReplay.
var ErrReplayDisabled = errors.New("bayeuxtest: replay log not enabled (WithReplay)")

// WithReplay turns on a replay event log shaped like Salesforce's
// Streaming API (PushTopics, Platform Events, Change Data Capture). Events
// published with PublishEvent get a replay id (increasing across the
// server, so not contiguous on one channel) and are retained for retention
// (zero or negative: until ExpireEvents drops them). A session whose
// handshake carries ext {"replay": true} gets ext {"replay": true,
// "payload.format": true} back, and each of its /meta/subscribe messages
// may carry ext {"replay": {"<channel>": id}}:
//
//   - -1 (ReplayNew, also the default when the channel is not in the map):
//     new events only;
//   - -2 (ReplayAll): every retained event of the channel, then new ones;
//   - the replay id of a retained event of the channel: the events after
//     it, then new ones.
//
// Any other id (never published on the channel, or expired) fails the
// subscription with Salesforce's error
// "400::The replayId {N} you provided was invalid.  Please provide a valid
// ID, -2 to replay all events, or -1 for new events." Replayed events
// follow the subscribe reply. Only exact channel names are replayed, not
// wildcard patterns. Sessions that did not ask for the extension get new
// events only.
func WithReplay(retention time.Duration) Option {
	return func(c *config) {
		c.replay = true
		c.retention = retention
	}
}

// WithOneChannelSubscriptions makes the server accept only subscriptions
// naming one channel as a JSON string, as Salesforce does: a
// /meta/subscribe or /meta/unsubscribe whose subscription is an array
// fails with "400::<bayeuxtest's reason>". It also serves Salesforce's
// filtered PushTopic channels ("/topic/Orders?Status__c=Open"), as
// WithBearerAuth does: a subscription to one gets the events published on
// the /topic/ channel whose fields have the query's values, on the
// channel as subscribed; its replay id is given under the channel
// without the query. Default off.
func WithOneChannelSubscriptions(on bool) Option {
	return func(c *config) { c.oneChannel = on }
}

// replayLog holds the retained events, guarded by Server.mu.
type replayLog struct {
	lastID int64
	events map[bayeux.Channel][]replayEvent
}

type replayEvent struct {
	id  int64
	at  time.Time
	msg bayeux.Message
}

// invalidReplayError is Salesforce's error for an unknown or expired
// replay id.
func invalidReplayError(id int64) string {
	return "400::The replayId {" + strconv.FormatInt(id, 10) +
		"} you provided was invalid.  Please provide a valid ID, -2 to replay all events, or -1 for new events."
}

// PublishEvent publishes payload on channel through the replay log: the
// event's data is {"event": {"replayId": N, "createdDate": "<RFC 3339,
// UTC, milliseconds>"}, "payload": payload}, the shape of Salesforce's
// Platform Events and Change Data Capture events, and it is retained for
// replay. payload is encoded with encoding/json unless it is a
// json.RawMessage. It returns the replay id, or an error for an invalid,
// wildcard, meta or service channel, an unencodable payload, a server
// without WithReplay (ErrReplayDisabled) or a closed server.
func (s *Server) PublishEvent(channel bayeux.Channel, payload any) (int64, error) {
	raw, err := s.checkServerMessage(channel, payload)
	if err != nil {
		return 0, err
	}
	if !s.cfg.replay {
		return 0, ErrReplayDisabled
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return 0, ErrServerClosed
	}
	return s.publishEventLocked(bayeux.Message{Channel: channel}, raw, nil, nil), nil
}

// publishEventLocked wraps payload in an event of ev's channel (keeping
// ev's id and ext), retains it in the replay log and publishes it (see
// publishLocked for exclude and deferred). It returns the replay id.
func (s *Server) publishEventLocked(ev bayeux.Message, payload json.RawMessage, exclude *session, deferred *[]*session) int64 {
	now := time.Now()
	s.expireOldLocked(now)
	log := &s.replay
	log.lastID++
	id := log.lastID
	ev.Data = fmt.Appendf(nil, `{"event":{"replayId":%d,"createdDate":%q},"payload":%s}`,
		id, now.UTC().Format("2006-01-02T15:04:05.000Z"), payload)
	if log.events == nil {
		log.events = make(map[bayeux.Channel][]replayEvent)
	}
	log.events[ev.Channel] = append(log.events[ev.Channel], replayEvent{id: id, at: now, msg: ev})
	s.publishLocked(ev, exclude, deferred)
	return id
}

// WithReplayForPublishes makes the messages that clients publish on
// broadcast channels go through the replay log of WithReplay, as
// PublishEvent does: subscribers get {"event": {"replayId": N,
// "createdDate": ...}, "payload": <the published data>}, and the event is
// retained for replay. The publisher's reply is unchanged. Without
// WithReplay it has no effect. Default off.
func WithReplayForPublishes(on bool) Option {
	return func(c *config) { c.replayPublishes = on }
}

// ExpireEvents drops the retained events of channel whose replay id is at
// most upTo, as the end of Salesforce's retention window would: their ids
// become invalid for subscriptions. ExpireEvents(channel, math.MaxInt64)
// drops them all.
func (s *Server) ExpireEvents(channel bayeux.Channel, upTo int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	evs := s.replay.events[channel]
	i := 0
	for i < len(evs) && evs[i].id <= upTo {
		i++
	}
	if i > 0 {
		s.replay.events[channel] = append(evs[:0:0], evs[i:]...)
	}
}

// RetainedEvents returns the replay ids of the events of channel still
// retained, oldest first.
func (s *Server) RetainedEvents(channel bayeux.Channel) []int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expireOldLocked(time.Now())
	evs := s.replay.events[channel]
	ids := make([]int64, len(evs))
	for i, e := range evs {
		ids[i] = e.id
	}
	return ids
}

// expireOldLocked drops events older than the retention.
func (s *Server) expireOldLocked(now time.Time) {
	if s.cfg.retention <= 0 {
		return
	}
	for ch, evs := range s.replay.events {
		i := 0
		for i < len(evs) && now.Sub(evs[i].at) > s.cfg.retention {
			i++
		}
		if i > 0 {
			s.replay.events[ch] = append(evs[:0:0], evs[i:]...)
		}
	}
}

// replaySubscribeLocked applies the one-channel rule and, for a session
// using the replay extension, checks the replay ids of a /meta/subscribe
// and queues the events to replay. It returns an unsuccessful reply and
// false when the message must fail.
func (s *Server) replaySubscribeLocked(sess *session, m *bayeux.Message, sub bool) (bayeux.Message, bool) {
	if s.cfg.oneChannel && (m.SubscriptionIsArray() || len(m.Subscription) != 1) {
		r := s.errorReply(m, 0, "", "")
		r.Error = "400::subscription must be one channel name, as a string"
		return r, false
	}
	if !sub || !sess.replay {
		return bayeux.Message{}, true
	}
	ids, _ := m.Ext["replay"].(map[string]any)
	s.expireOldLocked(time.Now())
	var backlog []bayeux.Message
	for _, ch := range m.Subscription {
		// Salesforce keys the replay id of a filtered PushTopic channel
		// by the channel without its query.
		v, given := ids[string(ch.Base())]
		if !given || ch.HasWildcard() || ch.Type() != bayeux.BroadcastChannel {
			continue
		}
		id, ok := extfield.Int(v)
		if !ok {
			r := s.errorReply(m, 400, "", "replay id of "+string(ch)+" is not a number")
			return r, false
		}
		evs := s.replay.events[ch.Base()]
		switch id {
		case ReplayNew:
		case ReplayAll:
			for _, e := range evs {
				backlog = appendFiltered(backlog, ch, e.msg)
			}
		default:
			at := -1
			for i, e := range evs {
				if e.id == id {
					at = i
					break
				}
			}
			if at < 0 {
				r := s.errorReply(m, 0, "", "")
				r.Error = invalidReplayError(id)
				return r, false
			}
			for _, e := range evs[at+1:] {
				backlog = appendFiltered(backlog, ch, e.msg)
			}
		}
	}
	if len(backlog) > 0 {
		// Queued, not pushed: they follow the subscribe reply (or, with the
		// ack extension, ride on the next /meta/connect reply).
		sess.queue = append(sess.queue, backlog...)
		if sess.ack != nil {
			s.wakeLocked(sess)
		}
	}
	return bayeux.Message{}, true
}
