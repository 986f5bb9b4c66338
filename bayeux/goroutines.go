package bayeux

import (
	"context"
	"sync"
	"sync/atomic"
)

// tracker counts a client's goroutines in two kinds: its own (the session
// loop, reconcilers, background requests), which Disconnect waits for, and
// those that run user code (subscription handlers, the error and state
// callbacks), which it does not, as nats.go's Close does not wait for
// callbacks: a handler may call Disconnect and wait for it, from its own
// goroutine or another. Done closes when both kinds have exited.
type tracker struct {
	waiters atomic.Int32 // goroutines in waitOwn

	// mu guards the fields below.
	mu       sync.Mutex
	own      int           // running goroutines of the client's own
	user     int           // running goroutines that call user code
	finished bool          // shutdown is over: no new goroutine starts
	changed  chan struct{} // closed and replaced when own changes while someone waits
	done     chan struct{} // closed when finished and no goroutine runs
}

func newTracker() *tracker {
	return &tracker{changed: make(chan struct{}), done: make(chan struct{})}
}

// spawn runs f on a new goroutine of the client's own, unless shutdown is
// over.
func (t *tracker) spawn(f func()) bool { return t.start(f, false) }

// spawnUser runs f, which calls user code, on a new goroutine, unless
// shutdown is over.
func (t *tracker) spawnUser(f func()) bool { return t.start(f, true) }

func (t *tracker) start(f func(), user bool) bool {
	t.mu.Lock()
	if t.finished {
		t.mu.Unlock()
		return false
	}
	if user {
		t.user++
	} else {
		t.own++
	}
	t.mu.Unlock()
	go func() {
		defer t.exit(user)
		f()
	}()
	return true
}

func (t *tracker) exit(user bool) {
	t.mu.Lock()
	if user {
		t.user--
	} else {
		t.own--
	}
	t.broadcastLocked(!user)
	t.mu.Unlock()
}

func (t *tracker) broadcastLocked(ownChanged bool) {
	if t.finished && t.own == 0 && t.user == 0 {
		select {
		case <-t.done:
		default:
			close(t.done)
		}
	}
	if ownChanged && t.waiters.Load() > 0 {
		close(t.changed)
		t.changed = make(chan struct{})
	}
}

// finish marks shutdown over: Done closes once every goroutine exited.
func (t *tracker) finish() {
	t.mu.Lock()
	t.finished = true
	t.broadcastLocked(false)
	t.mu.Unlock()
}

// running returns the number of running goroutines of the client's own.
func (t *tracker) running() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.own
}

// waitOwn waits until no goroutine of the client's own runs, or until ctx
// ends; it reports whether they all exited. None of them ever waits for
// user code, so a handler may call it.
func (t *tracker) waitOwn(ctx context.Context) bool {
	t.waiters.Add(1)
	defer t.waiters.Add(-1)
	for {
		t.mu.Lock()
		left := t.own
		ch := t.changed
		t.mu.Unlock()
		if left == 0 {
			return true
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return false
		}
	}
}
