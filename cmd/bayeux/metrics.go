package main

import (
	"context"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	"go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	"github.com/bayeux-go/sdk/bayeux"
	otelbayeux "github.com/bayeux-go/sdk/contrib/otel"
)

// metricsHelp is the help of -metrics, for sub and bench.
const metricsHelp = "serve the client's metrics in Prometheus text format at http://`ADDR`/metrics (e.g. :9464), through OpenTelemetry"

// metricsServer serves, at /metrics on its address, the OpenTelemetry
// metrics of contrib/otel in Prometheus text format. A nil one (no
// -metrics) does nothing.
type metricsServer struct {
	mp   *sdkmetric.MeterProvider
	srv  *http.Server
	addr string // where it listens, the port resolved
	regs []metric.Registration
}

// startMetrics listens on addr and serves /metrics; an empty addr returns
// nil, nil.
func startMetrics(addr string) (*metricsServer, error) {
	if addr == "" {
		return nil, nil
	}
	reg := prometheus.NewRegistry()
	exp, err := otelprom.New(otelprom.WithRegisterer(reg))
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	m := &metricsServer{
		mp:   sdkmetric.NewMeterProvider(sdkmetric.WithReader(exp)),
		srv:  &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second},
		addr: ln.Addr().String(),
	}
	// Serve returns http.ErrServerClosed once close shuts it down.
	go func() { _ = m.srv.Serve(ln) }()
	return m, nil
}

// options returns the client options that time handlers and lag (none
// without -metrics).
func (m *metricsServer) options() ([]bayeux.Option, error) {
	if m == nil {
		return nil, nil
	}
	ext, err := otelbayeux.New(otelbayeux.WithMeterProvider(m.mp))
	if err != nil {
		return nil, err
	}
	return []bayeux.Option{bayeux.WithExtensions(ext)}, nil
}

// registerClient reports c's Stats.
func (m *metricsServer) registerClient(c *bayeux.Client) error {
	if m == nil {
		return nil
	}
	return m.keep(otelbayeux.Register(c, m.mp))
}

// registerStats reports the Stats stats returns.
func (m *metricsServer) registerStats(stats func() bayeux.Stats) error {
	if m == nil {
		return nil
	}
	return m.keep(otelbayeux.RegisterStats(stats, m.mp))
}

// registerSubscription reports s's Stats, named by its channel.
func (m *metricsServer) registerSubscription(s *bayeux.Subscription) error {
	if m == nil {
		return nil
	}
	return m.keep(otelbayeux.RegisterSubscription(s, m.mp))
}

func (m *metricsServer) keep(r metric.Registration, err error) error {
	if err == nil {
		m.regs = append(m.regs, r)
	}
	return err
}

// close stops serving and drops the registrations.
func (m *metricsServer) close() {
	if m == nil {
		return
	}
	for _, r := range m.regs {
		_ = r.Unregister()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = m.srv.Shutdown(ctx)
	_ = m.mp.Shutdown(ctx)
}

// sumStats adds up the counters of several clients' Stats (the state and
// transport of the first).
func sumStats(all []bayeux.Stats) bayeux.Stats {
	var t bayeux.Stats
	for _, s := range all {
		t = t.Add(s)
	}
	return t
}
