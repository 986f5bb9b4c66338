package transporttest_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bayeux-go/sdk/bayeux"
	"github.com/bayeux-go/sdk/transport/longpoll"
	"github.com/bayeux-go/sdk/transport/transporttest"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// fakeTB records the failures the harness reports.
type fakeTB struct {
	testing.TB
	mu   sync.Mutex
	errs []string
}

func (f *fakeTB) Helper() {}
func (f *fakeTB) Fail()   {}
func (f *fakeTB) Errorf(format string, args ...any) {
	f.mu.Lock()
	f.errs = append(f.errs, fmt.Sprintf(format, args...))
	f.mu.Unlock()
}

// failedChecks returns the names of the checks that reported failures.
func (f *fakeTB) failedChecks() map[string]bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make(map[string]bool)
	for _, e := range f.errs {
		name, _, _ := strings.Cut(e, ":")
		out[name] = true
	}
	return out
}

// broken wraps a long-polling transport and breaks one rule of the
// contract.
type broken struct {
	bayeux.Transport
	ignoreCtx  bool          // RoundTrip ignores its context
	noErrClose bool          // RoundTrip after Close returns another error
	serialize  *sync.Mutex   // one RoundTrip at a time
	leak       chan struct{} // Init starts a goroutine that ends only when closed
	closed     atomic.Bool
}

func (b *broken) Init(cfg bayeux.TransportConfig) error {
	if b.leak != nil {
		go func() { <-b.leak }()
	}
	return b.Transport.Init(cfg)
}

func (b *broken) RoundTrip(ctx context.Context, url string, msgs []bayeux.Message) ([]bayeux.Message, error) {
	if b.noErrClose && b.closed.Load() {
		return nil, &bayeux.TransportError{ConnectionType: b.Name(), Err: errors.New("closed")}
	}
	if b.ignoreCtx {
		ctx = context.Background()
	}
	if b.serialize != nil {
		b.serialize.Lock()
		defer b.serialize.Unlock()
	}
	out, err := b.Transport.RoundTrip(ctx, url, msgs)
	if b.noErrClose && errors.Is(err, bayeux.ErrClosed) {
		err = &bayeux.TransportError{ConnectionType: b.Name(), Err: errors.New("closed")}
	}
	return out, err
}

func (b *broken) Close() error {
	b.closed.Store(true)
	return b.Transport.Close()
}

// The harness passes a transport that keeps the contract and fails each
// broken one on the checks of the rule it breaks.
func TestHarnessCatchesBrokenTransports(t *testing.T) {
	leak := make(chan struct{})
	defer close(leak)
	tests := []struct {
		name string
		new  func() *broken
		want []string
	}{
		{"ignores ctx", func() *broken { return &broken{ignoreCtx: true} }, []string{"ContextCancel", "ContextDeadline", "CanceledContext"}},
		{"no ErrClosed", func() *broken { return &broken{noErrClose: true} }, []string{"CloseReleasesHeldConnect", "CloseBeforeUse"}},
		{"publish behind connect", func() *broken { return &broken{serialize: new(sync.Mutex)} }, []string{"PublishWhileConnectHeld"}},
		{"leaks a goroutine", func() *broken { return &broken{leak: leak} }, []string{"NoGoroutineLeak"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var mu *sync.Mutex
			ftb := &fakeTB{TB: t}
			transporttest.Check(ftb, func() bayeux.Transport {
				b := tt.new()
				if b.serialize != nil {
					if mu == nil {
						mu = b.serialize
					}
					b.serialize = mu
				}
				b.Transport = longpoll.New()
				return b
			}, transporttest.WithPromptness(500*time.Millisecond))
			got := ftb.failedChecks()
			for _, w := range tt.want {
				if !got[w] {
					t.Errorf("check %s did not fail; failures: %q", w, ftb.errs)
				}
			}
			if len(got) != len(tt.want) {
				t.Logf("failures: %q", ftb.errs)
			}
		})
	}
}

func TestHarnessPassesLongPolling(t *testing.T) {
	ftb := &fakeTB{TB: t}
	transporttest.Check(ftb, func() bayeux.Transport { return longpoll.New() })
	if len(ftb.errs) > 0 {
		t.Fatalf("failures: %q", ftb.errs)
	}
}
