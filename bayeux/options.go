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
	// OverflowDefault, the zero value, is OverflowDrop, unless an
	// extension for which a dropped event is lost for good is registered
	// (a BackpressureExtension, such as ext/replay or contrib/redis's
	// consumer): then it is OverflowBlock, so that a slow handler holds a
	// backlog back at the server instead of dropping it.
	OverflowDefault Overflow = iota
	// OverflowDrop drops the new message, counts it (Subscription.Dropped)
	// and reports a *DroppedMessageError to the error handler. The
	// /meta/connect loop never stalls, so the server never expires the
	// session because of a slow handler. This is the default without a
	// BackpressureExtension.
	OverflowDrop
	// OverflowBlock applies backpressure instead of dropping: while a
	// subscription's queue is over its size, the client sends no new
	// /meta/connect, so the server keeps the messages (and, if the handler
	// stays slow past the server's maxInterval, expires the session).
	// Delivery itself never waits: messages that arrive anyway (the rest
	// of the payload, or events a websocket server pushes outside connect
	// replies) are queued up to one payload's limit beyond the size (see
	// MaxMessagesPerPayload), and
	// only beyond that dropped and reported as with OverflowDrop.
	OverflowBlock
)

// Options holds the configuration built by Option functions. The first three
// fields are those of gobayeux's Options.
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
	// advised to hold it (advice timeout, for /meta/connect). Default
	// DefaultMaxNetworkDelay (10s).
	MaxNetworkDelay time.Duration
	// BackoffIncrement and MaxBackoff set the linear backoff after
	// failures (with jitter). Defaults DefaultBackoffIncrement (1s) and
	// DefaultMaxBackoff (30s).
	BackoffIncrement time.Duration
	MaxBackoff       time.Duration
	// TransportRetry is how long a transport the server refused (for
	// example a websocket upgrade answered with 400) is left aside before
	// the client tries it again; it doubles on each refusal up to 16 times
	// its value. Default DefaultTransportRetry (30s).
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
	// Default DefaultQueueSize (4096).
	QueueSize int
	// Overflow is the slow-consumer policy. Default OverflowDefault:
	// OverflowDrop, or OverflowBlock with a BackpressureExtension (ext/replay).
	Overflow Overflow
	// HandshakeExt is merged into the ext of every handshake (for example
	// credentials); it is never logged.
	HandshakeExt map[string]any

	// ConnectRetry is how long Connect keeps retrying a first handshake
	// that fails for a transient reason (connection refused, DNS, an HTTP
	// 5xx) or that the server denies with advice to retry, before it
	// returns the last cause. Zero (the default) retries until the
	// deadline of Connect's context when it has one, and for
	// DefaultConnectRetry (5s) when it has none; a positive value retries
	// that long (or until the context ends, if sooner); a negative value
	// retries until the context ends (WithConnectRetryForever).
	ConnectRetry time.Duration
	// AllowedHosts are the hosts (host or host:port) the client may follow
	// when the server advises others (advice.hosts). Default none: the
	// advice is ignored, so that credentials, cookies and the handshake ext
	// never go to a host the user did not name.
	AllowedHosts []string
	// FailoverURLs are further server URLs of the same cluster, tried in
	// turn (after the configured one) when handshakes fail.
	FailoverURLs []string
	// CrossHostRedirects lets HTTP requests follow redirects to another
	// host. Default false: such a redirect fails with ErrRedirect.
	CrossHostRedirects bool
	// MaxCookies bounds the cookies the client's own jar keeps per URL.
	// Default DefaultMaxCookies.
	MaxCookies int
	// MaxAdviceTimeout and MaxAdviceInterval cap the server's
	// advice.timeout and advice.interval. Defaults
	// DefaultMaxAdviceTimeout and DefaultMaxAdviceInterval.
	MaxAdviceTimeout  time.Duration
	MaxAdviceInterval time.Duration
	// Header holds headers sent with every HTTP request and websocket dial
	// (WithHeader).
	Header http.Header
	// MinConnectPeriod is the shortest time between two /meta/connect
	// requests when the previous reply came back at once and empty.
	// Default DefaultMinConnectPeriod.
	MinConnectPeriod time.Duration
	// ResendPublishes makes delivery of publishes at-least-once rather
	// than at-most-once: a batch holding a publish whose request failed in
	// a way that leaves its fate unknown (the connection closed after the
	// request was written, before any byte of the answer) is sent once
	// more, so a subscriber may receive it twice, as Faye's clients do.
	// Default false: such a batch is re-sent only when it provably never
	// reached the server (nothing of it was written, or the server had
	// closed the connection before it was), and otherwise Publish returns
	// the failure. See WithResendPublishes.
	ResendPublishes bool
	// IgnoreError, when set, decides whether the client goes on after an
	// error of a subscription or unsubscription no caller waits for
	// (WithIgnoreError).
	IgnoreError IgnoreErrorFunc
}

// WithHTTPClient returns an Option with custom http.Client. The client is
// used as given: the SDK never modifies it. When its Jar is nil, the SDK
// keeps a cookie jar per Bayeux client. Without WithHTTPClient,
// WithHTTPTransport or WithSharedTransport, each client has a connection
// pool of its own (a clone of http.DefaultTransport whose idle connections
// close after 4 seconds), closed by Disconnect.
func WithHTTPClient(client *http.Client) Option {
	return func(o *Options) { o.Client = client }
}

// WithHTTPTransport returns an Option with custom http.RoundTripper. It is
// used through a copy of the http.Client, never by modifying it.
func WithHTTPTransport(transport http.RoundTripper) Option {
	return func(o *Options) { o.Transport = transport }
}

// WithLogger returns an Option with logger: a *slog.Logger, or any other
// Logger, such as an implementation of gobayeux v2.7.0's Logger, whose
// records then arrive as a message and key, value pairs. nil discards
// the logs.
func WithLogger(logger Logger) Option {
	return func(o *Options) { o.Logger = slogLogger(logger) }
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

// WithConnectRetry sets how long Connect retries a first handshake that
// fails for a transient reason before it returns the cause, whatever the
// deadline of its context (by default Connect retries until that deadline,
// or for DefaultConnectRetry without one).
func WithConnectRetry(d time.Duration) Option {
	return func(o *Options) { o.ConnectRetry = d }
}

// WithConnectRetryForever makes Connect retry a failing first handshake
// until its context ends, for services that may start before their server.
// When the context ends, the error wraps both its error and the last
// cause.
func WithConnectRetryForever() Option {
	return func(o *Options) { o.ConnectRetry = -1 }
}

// WithAllowedHosts lets the client follow the server's advice.hosts to
// these hosts (host or host:port). Hosts advised but not allowed are
// ignored.
func WithAllowedHosts(hosts ...string) Option {
	return func(o *Options) { o.AllowedHosts = append(o.AllowedHosts, hosts...) }
}

// WithFailoverURLs adds server URLs of the same cluster: when handshakes to
// the current URL fail, the client tries the next one. Each must be an
// absolute http or https URL.
func WithFailoverURLs(urls ...string) Option {
	return func(o *Options) { o.FailoverURLs = append(o.FailoverURLs, urls...) }
}

// WithCrossHostRedirects lets HTTP requests follow redirects to other
// hosts. Off by default: the request body (a handshake may carry
// credentials) would be sent to a host the user did not name.
func WithCrossHostRedirects() Option {
	return func(o *Options) { o.CrossHostRedirects = true }
}

// WithMaxCookies bounds the cookies the client's own jar keeps per URL.
func WithMaxCookies(n int) Option {
	return func(o *Options) { o.MaxCookies = n }
}

// WithAdviceLimits caps the server's advice.timeout and advice.interval: a
// server advising a timeout of days would otherwise hold events (and hide
// a dead server) for days.
func WithAdviceLimits(maxTimeout, maxInterval time.Duration) Option {
	return func(o *Options) { o.MaxAdviceTimeout, o.MaxAdviceInterval = maxTimeout, maxInterval }
}

// WithHeader adds a header sent with every HTTP request and websocket
// dial of the client (Faye's setHeader), to the server URLs the user gave.
func WithHeader(key, value string) Option {
	return func(o *Options) {
		if o.Header == nil {
			o.Header = http.Header{}
		}
		o.Header.Add(key, value)
	}
}

// WithMinConnectPeriod sets the shortest time between two /meta/connect
// requests after a reply that came back empty at once.
func WithMinConnectPeriod(d time.Duration) Option {
	return func(o *Options) { o.MinConnectPeriod = d }
}

// WithResendPublishes makes publishes at-least-once: a publish whose
// request failed after it may have reached the server is sent once more,
// so that a torn connection never loses it, at the cost of a duplicate
// when the server had processed it (Faye's choice). Subscribers that
// cannot take a duplicate should make their handlers idempotent. Without
// it, publishes are at-most-once: a publish is re-sent only when it
// provably never reached the server, and otherwise Publish returns the
// failure for the caller to decide.
func WithResendPublishes() Option {
	return func(o *Options) { o.ResendPublishes = true }
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
		o.MaxNetworkDelay = DefaultMaxNetworkDelay
	}
	if o.BackoffIncrement == 0 {
		o.BackoffIncrement = DefaultBackoffIncrement
	}
	if o.MaxBackoff == 0 {
		o.MaxBackoff = DefaultMaxBackoff
	}
	if o.TransportRetry == 0 {
		o.TransportRetry = DefaultTransportRetry
	}
	if o.QueueSize == 0 {
		o.QueueSize = DefaultQueueSize
	}
	if o.MaxCookies == 0 {
		o.MaxCookies = DefaultMaxCookies
	}
	if o.MaxAdviceTimeout == 0 {
		o.MaxAdviceTimeout = DefaultMaxAdviceTimeout
	}
	if o.MaxAdviceInterval == 0 {
		o.MaxAdviceInterval = DefaultMaxAdviceInterval
	}
	if o.MinConnectPeriod == 0 {
		o.MinConnectPeriod = DefaultMinConnectPeriod
	}
	switch {
	case o.MaxCookies < 0, o.MaxAdviceTimeout < 0, o.MaxAdviceInterval < 0, o.MinConnectPeriod < 0:
		return o, ErrInvalidOption
	case o.MaxNetworkDelay < 0, o.BackoffIncrement < 0, o.MaxBackoff < o.BackoffIncrement,
		o.TransportRetry < 0, o.QueueSize < 0:
		return o, ErrInvalidOption
	}
	return o, nil
}
