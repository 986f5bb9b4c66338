package bayeux

import (
	"fmt"
	"sync"
)

// maxPendingReports bounds the errors waiting for the error handler; more
// are counted and reported as one *DroppedReportsError once the handler
// catches up.
const maxPendingReports = 64

// DroppedReportsError is passed to the error handler after it fell behind:
// Count errors were not reported because maxPendingReports (64) were
// already waiting. It matches ErrSlowConsumer.
type DroppedReportsError struct {
	Count int
}

// Error implements the error interface.
func (e *DroppedReportsError) Error() string {
	return fmt.Sprintf("bayeux: error handler too slow, %d reports dropped", e.Count)
}

// Is matches ErrSlowConsumer.
func (e *DroppedReportsError) Is(target error) bool { return target == ErrSlowConsumer }

// reportQueue runs the user's state and error callbacks in order, outside
// every lock, on a goroutine that exists only while there is something to
// run. State changes are always queued (there are few); errors are
// bounded.
type reportQueue struct {
	track   *tracker
	onError func(error)       // may be nil
	onState func(StateChange) // may be nil

	// mu guards the fields below.
	mu      sync.Mutex
	items   []report
	errs    int // errors in items
	dropped int // errors not queued since the last DroppedReportsError
	running bool
	closed  bool
}

type report struct {
	err   error
	state StateChange
}

// error queues err for the error handler.
func (q *reportQueue) error(err error) {
	if q.onError == nil {
		return
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return
	}
	if q.errs >= maxPendingReports {
		q.dropped++
		return
	}
	q.errs++
	q.items = append(q.items, report{err: err})
	q.startLocked()
}

// state queues a state change for the state listener.
func (q *reportQueue) state(ch StateChange) {
	if q.onState == nil {
		return
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return
	}
	q.items = append(q.items, report{state: ch})
	q.startLocked()
}

func (q *reportQueue) startLocked() {
	if !q.running {
		q.running = q.track.spawnUser(q.run)
	}
}

// close stops queueing; what is queued still runs.
func (q *reportQueue) close() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
}

func (q *reportQueue) run() {
	for {
		q.mu.Lock()
		items := q.items
		q.items = nil
		q.errs = 0
		if len(items) == 0 && q.dropped > 0 {
			items = []report{{err: &DroppedReportsError{Count: q.dropped}}}
			q.dropped = 0
		}
		if len(items) == 0 {
			q.running = false
			q.mu.Unlock()
			return
		}
		q.mu.Unlock()
		for _, r := range items {
			q.call(r)
		}
	}
}

// call runs one callback; a panic in it is recovered (there is nowhere
// to report it).
func (q *reportQueue) call(r report) {
	defer func() { _ = recover() }()
	if r.err != nil {
		q.onError(r.err)
	} else {
		q.onState(r.state)
	}
}
