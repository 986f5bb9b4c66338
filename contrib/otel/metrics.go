package otelbayeux

import (
	"context"

	"github.com/bayeux-go/sdk/bayeux"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// ScopeName is the instrumentation scope of the meter this package uses.
const ScopeName = "github.com/bayeux-go/sdk/contrib/otel"

// Register reports c's Stats through instruments of a meter from mp, read
// when the metrics are collected. The counters follow the OpenTelemetry
// messaging conventions where they fit (messaging.system="bayeux"):
// messaging.client.consumed.messages (outcome delivered or dropped, with
// error.type the reason), messaging.client.sent.messages (outcome sent,
// failed or resent), and bayeux.client.* for sessions, connects, failures
// and the queue. Unregister the returned registration before the client
// is dropped.
func Register(c *bayeux.Client, mp metric.MeterProvider) (metric.Registration, error) {
	return RegisterStats(c.Stats, mp)
}

// RegisterStats is Register for counters read from stats at each
// collection: the sum of several clients' Stats, say (a load generator's
// sessions), reported as one.
func RegisterStats(stats func() bayeux.Stats, mp metric.MeterProvider) (metric.Registration, error) {
	m := mp.Meter(ScopeName)
	consumed, err := m.Int64ObservableCounter("messaging.client.consumed.messages",
		metric.WithDescription("Events received by the client, by outcome."), metric.WithUnit("{message}"))
	if err != nil {
		return nil, err
	}
	sent, err := m.Int64ObservableCounter("messaging.client.sent.messages",
		metric.WithDescription("Publishes sent by the client, by outcome."), metric.WithUnit("{message}"))
	if err != nil {
		return nil, err
	}
	sessions, err := m.Int64ObservableCounter("bayeux.client.handshakes",
		metric.WithDescription("Successful handshakes; kind=rehandshake counts those after the first."), metric.WithUnit("{handshake}"))
	if err != nil {
		return nil, err
	}
	connects, err := m.Int64ObservableCounter("bayeux.client.connects",
		metric.WithDescription("/meta/connect requests sent, by outcome."), metric.WithUnit("{request}"))
	if err != nil {
		return nil, err
	}
	tfail, err := m.Int64ObservableCounter("bayeux.client.transport.failures",
		metric.WithDescription("Requests that failed in transport."), metric.WithUnit("{request}"))
	if err != nil {
		return nil, err
	}
	queued, err := m.Int64ObservableGauge("bayeux.client.queue.size",
		metric.WithDescription("Events waiting in the subscriptions' queues."), metric.WithUnit("{message}"))
	if err != nil {
		return nil, err
	}
	system := attribute.String("messaging.system", "bayeux")
	return m.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		s := stats()
		tr := attribute.String("network.transport", s.Transport)
		obs := func(i metric.Int64Observable, v uint64, kv ...attribute.KeyValue) {
			o.ObserveInt64(i, int64(v), metric.WithAttributes(append([]attribute.KeyValue{system, tr}, kv...)...))
		}
		obs(consumed, s.Delivered, attribute.String("outcome", "delivered"))
		obs(consumed, s.Dropped.QueueFull, attribute.String("outcome", "dropped"), attribute.String("error.type", "queue_full"))
		obs(consumed, s.Dropped.Filtered, attribute.String("outcome", "dropped"), attribute.String("error.type", "filtered"))
		obs(consumed, s.Dropped.Invalid, attribute.String("outcome", "dropped"), attribute.String("error.type", "invalid"))
		obs(sent, s.PublishesSent, attribute.String("outcome", "sent"))
		obs(sent, s.PublishesFailed, attribute.String("outcome", "failed"))
		obs(sent, s.PublishesResent, attribute.String("outcome", "resent"))
		obs(sessions, s.Handshakes-s.Rehandshakes, attribute.String("kind", "first"))
		obs(sessions, s.Rehandshakes, attribute.String("kind", "rehandshake"))
		obs(connects, s.Connects-s.ConnectFailures, attribute.String("outcome", "ok"))
		obs(connects, s.ConnectFailures, attribute.String("outcome", "failed"))
		obs(tfail, s.TransportFailures)
		obs(queued, uint64(s.Queued))
		return nil
	}, consumed, sent, sessions, connects, tfail, queued)
}

// RegisterSubscription reports s's Stats through instruments of a meter
// from mp, read when the metrics are collected, with the subscription's
// channel as messaging.destination.name: for a wildcard subscription the
// pattern ("/orders/*"), never each channel it matched, so that the
// number of series stays the number of subscriptions.
// bayeux.subscription.consumed.messages counts its events by outcome
// (delivered, or dropped with error.type queue_full);
// bayeux.subscription.queue.size and bayeux.subscription.queue.high_water
// are its queue now and at its fullest. Unregister the returned
// registration when the subscription ends.
func RegisterSubscription(s *bayeux.Subscription, mp metric.MeterProvider) (metric.Registration, error) {
	m := mp.Meter(ScopeName)
	consumed, err := m.Int64ObservableCounter("bayeux.subscription.consumed.messages",
		metric.WithDescription("Events of a subscription, by outcome."), metric.WithUnit("{message}"))
	if err != nil {
		return nil, err
	}
	queued, err := m.Int64ObservableGauge("bayeux.subscription.queue.size",
		metric.WithDescription("Events waiting in a subscription's queue."), metric.WithUnit("{message}"))
	if err != nil {
		return nil, err
	}
	high, err := m.Int64ObservableGauge("bayeux.subscription.queue.high_water",
		metric.WithDescription("The most events a subscription's queue held at once."), metric.WithUnit("{message}"))
	if err != nil {
		return nil, err
	}
	system := attribute.String("messaging.system", "bayeux")
	dest := attribute.String("messaging.destination.name", string(s.Stats().Channel))
	delivered := metric.WithAttributeSet(attribute.NewSet(system, dest, attribute.String("outcome", "delivered")))
	dropped := metric.WithAttributeSet(attribute.NewSet(system, dest, attribute.String("outcome", "dropped"),
		attribute.String("error.type", "queue_full")))
	plain := metric.WithAttributeSet(attribute.NewSet(system, dest))
	return m.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		st := s.Stats()
		o.ObserveInt64(consumed, int64(st.Delivered), delivered)
		o.ObserveInt64(consumed, int64(st.Dropped), dropped)
		o.ObserveInt64(queued, int64(st.Queued), plain)
		o.ObserveInt64(high, int64(st.QueueHighWater), plain)
		return nil
	}, consumed, queued, high)
}
