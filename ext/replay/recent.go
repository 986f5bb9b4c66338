package replay

// recentSize bounds the replay ids remembered per channel to recognize an
// event received again: it covers the events that can wait, received but
// not yet handled, in a subscription's queue when a resume starts (a
// queue holds up to bayeux.WithDeliveryQueue's size, 4,096 by default,
// but rarely more than a few). It costs about 50 bytes an id.
const recentSize = 4096

// recentIDs remembers the last recentSize replay ids of one channel
// passed on to the subscriptions.
type recentIDs struct {
	ring []int64 // in the order passed on; ring[next] is the oldest once full
	next int
	set  map[int64]struct{}
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
}

// forget makes id unknown again (its event was dropped unhandled and will
// come again). A copy of its ring entry may remain: when it is overwritten,
// a later copy of the event may pass as new (delivered twice, never lost).
func (r *recentIDs) forget(id int64) {
	delete(r.set, id)
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
