package httpx

import (
	"context"
	"sync"
)

// fifo is a mutual-exclusion lock granted in arrival order, whose waiters
// give up when their context ends. The zero value is unlocked.
type fifo struct {
	mu      sync.Mutex
	held    bool
	waiters []chan struct{}
}

// lock acquires f, waiting behind earlier callers. It returns ctx's error,
// without holding the lock, if ctx ends first.
func (f *fifo) lock(ctx context.Context) error {
	f.mu.Lock()
	if !f.held {
		f.held = true
		f.mu.Unlock()
		return nil
	}
	ch := make(chan struct{}, 1)
	f.waiters = append(f.waiters, ch)
	f.mu.Unlock()
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
	}
	f.mu.Lock()
	for i, w := range f.waiters {
		if w == ch {
			f.waiters = append(f.waiters[:i], f.waiters[i+1:]...)
			f.mu.Unlock()
			return ctx.Err()
		}
	}
	f.mu.Unlock()
	// unlock handed us the lock between ctx ending and our removal: pass
	// it on.
	<-ch
	f.unlock()
	return ctx.Err()
}

// unlock releases f to the longest-waiting caller, if any.
func (f *fifo) unlock() {
	f.mu.Lock()
	if len(f.waiters) > 0 {
		ch := f.waiters[0]
		f.waiters[0] = nil
		f.waiters = f.waiters[1:]
		ch <- struct{}{} // buffered: never blocks
	} else {
		f.held = false
	}
	f.mu.Unlock()
}

// waiting returns the number of callers blocked in lock.
func (f *fifo) waiting() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.waiters)
}
