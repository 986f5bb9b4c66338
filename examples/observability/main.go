package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	"go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	"github.com/bayeux-go/sdk/bayeux"
	otelbayeux "github.com/bayeux-go/sdk/contrib/otel"
	_ "github.com/bayeux-go/sdk/transport/longpoll" // the transport
)

// newMetrics returns a MeterProvider whose metrics the returned handler
// serves in Prometheus text format; extra readers (a test's
// ManualReader) see the same instruments.
func newMetrics(extra ...sdkmetric.Reader) (*sdkmetric.MeterProvider, http.Handler, error) {
	reg := prometheus.NewRegistry()
	exp, err := otelprom.New(otelprom.WithRegisterer(reg))
	if err != nil {
		return nil, nil, err
	}
	opts := []sdkmetric.Option{sdkmetric.WithReader(exp)}
	for _, r := range extra {
		opts = append(opts, sdkmetric.WithReader(r))
	}
	return sdkmetric.NewMeterProvider(opts...), promhttp.HandlerFor(reg, promhttp.HandlerOpts{}), nil
}

// consumer is a client subscribed to one channel, instrumented.
type consumer struct {
	client *bayeux.Client
	sub    *bayeux.Subscription
	regs   []metric.Registration
}

// startConsumer connects to url with the OpenTelemetry extension and the
// client's and subscription's counters reported through mp, and calls
// handle for each event of channel.
func startConsumer(ctx context.Context, url string, channel bayeux.Channel, mp metric.MeterProvider,
	handle func(bayeux.Message), opts ...bayeux.Option) (*consumer, error) {
	ext, err := otelbayeux.New(otelbayeux.WithMeterProvider(mp))
	if err != nil {
		return nil, err
	}
	c, err := bayeux.NewClient(url, append(opts, bayeux.WithExtensions(ext))...)
	if err != nil {
		return nil, err
	}
	k := &consumer{client: c}
	reg, err := otelbayeux.Register(c, mp)
	if err != nil {
		return nil, err
	}
	k.regs = append(k.regs, reg)
	if err := c.Connect(ctx); err != nil {
		k.close()
		return nil, err
	}
	if k.sub, err = c.Subscribe(ctx, channel, handle); err != nil {
		k.close()
		return nil, err
	}
	if reg, err = otelbayeux.RegisterSubscription(k.sub, mp); err != nil {
		k.close()
		return nil, err
	}
	k.regs = append(k.regs, reg)
	return k, nil
}

// close unregisters the metrics and disconnects.
func (k *consumer) close() {
	for _, r := range k.regs {
		_ = r.Unregister()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = k.client.Disconnect(ctx)
}

func main() {
	url := flag.String("url", "http://127.0.0.1:8080/bayeux", "the Bayeux server's URL")
	channel := flag.String("channel", "/**", "the channel (or pattern) to consume")
	addr := flag.String("metrics", ":9464", "where to serve the metrics (Prometheus text at /metrics)")
	flag.Parse()
	if err := run(*url, bayeux.Channel(*channel), *addr); err != nil {
		fmt.Fprintln(os.Stderr, "observability:", err)
		os.Exit(1)
	}
}

func run(url string, channel bayeux.Channel, addr string) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	mp, h, err := newMetrics()
	if err != nil {
		return err
	}
	defer mp.Shutdown(context.Background())
	k, err := startConsumer(ctx, url, channel, mp, func(m bayeux.Message) { log.Printf("%s %s", m.Channel, m.Data) })
	if err != nil {
		return err
	}
	defer k.close()
	mux := http.NewServeMux()
	mux.Handle("/metrics", h)
	srv := &http.Server{Addr: addr, Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
