package replay_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/bayeux-go/sdk/bayeux"
	"github.com/bayeux-go/sdk/bayeux/bayeuxtest"
	"github.com/bayeux-go/sdk/ext/replay"
	"github.com/bayeux-go/sdk/transport/longpoll"
	"github.com/bayeux-go/sdk/transport/websocket"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const orders bayeux.Channel = "/event/Order__e"

func testCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// gate holds the handshakes a bayeuxtest server receives while closed, so
// that a test can publish while a client has no session.
type gate struct {
	mu      sync.Mutex
	closed  bool
	release chan struct{}
	held    atomic.Int32
}

func (g *gate) close() {
	g.mu.Lock()
	g.closed, g.release = true, make(chan struct{})
	g.mu.Unlock()
}

func (g *gate) open() {
	g.mu.Lock()
	if g.closed {
		close(g.release)
	}
	g.closed = false
	g.mu.Unlock()
}

func (g *gate) extension() bayeuxtest.Extension {
	return bayeuxtest.ExtensionFuncs{In: func(m *bayeux.Message) {
		if m.Channel != bayeux.MetaHandshake {
			return
		}
		g.mu.Lock()
		closed, release := g.closed, g.release
		g.mu.Unlock()
		if closed {
			g.held.Add(1)
			<-release
		}
	}}
}

// salesforceServer is a bayeuxtest server shaped like Salesforce's
// Streaming API, with a handshake gate.
func salesforceServer(t *testing.T, g *gate) *bayeuxtest.Server {
	t.Helper()
	opts := []bayeuxtest.Option{bayeuxtest.WithReplay(0), bayeuxtest.WithOneChannelSubscriptions(true)}
	if g != nil {
		opts = append(opts, bayeuxtest.WithExtension(g.extension()))
	}
	srv := bayeuxtest.NewServer(opts...)
	t.Cleanup(func() {
		if g != nil {
			g.open()
		}
		srv.Close()
	})
	return srv
}

// errs collects what a client reports to its error handler.
type errs struct {
	mu   sync.Mutex
	list []error
}

func (e *errs) add(err error) {
	e.mu.Lock()
	e.list = append(e.list, err)
	e.mu.Unlock()
}

// invalidIDs returns the *replay.InvalidIDError reported.
func (e *errs) invalidIDs() []*replay.InvalidIDError {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []*replay.InvalidIDError
	for _, err := range e.list {
		if ie, ok := errors.AsType[*replay.InvalidIDError](err); ok {
			out = append(out, ie)
		}
	}
	return out
}

func newTransport(name string) bayeux.Transport {
	if name == "websocket" {
		return websocket.New()
	}
	return longpoll.New()
}

// connect starts a client of srv over the named transport with exts.
func connect(t *testing.T, srv *bayeuxtest.Server, transport string, reported *errs, exts ...bayeux.MessageExtender) *bayeux.Client {
	t.Helper()
	opts := []bayeux.Option{
		bayeux.WithTransports(newTransport(transport)),
		bayeux.WithBackoff(10*time.Millisecond, 100*time.Millisecond),
		bayeux.WithExtensions(exts...),
	}
	if reported != nil {
		opts = append(opts, bayeux.WithErrorHandler(reported.add))
	}
	c, err := bayeux.NewClient(srv.URL, opts...)
	if err != nil {
		t.Fatal(err)
	}
	ctx := testCtx(t)
	if err := c.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Disconnect(context.Background()) })
	return c
}

// connectWith starts a client of srv with opts, and disconnects it (and
// waits for Done) when the test ends.
func connectWith(t *testing.T, srv *bayeuxtest.Server, opts ...bayeux.Option) *bayeux.Client {
	t.Helper()
	return connectURL(t, srv.URL, opts...)
}

// connectURL is connectWith for a server at url.
func connectURL(t *testing.T, url string, opts ...bayeux.Option) *bayeux.Client {
	t.Helper()
	c, err := bayeux.NewClient(url, opts...)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Connect(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = c.Disconnect(context.Background())
		<-c.Done()
	})
	return c
}

// ids receives the replay ids of the events a subscription handles.
type ids struct {
	mu  sync.Mutex
	got []int64
	ch  chan int64
}

func newIDs() *ids { return &ids{ch: make(chan int64, 100)} }

func (r *ids) handle(m bayeux.Message) {
	id, ok := bayeux.RawInt(m.Data, "event", "replayId")
	if !ok {
		id = -100
	}
	r.mu.Lock()
	r.got = append(r.got, id)
	r.mu.Unlock()
	r.ch <- id
}

// until waits for the event with replay id last and returns every id
// handled so far.
func (r *ids) until(t *testing.T, last int64) []int64 {
	t.Helper()
	ctx := testCtx(t)
	for {
		select {
		case id := <-r.ch:
			if id == last {
				r.mu.Lock()
				defer r.mu.Unlock()
				return slices.Clone(r.got)
			}
		case <-ctx.Done():
			r.mu.Lock()
			defer r.mu.Unlock()
			t.Fatalf("event %d never arrived; got %v", last, r.got)
			return nil
		}
	}
}

func publish(t *testing.T, srv *bayeuxtest.Server, ch bayeux.Channel, n int) []int64 {
	t.Helper()
	out := make([]int64, n)
	for i := range out {
		id, err := srv.PublishEvent(ch, map[string]any{"Order_Number__c": i})
		if err != nil {
			t.Fatal(err)
		}
		out[i] = id
	}
	return out
}
