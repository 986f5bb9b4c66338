package bayeuxtest

import "github.com/bayeux-go/sdk/bayeux"

// subscribers are the sessions subscribed to one channel or pattern, in a
// slice (cheap to walk on every publish) with each session's position
// (cheap to remove).
type subscribers struct {
	list []*session
	pos  map[*session]int
}

// subIndex finds the sessions subscribed to a channel without scanning
// every session: each subscription (a channel name or a pattern, as the
// client sent it) lists its sessions, and the patterns are kept apart, to
// be matched against the channel of each publish. It is guarded by
// Server.mu and kept in step with session.subs.
type subIndex struct {
	byName   map[bayeux.Channel]*subscribers
	patterns map[bayeux.Channel]struct{} // the names of byName that hold a wildcard
	filtered map[bayeux.Channel]struct{} // the names of byName with a query (filter.go)
}

func newSubIndex() subIndex {
	return subIndex{byName: make(map[bayeux.Channel]*subscribers), patterns: make(map[bayeux.Channel]struct{}),
		filtered: make(map[bayeux.Channel]struct{})}
}

// add records that sess subscribed to ch.
func (x *subIndex) add(ch bayeux.Channel, sess *session) {
	subs := x.byName[ch]
	if subs == nil {
		subs = &subscribers{pos: make(map[*session]int)}
		x.byName[ch] = subs
		if ch.HasWildcard() {
			x.patterns[ch] = struct{}{}
		}
		if ch.Base() != ch {
			x.filtered[ch] = struct{}{}
		}
	}
	if _, ok := subs.pos[sess]; ok {
		return
	}
	subs.pos[sess] = len(subs.list)
	subs.list = append(subs.list, sess)
}

// remove forgets the subscription of sess to ch.
func (x *subIndex) remove(ch bayeux.Channel, sess *session) {
	subs := x.byName[ch]
	if subs == nil {
		return
	}
	i, ok := subs.pos[sess]
	if !ok {
		return
	}
	last := len(subs.list) - 1
	moved := subs.list[last]
	subs.list[i] = moved
	subs.pos[moved] = i
	subs.list[last] = nil
	subs.list = subs.list[:last]
	delete(subs.pos, sess)
	if len(subs.list) == 0 {
		delete(x.byName, ch)
		delete(x.patterns, ch)
		delete(x.filtered, ch)
	}
}

// count returns the number of sessions subscribed to exactly ch.
func (x *subIndex) count(ch bayeux.Channel) int {
	if subs := x.byName[ch]; subs != nil {
		return len(subs.list)
	}
	return 0
}

// subscribeLocked adds ch to the subscriptions of sess.
func (s *Server) subscribeLocked(sess *session, ch bayeux.Channel) {
	sess.subs[ch] = struct{}{}
	s.index.add(ch, sess)
}

// unsubscribeLocked removes ch from the subscriptions of sess.
func (s *Server) unsubscribeLocked(sess *session, ch bayeux.Channel) {
	delete(sess.subs, ch)
	s.index.remove(ch, sess)
}

// forEachSubscriberLocked calls fn once for every session with a
// subscription matching the channel name: subscribed to name itself, or
// to a pattern matching it (with the wildcard breaches of Misbehaviour).
func (s *Server) forEachSubscriberLocked(name string, fn func(*session)) {
	exact := s.index.byName[bayeux.Channel(name)]
	if exact != nil {
		for _, sess := range exact.list {
			fn(sess)
		}
	}
	var seen map[*session]struct{}
	for p := range s.index.patterns {
		if string(p) == name || !s.misMatch(p, name) {
			continue
		}
		if seen == nil {
			seen = make(map[*session]struct{})
			if exact != nil {
				for _, sess := range exact.list {
					seen[sess] = struct{}{}
				}
			}
		}
		for _, sess := range s.index.byName[p].list {
			if _, ok := seen[sess]; ok {
				continue
			}
			seen[sess] = struct{}{}
			fn(sess)
		}
	}
}
