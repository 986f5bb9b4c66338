package otelbayeux_test

import (
	"context"
	"testing"
	"time"

	"github.com/bayeux-go/sdk/bayeux"
	"github.com/bayeux-go/sdk/bayeux/bayeuxtest"
	otelbayeux "github.com/bayeux-go/sdk/contrib/otel"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

// A wildcard subscription is one series named by its pattern, whatever
// the channels it matched; a slow one counts its drops and its queue's
// high-water mark.
func TestSubscriptionMetricsByPattern(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	srv := bayeuxtest.NewServer(bayeuxtest.WithTimeout(300 * time.Millisecond))
	defer srv.Close()
	c, err := bayeux.NewClient(srv.URL, bayeux.WithDeliveryQueue(2, bayeux.OverflowDrop))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Disconnect(context.Background())
	if err := c.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer mp.Shutdown(context.Background())

	got := make(chan struct{}, 16)
	orders, err := c.Subscribe(ctx, "/orders/*", func(bayeux.Message) { got <- struct{}{} })
	if err != nil {
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
	for _, s := range []*bayeux.Subscription{orders, slow} {
		reg, err := otelbayeux.RegisterSubscription(s, mp)
		if err != nil {
			t.Fatal(err)
		}
		defer reg.Unregister()
	}
	for _, ch := range []bayeux.Channel{"/orders/a", "/orders/b", "/orders/c"} {
		if err := c.Publish(ctx, ch, 1); err != nil {
			t.Fatal(err)
		}
	}
	for range 3 {
		<-got
	}
	overflowSlow(ctx, t, c, slow, entered, release)

	var rm metricdata.ResourceMetrics
	if err := reader.Collect(ctx, &rm); err != nil {
		t.Fatal(err)
	}
	dest := func(s string) attribute.KeyValue { return attribute.String("messaging.destination.name", s) }
	out := func(s string) attribute.KeyValue { return attribute.String("outcome", s) }
	if v := sum(t, rm, "bayeux.subscription.consumed.messages", dest("/orders/*"), out("delivered")); v != 3 {
		t.Errorf("/orders/* delivered %d, want 3", v)
	}
	st := slow.Stats()
	if v := sum(t, rm, "bayeux.subscription.consumed.messages", dest("/slow"), out("dropped")); v != int64(st.Dropped) || v == 0 {
		t.Errorf("/slow dropped %d, want %d (and some)", v, st.Dropped)
	}
	if v := sum(t, rm, "bayeux.subscription.queue.high_water", dest("/slow")); v != int64(st.QueueHighWater) || v < 2 {
		t.Errorf("/slow high-water %d, want %d, at least 2", v, st.QueueHighWater)
	}
	if v := sum(t, rm, "bayeux.subscription.queue.size", dest("/slow")); v != int64(st.Queued) {
		t.Errorf("/slow queue %d, want %d", v, st.Queued)
	}
	series := 0
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name == "bayeux.subscription.consumed.messages" {
				series = len(m.Data.(metricdata.Sum[int64]).DataPoints)
			}
		}
	}
	if series != 4 {
		t.Errorf("%d consumed series, want 4 (two subscriptions, two outcomes)", series)
	}
}
