package otelbayeux

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bayeux-go/sdk/bayeux"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// ExtKey is the key in a message's ext under which Extension puts the
// W3C trace context (traceparent, tracestate) and the publish time
// ("ts", RFC 3339 with nanoseconds): when the publish's span is sampled,
// or (the time only) with WithPublishTime.
const ExtKey = "otel"

// Option configures an Extension.
type Option func(*config)

type config struct {
	mp metric.MeterProvider
	tp trace.TracerProvider
	pr propagation.TextMapPropagator
	ts bool
}

// WithMeterProvider sets the MeterProvider of the handler-time and
// delivery-lag histograms (and of Register); the default is the global
// one, otel.GetMeterProvider, which measures nothing until set.
func WithMeterProvider(mp metric.MeterProvider) Option { return func(c *config) { c.mp = mp } }

// WithTracerProvider sets the TracerProvider of the publish and handler
// spans; the default is the global one, otel.GetTracerProvider.
func WithTracerProvider(tp trace.TracerProvider) Option { return func(c *config) { c.tp = tp } }

// WithPropagator sets how the trace context is written to and read from
// ext; the default is W3C trace context (traceparent and tracestate).
func WithPropagator(p propagation.TextMapPropagator) Option { return func(c *config) { c.pr = p } }

// WithPublishTime makes every publish carry its time in ext, so that a
// subscriber using this package records bayeux.client.delivery.lag for
// it. Without it, only a publish whose span is sampled carries its time
// (with its trace context): an ext on every message costs its encoding at
// the publisher, at the server and at each subscriber, about as much as
// the rest of a delivery.
func WithPublishTime() Option { return func(c *config) { c.ts = true } }

// Extension is a bayeux extension (bayeux.WithExtensions) that traces
// and times publishes and handler calls: a producer span per publish,
// child of the span in the caller's context, whose trace context goes in
// the message's ext; a consumer span per handler call, child of the trace
// context the event carries; the histograms messaging.process.duration
// (handler time) and bayeux.client.delivery.lag (receive time minus the
// publish time in ext, or a Salesforce event's createdDate). Make one with
// New; it is safe for use by several clients.
type Extension struct {
	tracer  trace.Tracer
	prop    propagation.TextMapPropagator
	process metric.Float64Histogram
	lag     metric.Float64Histogram
	now     func() time.Time
	ts      bool

	channels sync.Map // bayeux.Channel → *channelAttrs
	cached   atomic.Int64
}

// New returns an Extension using the providers the options give.
func New(opts ...Option) (*Extension, error) {
	cfg := config{}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.mp == nil {
		cfg.mp = otel.GetMeterProvider()
	}
	if cfg.tp == nil {
		cfg.tp = otel.GetTracerProvider()
	}
	if cfg.pr == nil {
		cfg.pr = propagation.TraceContext{}
	}
	m := cfg.mp.Meter(ScopeName)
	process, err := m.Float64Histogram("messaging.process.duration",
		metric.WithDescription("Time a subscription's handler took per event."), metric.WithUnit("s"))
	if err != nil {
		return nil, err
	}
	lag, err := m.Float64Histogram("bayeux.client.delivery.lag",
		metric.WithDescription("Time from an event's publish (or Salesforce createdDate) to its handler call."), metric.WithUnit("s"))
	if err != nil {
		return nil, err
	}
	return &Extension{tracer: cfg.tp.Tracer(ScopeName), prop: cfg.pr, process: process, lag: lag, now: time.Now, ts: cfg.ts}, nil
}

// Outgoing does nothing: the trace context is added by StartPublish.
func (*Extension) Outgoing(*bayeux.Message) {}

// Incoming does nothing: spans are started by StartHandler.
func (*Extension) Incoming(*bayeux.Message) {}

// Registered does nothing.
func (*Extension) Registered(string, *bayeux.BayeuxClient) {}

// Unregistered does nothing.
func (*Extension) Unregistered() {}

// Name names the extension "otel".
func (*Extension) Name() string { return "otel" }

var systemAttr = attribute.String("messaging.system", "bayeux")

// maxCachedChannels bounds the attributes and span options kept per
// channel: beyond it (a publisher writing to ever new channels) they are
// built per message instead.
const maxCachedChannels = 1024

// channelAttrs are what a channel's spans and measurements carry, built
// once per channel so that a message costs no attribute set or option.
// Spans start with their kind only, and get their attributes once they
// are known to be recorded: a span sampled off costs no attribute copy.
type channelAttrs struct {
	sendName, processName   string
	sendOpts, processOpts   []trace.SpanStartOption
	sendAttrs, processAttrs []attribute.KeyValue
	ok, panicked, lag       []metric.RecordOption
}

func newChannelAttrs(ch bayeux.Channel) *channelAttrs {
	dest := attribute.String("messaging.destination.name", string(ch))
	set := metric.WithAttributeSet(attribute.NewSet(systemAttr, dest))
	return &channelAttrs{
		sendName:     "send " + string(ch),
		processName:  "process " + string(ch),
		sendOpts:     []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindProducer)},
		processOpts:  []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindConsumer)},
		sendAttrs:    []attribute.KeyValue{systemAttr, attribute.String("messaging.operation.type", "send"), dest},
		processAttrs: []attribute.KeyValue{systemAttr, attribute.String("messaging.operation.type", "process"), dest},
		ok:           []metric.RecordOption{set},
		panicked:     []metric.RecordOption{metric.WithAttributeSet(attribute.NewSet(systemAttr, dest, attribute.String("error.type", "panic")))},
		lag:          []metric.RecordOption{set},
	}
}

// attrs returns the cached attributes of ch.
func (e *Extension) attrs(ch bayeux.Channel) *channelAttrs {
	if a, ok := e.channels.Load(ch); ok {
		return a.(*channelAttrs)
	}
	a := newChannelAttrs(ch)
	if e.cached.Load() < maxCachedChannels {
		if old, loaded := e.channels.LoadOrStore(ch, a); loaded {
			return old.(*channelAttrs)
		}
		e.cached.Add(1)
	}
	return a
}

// StartPublish starts a producer span "send <channel>". When the span is
// sampled, it writes the span's trace context and the publish time into
// m.Ext[ExtKey]; when it is not, only the publish time, and only with
// WithPublishTime. A value the caller put in m.Ext[ExtKey] is left as it
// is. A span that is not recorded costs no end function.
func (e *Extension) StartPublish(ctx context.Context, m *bayeux.Message) func(*bayeux.Message, error) {
	a := e.attrs(m.Channel)
	ctx, span := e.tracer.Start(ctx, a.sendName, a.sendOpts...)
	sampled := span.SpanContext().IsSampled()
	if _, taken := m.Ext[ExtKey]; !taken && (sampled || e.ts) {
		carrier := mapCarrier{"ts": e.now().UTC().Format(time.RFC3339Nano)}
		if sampled {
			e.prop.Inject(ctx, carrier)
		}
		if m.Ext == nil {
			m.Ext = make(map[string]any, 1)
		}
		m.Ext[ExtKey] = map[string]string(carrier)
	}
	if !span.IsRecording() {
		span.End()
		return nil
	}
	span.SetAttributes(a.sendAttrs...)
	return func(_ *bayeux.Message, err error) {
		if err != nil {
			span.RecordError(err)
			span.SetStatus(codes.Error, err.Error())
		}
		span.End()
	}
}

// StartHandler starts a consumer span "process <subscription>", child of
// the trace context in the event's ext, records the delivery lag, and
// times the handler.
func (e *Extension) StartHandler(sub bayeux.Channel, m *bayeux.Message) func(bool) {
	a, start := e.attrs(sub), e.now()
	carrier := extCarrier(m)
	if sent, ok := publishTime(carrier, m.Data); ok {
		e.lag.Record(context.Background(), start.Sub(sent).Seconds(), a.lag...)
	}
	ctx := context.Background()
	if carrier != nil && carrier.Get("traceparent") != "" {
		ctx = e.prop.Extract(ctx, carrier)
	}
	_, span := e.tracer.Start(ctx, a.processName, a.processOpts...)
	if span.IsRecording() {
		span.SetAttributes(a.processAttrs...)
	}
	return func(panicked bool) {
		d := e.now().Sub(start).Seconds()
		if panicked {
			span.SetStatus(codes.Error, "handler panicked")
			e.process.Record(context.Background(), d, a.panicked...)
		} else {
			e.process.Record(context.Background(), d, a.ok...)
		}
		span.End()
	}
}

// publishTime reads when the event was published: ext's "ts", or a
// Salesforce event's data.event.createdDate or data.payload.CreatedDate.
func publishTime(c propagation.TextMapCarrier, data []byte) (time.Time, bool) {
	if c != nil {
		if s := c.Get("ts"); s != "" {
			t, err := time.Parse(time.RFC3339Nano, s)
			return t, err == nil
		}
	}
	raw, ok := bayeux.RawField(data, "event", "createdDate")
	if !ok {
		raw, ok = bayeux.RawField(data, "payload", "CreatedDate")
	}
	if !ok || len(raw) < 2 || raw[0] != '"' || raw[len(raw)-1] != '"' {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339Nano, string(raw[1:len(raw)-1]))
	if err != nil {
		// Salesforce writes "2024-05-01T10:00:00.000+0000".
		t, err = time.Parse("2006-01-02T15:04:05.000-0700", string(raw[1:len(raw)-1]))
	}
	return t, err == nil
}

// mapCarrier is ext[ExtKey] as a propagation.TextMapCarrier.
type mapCarrier map[string]string

func (c mapCarrier) Get(k string) string { return c[k] }
func (c mapCarrier) Set(k, v string)     { c[k] = v }
func (c mapCarrier) Keys() []string {
	keys := make([]string, 0, len(c))
	for k := range c {
		keys = append(keys, k)
	}
	return keys
}

// anyCarrier is ext[ExtKey] of a received message, a JSON object decoded
// as map[string]any, read in place as a propagation.TextMapCarrier.
type anyCarrier map[string]any

func (c anyCarrier) Get(k string) string { s, _ := c[k].(string); return s }
func (c anyCarrier) Set(k, v string)     { c[k] = v }
func (c anyCarrier) Keys() []string {
	keys := make([]string, 0, len(c))
	for k := range c {
		keys = append(keys, k)
	}
	return keys
}

// extCarrier reads ext[ExtKey] of a received message: a JSON object
// decoded as map[string]any (or, in process, the map StartPublish made).
func extCarrier(m *bayeux.Message) propagation.TextMapCarrier {
	switch v := m.Ext[ExtKey].(type) {
	case map[string]string:
		return mapCarrier(v)
	case map[string]any:
		return anyCarrier(v)
	}
	return nil
}
