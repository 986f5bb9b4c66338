package otelbayeux_test

import (
	"context"
	"testing"
	"time"

	"github.com/bayeux-go/sdk/bayeux"
	"github.com/bayeux-go/sdk/bayeux/bayeuxtest"
	otelbayeux "github.com/bayeux-go/sdk/contrib/otel"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

// A publisher and a subscriber, two clients with the extension, appear
// as one trace: the subscriber's span is a child of the publisher's, which
// is a child of the caller's span.
func TestTraceAcrossClients(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	ext, err := otelbayeux.New(otelbayeux.WithTracerProvider(tp), otelbayeux.WithMeterProvider(mp))
	if err != nil {
		t.Fatal(err)
	}
	srv := bayeuxtest.NewServer(bayeuxtest.WithTimeout(300 * time.Millisecond))
	defer srv.Close()
	newClient := func() *bayeux.Client {
		c, err := bayeux.NewClient(srv.URL, bayeux.WithExtensions(ext))
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Connect(ctx); err != nil {
			t.Fatal(err)
		}
		return c
	}
	pub, sub := newClient(), newClient()
	defer pub.Disconnect(context.Background())
	defer sub.Disconnect(context.Background())
	got := make(chan struct{}, 1)
	if _, err := sub.Subscribe(ctx, "/orders", func(bayeux.Message) { got <- struct{}{} }); err != nil {
		t.Fatal(err)
	}
	pctx, parent := tp.Tracer("test").Start(ctx, "caller")
	if err := pub.Publish(pctx, "/orders", map[string]int{"n": 1}); err != nil {
		t.Fatal(err)
	}
	parent.End()
	<-got
	var send, process sdktrace.ReadOnlySpan
	for end := time.Now().Add(5 * time.Second); process == nil && time.Now().Before(end); time.Sleep(5 * time.Millisecond) {
		for _, s := range rec.Ended() {
			switch s.Name() {
			case "send /orders":
				send = s
			case "process /orders":
				process = s
			}
		}
	}
	if send == nil || process == nil {
		t.Fatalf("spans: send %v, process %v", send, process)
	}
	if send.Parent().SpanID() != parent.SpanContext().SpanID() || send.SpanKind() != trace.SpanKindProducer {
		t.Errorf("send span's parent %v kind %v, want the caller's %v", send.Parent().SpanID(), send.SpanKind(), parent.SpanContext().SpanID())
	}
	if process.Parent().SpanID() != send.SpanContext().SpanID() || process.SpanContext().TraceID() != parent.SpanContext().TraceID() {
		t.Errorf("process span's parent %v in trace %v, want %v in %v", process.Parent().SpanID(), process.SpanContext().TraceID(),
			send.SpanContext().SpanID(), parent.SpanContext().TraceID())
	}
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(ctx, &rm); err != nil {
		t.Fatal(err)
	}
	counts := map[string]uint64{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if h, ok := m.Data.(metricdata.Histogram[float64]); ok {
				for _, dp := range h.DataPoints {
					counts[m.Name] += dp.Count
				}
			}
		}
	}
	if counts["messaging.process.duration"] != 1 || counts["bayeux.client.delivery.lag"] != 1 {
		t.Errorf("histogram counts %v, want one handler call and one lag", counts)
	}
}
