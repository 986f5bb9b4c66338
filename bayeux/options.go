package bayeux

import (
	"log/slog"
	"net/http"
	"time"
)

// Option configures a Client or a BayeuxClient. Options are applied in
// order to an Options value; the zero Options gives defaults that work
// against CometD, Faye and Salesforce.
type Option func(*Options)

// Strategy chooses how a client picks its transport.
type Strategy int

const (
	// StrategyFallback handshakes over the first configured transport the
	// client can use (websocket, when configured first) and falls back to
	// the next one when it is refused: the CometD order.
	StrategyFallback Strategy = iota
	// StrategyUpgrade handshakes over the first HTTP polling transport
	// configured (long-polling or callback-polling) and then moves the
	// session to the most preferred transport the server supports: the
	// Faye order.
	StrategyUpgrade
)

// Overflow is the policy for a subscription whose queue is full because its
// handler is slower than the messages arrive.
type Overflow int

const (
	// OverflowDrop drops the new message, counts it (Subscription.Dropped)
	// and reports a *DroppedMessageError to the error handler. The
	// /meta/connect loop never stalls, so the server never expires the
	// session because of a slow handler. This is the default.
	OverflowDrop Overflow = iota
	// OverflowBlock makes delivery wait for room in the queue. Nothing is
	// dropped, but a handler that stays slow holds up every subscription
	// and the /meta/connect loop, and the server may expire the session.
	OverflowBlock
)

// Options holds the configuration built by Option functions. The first three
// fields are those of the gobayeux seed.
type Options struct {
	// Logger receives structured logs; nil means discard. Message contents
	// and ext fields (which may carry credentials) are never logged.
	Logger *slog.Logger
	// Client is the http.Client transports use. It is used as given and
	// never modified. nil means a new client.
	Client *http.Client
	// Transport, when set, is the RoundTripper HTTP requests go through:
	// the client uses a copy of Client with this Transport.
	Transport http.RoundTripper

	// Transports are the Bayeux transports in order of preference; empty
	// means the registered defaults (see RegisterTransport).
	Transports []Transport
	// Strategy chooses how the transport is negotiated.
	Strategy Strategy
	// MaxNetworkDelay bounds every request beyond the time the server is
	// advised to hold it (advice timeout, for /meta/connect). Default 10s.
	MaxNetworkDelay time.Duration
	// BackoffIncrement and MaxBackoff set the linear backoff after
	// failures (with jitter). Defaults 1s and 30s.
	BackoffIncrement time.Duration
	MaxBackoff       time.Duration
	// TransportRetry is how long a transport the server refused (for
	// example a websocket upgrade answered with 400) is left aside before
	// the client tries it again; it doubles on each refusal up to 16 times
	// its value. Default 30s.
	TransportRetry time.Duration
	// StateListener is called, in order and outside any lock, on every
	// state change of a Client.
	StateListener func(StateChange)
	// ErrorHandler is called, in order and outside any lock, with
	// asynchronous errors: dropped messages, failed re-subscriptions,
	// transport failures the client recovers from.
	ErrorHandler func(error)
	// Extensions are registered, in order, when the client is created.
	Extensions []MessageExtender
	// QueueSize is the capacity of each subscription's delivery queue.
	// Default 4096.
	QueueSize int
	// Overflow is the slow-consumer policy. Default OverflowDrop.
	Overflow Overflow
	// HandshakeExt is merged into the ext of every handshake (for example
	// credentials); it is never logged.
	HandshakeExt map[string]any
}

// WithHTTPClient returns an Option with custom http.Client. The client is
// used as given: the SDK never modifies it. When its Jar is nil, the SDK
// keeps a cookie jar per Bayeux client.
func WithHTTPClient(client *http.Client) Option {
	return func(o *Options) { o.Client = client }
}

// WithHTTPTransport returns an Option with custom http.RoundTripper. It is
// used through a copy of the http.Client, never by modifying it.
func WithHTTPTransport(transport http.RoundTripper) Option {
	return func(o *Options) { o.Transport = transport }
}

// WithLogger returns an Option with logger (log/slog replaces the seed's
// logrus).
func WithLogger(logger *slog.Logger) Option {
	return func(o *Options) { o.Logger = logger }
}

// WithTransports sets the transports, in order of preference. Each value is
// bound to the client it is given to; do not share one between clients.
func WithTransports(ts ...Transport) Option {
	return func(o *Options) { o.Transports = append([]Transport(nil), ts...) }
}

// WithTransportStrategy chooses between the CometD order (StrategyFallback,
// the default) and the Faye order (StrategyUpgrade).
func WithTransportStrategy(s Strategy) Option {
	return func(o *Options) { o.Strategy = s }
}

// WithMaxNetworkDelay sets how long a request may take beyond the advised
// server hold time before it is abandoned as failed.
func WithMaxNetworkDelay(d time.Duration) Option {
	return func(o *Options) { o.MaxNetworkDelay = d }
}

// WithBackoff sets the backoff after failures: each failure adds increment
// to the wait, up to max; jitter spreads the waits of many clients.
func WithBackoff(increment, max time.Duration) Option {
	return func(o *Options) { o.BackoffIncrement, o.MaxBackoff = increment, max }
}

// WithTransportRetry sets how long a refused transport is left aside before
// it is tried again.
func WithTransportRetry(d time.Duration) Option {
	return func(o *Options) { o.TransportRetry = d }
}

// WithStateListener sets the callback for session state changes.
func WithStateListener(fn func(StateChange)) Option {
	return func(o *Options) { o.StateListener = fn }
}

// WithErrorHandler sets the callback for asynchronous errors.
func WithErrorHandler(fn func(error)) Option {
	return func(o *Options) { o.ErrorHandler = fn }
}

// WithExtensions registers message extensions, in order.
func WithExtensions(exts ...MessageExtender) Option {
	return func(o *Options) { o.Extensions = append(o.Extensions, exts...) }
}

// WithDeliveryQueue sets the capacity of each subscription's queue and the
// policy when it is full.
func WithDeliveryQueue(size int, policy Overflow) Option {
	return func(o *Options) { o.QueueSize, o.Overflow = size, policy }
}

// WithHandshakeExt adds fields to the ext of every handshake message (for
// example authentication data). Values are never logged.
func WithHandshakeExt(ext map[string]any) Option {
	return func(o *Options) { o.HandshakeExt = ext }
}

// resolve applies the options and fills in defaults.
func resolve(opts []Option) (Options, error) {
	var o Options
	for _, opt := range opts {
		if opt != nil {
			opt(&o)
		}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.MaxNetworkDelay == 0 {
		o.MaxNetworkDelay = 10 * time.Second
	}
	if o.BackoffIncrement == 0 {
		o.BackoffIncrement = time.Second
	}
	if o.MaxBackoff == 0 {
		o.MaxBackoff = 30 * time.Second
	}
	if o.TransportRetry == 0 {
		o.TransportRetry = 30 * time.Second
	}
	if o.QueueSize == 0 {
		o.QueueSize = 4096
	}
	switch {
	case o.MaxNetworkDelay < 0, o.BackoffIncrement < 0, o.MaxBackoff < o.BackoffIncrement,
		o.TransportRetry < 0, o.QueueSize < 0:
		return o, ErrInvalidOption
	}
	return o, nil
}
