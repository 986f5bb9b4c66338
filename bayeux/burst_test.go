package bayeux_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bayeux-go/sdk/bayeux"
	"github.com/bayeux-go/sdk/bayeux/bayeuxtest"
	"github.com/bayeux-go/sdk/transport/longpoll"
)

// A burst of 20,000 events to one long-polling client with OverflowBlock
// arrives whole: the server answers the next /meta/connect with every
// queued event in one reply (as CometD and Faye do), which is more than
// MaxMessagesPerPayload; the client decodes it, queues it beyond the
// subscription's size, and waits for the queue to drain before the next
// connect. (Over a websocket the server pushes events outside connect
// replies, which OverflowBlock cannot hold back: see its documentation.)
func TestBurstOverflowBlock(t *testing.T) {
	for _, tc := range []struct {
		name string
		tr   func() bayeux.Transport
	}{
		{"long-polling", func() bayeux.Transport { return longpoll.New() }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			leakCheck(t)
			// A session outlives a slow drain under -race on a busy machine.
			srv := bayeuxtest.NewServer(bayeuxtest.WithTimeout(200*time.Millisecond), bayeuxtest.WithMaxInterval(time.Minute))
			defer srv.Close()
			var reported atomic.Value
			c, err := bayeux.NewClient(srv.URL, bayeux.WithHTTPClient(srv.Client()),
				bayeux.WithTransports(tc.tr()), bayeux.WithDeliveryQueue(64, bayeux.OverflowBlock),
				bayeux.WithErrorHandler(func(err error) { reported.CompareAndSwap(nil, err) }))
			if err != nil {
				t.Fatal(err)
			}
			ctx := ctxT(t)
			if err := c.Connect(ctx); err != nil {
				t.Fatal(err)
			}
			var got atomic.Int64
			gate := make(chan struct{})
			if _, err := c.Subscribe(ctx, "/burst", func(bayeux.Message) {
				<-gate // the queue fills, the client stops connecting, the server keeps the rest
				got.Add(1)
			}); err != nil {
				t.Fatal(err)
			}
			const n = 2 * bayeux.MaxMessagesPerPayload
			for i := range n {
				if err := srv.Publish("/burst", i); err != nil {
					t.Fatal(err)
				}
			}
			close(gate)
			eventually(t, "every event of the burst handled", func() bool {
				return got.Load() == n || reported.Load() != nil
			})
			if err, _ := reported.Load().(error); err != nil {
				t.Fatalf("after %d of %d events: %v", got.Load(), n, err)
			}
			if st := c.Stats(); st.Dropped.QueueFull != 0 || st.TransportFailures != 0 {
				t.Errorf("stats: %+v", st)
			}
			dctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			if err := c.Disconnect(dctx); err != nil {
				t.Fatal(err)
			}
		})
	}
}
