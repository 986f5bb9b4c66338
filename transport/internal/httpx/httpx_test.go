package httpx

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/bayeux-go/sdk/bayeux"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestFIFOOrderAndCancel(t *testing.T) {
	var f fifo
	ctx := context.Background()
	if err := f.lock(ctx); err != nil {
		t.Fatal(err)
	}
	var (
		mu    sync.Mutex
		order []int
		wg    sync.WaitGroup
	)
	cctx, cancel := context.WithCancel(ctx)
	for i := 1; i <= 5; i++ {
		c := ctx
		if i == 3 {
			c = cctx // gives up while waiting
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := f.lock(c); err != nil {
				if i != 3 || !errors.Is(err, context.Canceled) {
					t.Errorf("waiter %d: %v", i, err)
				}
				return
			}
			mu.Lock()
			order = append(order, i)
			mu.Unlock()
			f.unlock()
		}()
		for f.waiting() != i {
			time.Sleep(time.Millisecond)
		}
	}
	cancel()
	for f.waiting() != 4 {
		time.Sleep(time.Millisecond)
	}
	f.unlock()
	wg.Wait()
	if got := order; len(got) != 4 || got[0] != 1 || got[1] != 2 || got[2] != 4 || got[3] != 5 {
		t.Fatalf("order %v, want [1 2 4 5]", got)
	}
	if f.held || f.waiting() != 0 {
		t.Fatalf("lock still held after all waiters: held=%v waiting=%d", f.held, f.waiting())
	}
}

// A waiter whose context ends just as the lock is handed to it passes the
// lock on instead of losing it.
func TestFIFOCancelRace(t *testing.T) {
	for i := 0; i < 200; i++ {
		var f fifo
		_ = f.lock(context.Background())
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() {
			err := f.lock(ctx)
			if err == nil {
				f.unlock()
			}
			done <- err
		}()
		for f.waiting() != 1 {
			time.Sleep(10 * time.Microsecond)
		}
		go cancel()
		f.unlock()
		<-done
		// Whatever happened, the lock must be free now.
		c2, cancel2 := context.WithTimeout(context.Background(), 10*time.Second)
		if err := f.lock(c2); err != nil {
			t.Fatalf("lock lost: %v", err)
		}
		cancel2()
		cancel()
	}
}
func TestRetryable(t *testing.T) {
	m := func(chs ...bayeux.Channel) []bayeux.Message {
		var out []bayeux.Message
		for _, c := range chs {
			out = append(out, bayeux.Message{Channel: c})
		}
		return out
	}
	tests := []struct {
		msgs []bayeux.Message
		want bool
	}{
		{nil, false},
		{m(bayeux.MetaConnect), true},
		{m(bayeux.MetaHandshake, bayeux.MetaSubscribe), true},
		{m(bayeux.MetaUnsubscribe, bayeux.MetaDisconnect), true},
		{m(bayeux.MetaSubscribe, "/foo"), false},
		{m("/service/echo"), false},
		{m("/meta/other"), false},
	}
	for _, tt := range tests {
		if got := Retryable(tt.msgs); got != tt.want {
			t.Errorf("Retryable(%v) = %v", tt.msgs, got)
		}
	}
	if !IsLoneConnect(m(bayeux.MetaConnect)) || IsLoneConnect(m(bayeux.MetaConnect, bayeux.MetaSubscribe)) || IsLoneConnect(m("/foo")) {
		t.Error("IsLoneConnect")
	}
}

// Close cancels, with bayeux.ErrClosed as the cause, the context of a
// batch holding a lane and the wait of a batch queued behind it; release
// frees the lane once, however often it is called; Acquire after Close
// fails at once.
func TestEngineCloseCancelsLeases(t *testing.T) {
	e := NewEngine(DefaultSettings("long-polling"))
	if err := e.Init(bayeux.TransportConfig{}); err != nil {
		t.Fatal(err)
	}
	batch := []bayeux.Message{{Channel: "/a"}}
	ctx := context.Background()
	rctx, release, err := e.Acquire(ctx, batch)
	if err != nil {
		t.Fatal(err)
	}
	release()
	release() // a second call must not unlock the lane again
	rctx2, release2, err := e.Acquire(ctx, batch)
	if err != nil {
		t.Fatal(err)
	}
	if rctx.Err() == nil {
		t.Fatal("a released lease's context is still live")
	}
	waited := make(chan error, 1)
	go func() {
		_, _, err := e.Acquire(ctx, batch)
		waited <- err
	}()
	for e.Waiting() == 0 {
		time.Sleep(time.Millisecond)
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	<-rctx2.Done()
	if cause := context.Cause(rctx2); !errors.Is(cause, bayeux.ErrClosed) {
		t.Fatalf("cause %v, want ErrClosed", cause)
	}
	if err := <-waited; !errors.Is(err, bayeux.ErrClosed) {
		t.Fatalf("queued Acquire: %v, want ErrClosed", err)
	}
	release2()
	if _, _, err := e.Acquire(ctx, batch); !errors.Is(err, bayeux.ErrClosed) {
		t.Fatalf("Acquire after Close: %v", err)
	}
	e.leaseMu.Lock()
	n := len(e.leases)
	e.leaseMu.Unlock()
	if n != 0 {
		t.Fatalf("%d leases left", n)
	}
}
