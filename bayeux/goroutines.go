package bayeux

import (
	"context"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
)

// tracker counts a client's goroutines so that Disconnect can wait for
// them and Done can close when the last one exits.
type tracker struct {
	waiters atomic.Int32 // goroutines in wait

	// mu guards the fields below.
	mu       sync.Mutex
	n        int           // running goroutines
	finished bool          // shutdown is over: no new goroutine starts
	changed  chan struct{} // closed and replaced when n changes while someone waits
	done     chan struct{} // closed when finished and n == 0
}

func newTracker() *tracker {
	return &tracker{changed: make(chan struct{}), done: make(chan struct{})}
}

// spawn runs f on a new goroutine, counted, unless shutdown is over.
func (t *tracker) spawn(f func()) bool {
	t.mu.Lock()
	if t.finished {
		t.mu.Unlock()
		return false
	}
	t.n++
	t.mu.Unlock()
	go func() {
		defer t.exit()
		f()
	}()
	return true
}

func (t *tracker) exit() {
	t.mu.Lock()
	t.n--
	t.broadcastLocked()
	t.mu.Unlock()
}

func (t *tracker) broadcastLocked() {
	if t.finished && t.n == 0 {
		select {
		case <-t.done:
		default:
			close(t.done)
		}
	}
	if t.waiters.Load() > 0 {
		close(t.changed)
		t.changed = make(chan struct{})
	}
}

// finish marks shutdown over: Done closes once every goroutine exited.
func (t *tracker) finish() {
	t.mu.Lock()
	t.finished = true
	t.broadcastLocked()
	t.mu.Unlock()
}

// running returns the number of running goroutines.
func (t *tracker) running() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.n
}

// wait waits until at most own goroutines run (the caller's, when it is
// one of them), or until ctx ends; it reports whether the others exited.
func (t *tracker) wait(ctx context.Context, own int) bool {
	t.waiters.Add(1)
	defer t.waiters.Add(-1)
	for {
		t.mu.Lock()
		left := t.n - own
		ch := t.changed
		t.mu.Unlock()
		if left <= 0 {
			return true
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return false
		}
	}
}

// onCallbackGoroutine reports whether the caller runs user code on one of
// the goroutines that call handlers, listeners and callbacks: Disconnect
// called from there must not wait for its own goroutine. It looks for the
// delivery functions in the caller's own call stack.
func onCallbackGoroutine() bool {
	pcs := make([]uintptr, 64)
	for {
		n := runtime.Callers(2, pcs)
		if n < len(pcs) {
			pcs = pcs[:n]
			break
		}
		pcs = make([]uintptr, 2*len(pcs))
	}
	frames := runtime.CallersFrames(pcs)
	for {
		f, more := frames.Next()
		if strings.HasSuffix(f.Function, "bayeux.(*Subscription).run") ||
			strings.HasSuffix(f.Function, "bayeux.(*reportQueue).run") {
			return true
		}
		if !more {
			return false
		}
	}
}
