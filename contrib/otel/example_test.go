package otelbayeux_test

import (
	"context"
	"fmt"
	"time"

	"github.com/bayeux-go/sdk/bayeux"
	"github.com/bayeux-go/sdk/bayeux/bayeuxtest"
	otelbayeux "github.com/bayeux-go/sdk/contrib/otel"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

// A wildcard subscription's counters, named by its pattern, read through
// a ManualReader (in a service: the Prometheus or OTLP exporter's reader).
func ExampleRegisterSubscription() {
	ctx := context.Background()
	srv := bayeuxtest.NewServer(bayeuxtest.WithTimeout(300 * time.Millisecond))
	defer srv.Close()
	c, err := bayeux.NewClient(srv.URL)
	if err != nil {
		panic(err)
	}
	defer c.Disconnect(ctx)
	if err := c.Connect(ctx); err != nil {
		panic(err)
	}
	got := make(chan struct{}, 2)
	sub, err := c.Subscribe(ctx, "/orders/*", func(bayeux.Message) { got <- struct{}{} })
	if err != nil {
		panic(err)
	}
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer mp.Shutdown(ctx)
	reg, err := otelbayeux.RegisterSubscription(sub, mp)
	if err != nil {
		panic(err)
	}
	defer reg.Unregister()
	for _, ch := range []bayeux.Channel{"/orders/new", "/orders/paid"} {
		if err := c.Publish(ctx, ch, 1); err != nil {
			panic(err)
		}
		<-got
	}
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(ctx, &rm); err != nil {
		panic(err)
	}
	for _, m := range rm.ScopeMetrics[0].Metrics {
		if m.Name != "bayeux.subscription.consumed.messages" {
			continue
		}
		for _, dp := range m.Data.(metricdata.Sum[int64]).DataPoints {
			dest, _ := dp.Attributes.Value("messaging.destination.name")
			outcome, _ := dp.Attributes.Value("outcome")
			fmt.Println(dest.AsString(), outcome.AsString(), dp.Value)
		}
	}
	// Unordered output:
	// /orders/* delivered 2
	// /orders/* dropped 0
}
