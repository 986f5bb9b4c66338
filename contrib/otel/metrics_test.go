package otelbayeux_test

import (
	"context"
	"testing"
	"time"

	"github.com/bayeux-go/sdk/bayeux"
	"github.com/bayeux-go/sdk/bayeux/bayeuxtest"
	otelbayeux "github.com/bayeux-go/sdk/contrib/otel"
	"github.com/bayeux-go/sdk/internal/testenv"
	_ "github.com/bayeux-go/sdk/transport/longpoll"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

// overflowSlow publishes 8 events to /slow in one batch, whose handler
// waits on release once it has entered: the subscription's queue
// overflows. It returns once every event was delivered or dropped.
func overflowSlow(ctx context.Context, t *testing.T, c *bayeux.Client, slow *bayeux.Subscription, entered <-chan struct{}, release chan struct{}) {
	t.Helper()
	b := c.Batch()
	for i := range 8 {
		b.Publish("/slow", i)
	}
	if err := b.Send(ctx); err != nil {
		t.Fatal(err)
	}
	<-entered
	testenv.Eventually(t, "the drops", func() bool { return slow.Dropped() > 0 })
	close(release)
	testenv.Eventually(t, "the slow queue drained", func() bool { return slow.Stats().Queued == 0 && slow.Delivered()+slow.Dropped() == 8 })
}

// sum finds the value of the counter name at the data point whose
// attributes include every one of want.
func sum(t *testing.T, rm metricdata.ResourceMetrics, name string, want ...attribute.KeyValue) int64 {
	t.Helper()
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name != name {
				continue
			}
			var dps []metricdata.DataPoint[int64]
			switch d := m.Data.(type) {
			case metricdata.Sum[int64]:
				dps = d.DataPoints
			case metricdata.Gauge[int64]:
				dps = d.DataPoints
			}
		points:
			for _, dp := range dps {
				for _, kv := range want {
					if v, ok := dp.Attributes.Value(kv.Key); !ok || v != kv.Value {
						continue points
					}
				}
				return dp.Value
			}
		}
	}
	t.Fatalf("no %s with %v", name, want)
	return 0
}

// The metrics count exactly what happened: events published through
// bayeuxtest, one expired session, events dropped by a slow handler.
func TestMetricsCountWhatHappened(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	srv := bayeuxtest.NewServer(bayeuxtest.WithTimeout(300 * time.Millisecond))
	defer srv.Close()
	c, err := bayeux.NewClient(srv.URL, bayeux.WithBackoff(20*time.Millisecond, 200*time.Millisecond),
		bayeux.WithDeliveryQueue(2, bayeux.OverflowDrop))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Disconnect(context.Background())
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer mp.Shutdown(context.Background())
	reg, err := otelbayeux.Register(c, mp)
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Unregister()
	if err := c.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	got := make(chan bayeux.Message, 64)
	if _, err := c.Subscribe(ctx, "/fast", func(m bayeux.Message) { got <- m }); err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	entered := make(chan struct{}, 1)
	slow, err := c.Subscribe(ctx, "/slow", func(bayeux.Message) {
		select {
		case entered <- struct{}{}:
		default:
		}
		<-release
	})
	if err != nil {
		t.Fatal(err)
	}
	const n = 10
	for i := range n {
		if err := c.Publish(ctx, "/fast", i); err != nil {
			t.Fatal(err)
		}
	}
	for range n {
		<-got
	}
	id := c.ClientID()
	srv.ExpireSession(id)
	testenv.Eventually(t, "a new session", func() bool { id2 := c.ClientID(); return id2 != "" && id2 != id })
	testenv.Eventually(t, "/slow renewed", func() bool { return slow.State() == bayeux.SubscriptionSubscribed })
	overflowSlow(ctx, t, c, slow, entered, release)

	var rm metricdata.ResourceMetrics
	if err := reader.Collect(ctx, &rm); err != nil {
		t.Fatal(err)
	}
	out := func(s string) attribute.KeyValue { return attribute.String("outcome", s) }
	delivered := sum(t, rm, "messaging.client.consumed.messages", out("delivered"))
	dropped := sum(t, rm, "messaging.client.consumed.messages", out("dropped"), attribute.String("error.type", "queue_full"))
	if want := int64(n) + int64(slow.Delivered()); delivered != want {
		t.Errorf("delivered %d, want %d", delivered, want)
	}
	if dropped != int64(slow.Dropped()) || dropped == 0 || delivered+dropped != n+8 {
		t.Errorf("dropped %d (subscription says %d), delivered %d; want delivered+dropped = %d", dropped, slow.Dropped(), delivered, n+8)
	}
	if v := sum(t, rm, "messaging.client.sent.messages", out("sent"), attribute.String("messaging.system", "bayeux")); v != n+8 {
		t.Errorf("sent %d, want %d", v, n+8)
	}
	if v := sum(t, rm, "bayeux.client.handshakes", attribute.String("kind", "rehandshake")); v != 1 {
		t.Errorf("re-handshakes %d, want 1", v)
	}
	if v := sum(t, rm, "bayeux.client.handshakes", attribute.String("kind", "first")); v != 1 {
		t.Errorf("first handshakes %d, want 1", v)
	}
	if v := sum(t, rm, "bayeux.client.queue.size"); v != 0 {
		t.Errorf("queue size %d, want 0", v)
	}
}
