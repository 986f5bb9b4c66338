package replay

// recentSize bounds the replay ids remembered per channel to recognize an
// event received again: it covers the events that can wait, received but
// not yet handled, in a subscription's queue when a resume starts (a
// queue holds up to bayeux.WithDeliveryQueue's size, 4,096 by default,
// but rarely more than a few). It costs about 50 bytes an id.
const recentSize = 4096

// recentIDs remembers the last recentSize replay ids of one channel
// passed on to the subscriptions.
//
// It also keeps a floor: the greatest id passed on when the channel was
// last subscribed again (a resume). The server then sends the events after
// the stored position in order, and every one up to the floor was passed
// on before (an answer lost on the way back held only newer events, and
// nothing after it was delivered): a copy, however many the queue held,
// beyond the window of remembered ids. Events dropped unhandled (forget)
// lower the next floor below them, so that they pass when they come again.
type recentIDs struct {
	ring []int64 // in the order passed on; ring[next] is the oldest once full
	next int
	set  map[int64]struct{}

	max      int64 // the greatest id passed on (valid when any is)
	any      bool
	floor    int64 // ids up to floor are copies (valid when hasFloor)
	hasFloor bool
	limit    int64 // the next floor is at most limit (valid when limited)
	limited  bool
}

// copyOf reports whether id was passed on already: at most the floor, or
// among the ids remembered.
func (r *recentIDs) copyOf(id int64) bool {
	return r.hasFloor && id <= r.floor || r.seen(id)
}

// resubscribed sets the floor as the channel is subscribed again.
func (r *recentIDs) resubscribed() {
	if !r.any {
		return
	}
	r.floor, r.hasFloor = r.max, true
	if r.limited {
		r.floor = min(r.floor, r.limit)
	}
	r.limited = false
}

// seen reports whether id is one of the ids remembered.
func (r *recentIDs) seen(id int64) bool {
	_, ok := r.set[id]
	return ok
}

// add remembers id, forgetting the oldest id beyond recentSize.
func (r *recentIDs) add(id int64) {
	if r.set == nil {
		r.set = make(map[int64]struct{})
	}
	if len(r.ring) < recentSize {
		r.ring = append(r.ring, id)
	} else {
		delete(r.set, r.ring[r.next])
		r.ring[r.next] = id
		r.next = (r.next + 1) % recentSize
	}
	r.set[id] = struct{}{}
	if !r.any || id > r.max {
		r.max, r.any = id, true
	}
}

// forget makes id unknown again (its event was dropped unhandled and will
// come again). A copy of its ring entry may remain: when it is overwritten,
// a later copy of the event may pass as new (delivered twice, never lost).
func (r *recentIDs) forget(id int64) {
	delete(r.set, id)
	if !r.limited || id-1 < r.limit {
		r.limit, r.limited = id-1, true
	}
}

// oldestID returns the oldest id remembered (false when none is, or r is
// nil).
func (r *recentIDs) oldestID() (int64, bool) {
	switch {
	case r == nil || len(r.ring) == 0:
		return 0, false
	case len(r.ring) < recentSize:
		return r.ring[0], true
	}
	return r.ring[r.next], true
}
