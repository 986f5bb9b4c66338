package main

import (
	"context"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.uber.org/goleak"

	"github.com/bayeux-go/sdk/bayeux"
	"github.com/bayeux-go/sdk/bayeux/bayeuxtest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(5 * time.Second); time.Now().Before(end); time.Sleep(5 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

// value finds the counter or gauge name at the data point whose
// attributes include every one of want.
func value(t *testing.T, rm metricdata.ResourceMetrics, name string, want ...attribute.KeyValue) int64 {
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

// N events published through bayeuxtest, a session expired once, a slow
// handler that drops some: the OpenTelemetry metrics (read through a
// ManualReader) count exactly that, and the Prometheus endpoint serves
// the same instruments.
func TestMetricsCountWhatWasPublished(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	srv := bayeuxtest.NewServer(bayeuxtest.WithTimeout(300 * time.Millisecond))
	defer srv.Close()
	reader := sdkmetric.NewManualReader()
	mp, prom, err := newMetrics(reader)
	if err != nil {
		t.Fatal(err)
	}
	defer mp.Shutdown(context.Background())

	release := make(chan struct{})
	slow := func(bayeux.Message) { <-release }
	k, err := startConsumer(ctx, srv.URL, "/orders/*", mp, slow,
		bayeux.WithBackoff(20*time.Millisecond, 200*time.Millisecond), bayeux.WithDeliveryQueue(2, bayeux.OverflowDrop))
	if err != nil {
		t.Fatal(err)
	}
	defer k.close()
	pub, err := bayeux.NewClient(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Disconnect(context.Background())
	if err := pub.Connect(ctx); err != nil {
		t.Fatal(err)
	}

	// Before the expiry: n events in one batch, most dropped by the
	// blocked handler.
	const n = 20
	b := pub.Batch()
	for i := range n {
		b.Publish(bayeux.Channel("/orders/"+string(rune('a'+i%3))), i)
	}
	if err := b.Send(ctx); err != nil {
		t.Fatal(err)
	}
	eventually(t, "drops", func() bool { return k.sub.Dropped() > 0 })
	close(release)
	eventually(t, "the first batch handled", func() bool { return k.sub.Delivered()+k.sub.Dropped() == n })

	id := k.client.ClientID()
	srv.ExpireSession(id)
	eventually(t, "a new session", func() bool { id2 := k.client.ClientID(); return id2 != "" && id2 != id })
	eventually(t, "the subscription renewed", func() bool { return k.sub.State() == bayeux.SubscriptionSubscribed })
	// After it: n more, one at a time, all delivered.
	for i := range n {
		if err := pub.Publish(ctx, "/orders/z", i); err != nil {
			t.Fatal(err)
		}
		eventually(t, "the event", func() bool { return k.sub.Delivered()+k.sub.Dropped() == uint64(n+i+1) })
	}

	dropped := int64(k.sub.Dropped())
	if dropped == 0 || dropped > n-2 {
		t.Fatalf("%d dropped of the first %d", dropped, n)
	}
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(ctx, &rm); err != nil {
		t.Fatal(err)
	}
	out := func(s string) attribute.KeyValue { return attribute.String("outcome", s) }
	dest := attribute.String("messaging.destination.name", "/orders/*")
	if v := value(t, rm, "messaging.client.consumed.messages", out("delivered")); v != 2*n-dropped {
		t.Errorf("delivered %d, want %d", v, 2*n-dropped)
	}
	if v := value(t, rm, "messaging.client.consumed.messages", out("dropped"), attribute.String("error.type", "queue_full")); v != dropped {
		t.Errorf("dropped %d, want %d", v, dropped)
	}
	if v := value(t, rm, "bayeux.subscription.consumed.messages", dest, out("delivered")); v != 2*n-dropped {
		t.Errorf("/orders/* delivered %d, want %d", v, 2*n-dropped)
	}
	if v := value(t, rm, "bayeux.subscription.consumed.messages", dest, out("dropped")); v != dropped {
		t.Errorf("/orders/* dropped %d, want %d", v, dropped)
	}
	if v := value(t, rm, "bayeux.client.handshakes", attribute.String("kind", "rehandshake")); v != 1 {
		t.Errorf("re-handshakes %d, want 1", v)
	}
	if v := value(t, rm, "bayeux.client.handshakes", attribute.String("kind", "first")); v != 1 {
		t.Errorf("first handshakes %d, want 1", v)
	}
	var handled uint64
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if h, ok := m.Data.(metricdata.Histogram[float64]); ok && m.Name == "messaging.process.duration" {
				for _, dp := range h.DataPoints {
					handled += dp.Count
				}
			}
		}
	}
	if handled != uint64(2*n-dropped) {
		t.Errorf("messaging.process.duration counted %d handler calls, want %d", handled, 2*n-dropped)
	}

	hs := httptest.NewServer(prom)
	defer hs.Close()
	resp, err := hs.Client().Get(hs.URL)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	text := string(body)
	for _, want := range []string{
		"# TYPE messaging_client_consumed_messages_total counter",
		"# TYPE bayeux_subscription_consumed_messages_total counter",
		"# TYPE bayeux_client_handshakes_total counter",
		"# TYPE messaging_process_duration_seconds histogram",
		`messaging_destination_name="/orders/*"`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("the Prometheus text lacks %q:\n%s", want, text)
		}
	}
}
