package otelbayeux_test

import (
	"context"
	"syscall"
	"testing"
	"time"

	"github.com/bayeux-go/sdk/bayeux"
	"github.com/bayeux-go/sdk/bayeux/bayeuxtest"
	otelbayeux "github.com/bayeux-go/sdk/contrib/otel"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// cpuTime is the CPU time (user and system) the process used so far: the
// client's and the in-process server's, whatever else loads the machine.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkDelivery publishes batches of 100 events and waits for them
// at a subscriber of the same client: off, with metrics, and with
// metrics and traces sampled off. ns/msg is wall time; cpu-ns/msg the
// process's CPU time per message, client and server together.
func BenchmarkDelivery(b *testing.B) {
	for _, bc := range []struct {
		name string
		opts func() []otelbayeux.Option
	}{
		{"off", nil},
		{"metrics", func() []otelbayeux.Option {
			return []otelbayeux.Option{otelbayeux.WithMeterProvider(sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader())))}
		}},
		{"metrics+unsampled-traces", func() []otelbayeux.Option {
			return []otelbayeux.Option{otelbayeux.WithMeterProvider(sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))),
				otelbayeux.WithTracerProvider(sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.NeverSample())))}
		}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			ctx := context.Background()
			srv := bayeuxtest.NewServer(bayeuxtest.WithTimeout(300 * time.Millisecond))
			defer srv.Close()
			var opts []bayeux.Option
			if bc.opts != nil {
				ext, err := otelbayeux.New(bc.opts()...)
				if err != nil {
					b.Fatal(err)
				}
				opts = append(opts, bayeux.WithExtensions(ext))
			}
			c, err := bayeux.NewClient(srv.URL, opts...)
			if err != nil {
				b.Fatal(err)
			}
			defer c.Disconnect(ctx)
			if err := c.Connect(ctx); err != nil {
				b.Fatal(err)
			}
			got := make(chan struct{}, 128)
			if _, err := c.Subscribe(ctx, "/bench", func(bayeux.Message) { got <- struct{}{} }); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			cpu0 := cpuTime(b)
			b.ResetTimer()
			for b.Loop() {
				batch := c.Batch()
				for i := range 100 {
					batch.Publish("/bench", i)
				}
				if err := batch.Send(ctx); err != nil {
					b.Fatal(err)
				}
				for range 100 {
					<-got
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*100), "ns/msg")
			b.ReportMetric(float64(cpuTime(b)-cpu0)/float64(b.N*100), "cpu-ns/msg")
		})
	}
}
