package websocket

import (
	"crypto/tls"
	"net/http"
	"time"

	gws "github.com/gorilla/websocket"
)

// Defaults of the options.
const (
	// DefaultPingInterval is how often a ping is sent on an open connection.
	DefaultPingInterval = 20 * time.Second
	// DefaultPongTimeout is how long the transport waits, after a ping, for
	// the pong or any other frame before it declares the connection dead. A
	// dead peer is thus detected within DefaultPingInterval +
	// DefaultPongTimeout (30 s).
	DefaultPongTimeout = 10 * time.Second
	// DefaultWriteTimeout bounds every write (frames, pings, close).
	DefaultWriteTimeout = 10 * time.Second
	// DefaultMaxMessageBytes is the largest frame (message) accepted from
	// the server: 16 MiB.
	DefaultMaxMessageBytes = 16 << 20
	// DefaultHandshakeTimeout bounds the websocket upgrade (TCP connect, TLS
	// and HTTP exchange) when no Dialer is given.
	DefaultHandshakeTimeout = 45 * time.Second
)

// Option configures a Transport; pass options to New.
type Option func(*options)

type options struct {
	dialer          *gws.Dialer
	tlsConfig       *tls.Config
	header          http.Header
	compression     *bool
	maxMessageBytes int64
	pingInterval    time.Duration
	pongTimeout     time.Duration
	writeTimeout    time.Duration
	messageTimeout  time.Duration
}

func defaultOptions() options {
	return options{
		maxMessageBytes: DefaultMaxMessageBytes,
		pingInterval:    DefaultPingInterval,
		pongTimeout:     DefaultPongTimeout,
		writeTimeout:    DefaultWriteTimeout,
	}
}

// WithDialer makes the transport dial with a copy of d (d itself is never
// modified, and later changes to it have no effect). Its fields are used as
// given (Proxy, NetDialContext, HandshakeTimeout, buffer sizes,
// Subprotocols, ...), except that WithTLSConfig and WithCompression
// override its TLSClientConfig and EnableCompression, that a nil
// TLSClientConfig is taken from the client's *http.Transport as below, and
// that the session's cookie jar, when the client has one, replaces its Jar.
//
// Without WithDialer the transport uses a dialer with a 45 s handshake
// timeout and, when the client's http.Client has an *http.Transport (or
// none, meaning http.DefaultTransport), that transport's Proxy and
// TLSClientConfig; with another RoundTripper, the proxy comes from the
// environment (http.ProxyFromEnvironment).
func WithDialer(d *gws.Dialer) Option {
	return func(o *options) {
		if d == nil {
			o.dialer = nil
			return
		}
		c := *d
		o.dialer = &c
	}
}

// WithTLSConfig sets the TLS configuration of wss:// connections (a clone
// is used; its NextProtos are restricted to http/1.1, which the websocket
// upgrade needs). It takes precedence over the Dialer's and the
// http.Transport's TLSClientConfig.
func WithTLSConfig(c *tls.Config) Option {
	return func(o *options) { o.tlsConfig = c }
}

// WithHeader adds a header field to the upgrade request (for example an
// Authorization header: the client's http.Client and its RoundTripper are
// not used for the upgrade). Header fields that the websocket handshake
// owns (Upgrade, Connection, Sec-WebSocket-Key, -Version, -Extensions) are
// rejected by the dialer when the connection is opened.
func WithHeader(key, value string) Option {
	return func(o *options) {
		if o.header == nil {
			o.header = make(http.Header)
		}
		o.header.Add(key, value)
	}
}

// WithHeaders adds every field of h to the upgrade request (see
// WithHeader). h is copied.
func WithHeaders(h http.Header) Option {
	return func(o *options) {
		if o.header == nil {
			o.header = make(http.Header)
		}
		for k, vs := range h {
			for _, v := range vs {
				o.header.Add(k, v)
			}
		}
	}
}

// WithCompression asks the server for permessage-deflate (RFC 7692, without
// context takeover) when enabled is true. The connection compresses only if
// the server agrees. Off by default unless the Dialer given to WithDialer
// enables it.
func WithCompression(enabled bool) Option {
	return func(o *options) { o.compression = &enabled }
}

// WithMaxMessageBytes sets the largest message (frame) accepted from the
// server; a larger one tears the connection with a *bayeux.TransportError
// that matches bayeux.ErrTooLarge. n <= 0 restores the default of 16 MiB.
func WithMaxMessageBytes(n int64) Option {
	return func(o *options) {
		if n <= 0 {
			n = DefaultMaxMessageBytes
		}
		o.maxMessageBytes = n
	}
}

// WithPingInterval sets how often a ping is sent (default 20 s). d <= 0
// disables the keep-alive: no ping is sent and a silent dead peer is then
// only detected by the requests' contexts.
func WithPingInterval(d time.Duration) Option {
	return func(o *options) { o.pingInterval = d }
}

// WithPongTimeout sets how long to wait after a ping for the pong (or any
// other frame) before the connection is declared dead and torn, failing
// the requests in flight with a *bayeux.TransportError matching
// ErrPongTimeout (default 10 s). A dead peer is detected at most
// max(PingInterval, PongTimeout) + PongTimeout after its last frame. A
// round during which the reader was busy with a frame (decoding it or in
// the Receive callback, which delays the pong's processing) does not
// count. d <= 0 restores the default.
func WithPongTimeout(d time.Duration) Option {
	return func(o *options) {
		if d <= 0 {
			d = DefaultPongTimeout
		}
		o.pongTimeout = d
	}
}

// WithWriteTimeout bounds each write on the connection (default 10 s); a
// write that does not complete in time tears the connection. The request's
// context deadline, when earlier, bounds the write too. d <= 0 restores the
// default.
func WithWriteTimeout(d time.Duration) Option {
	return func(o *options) {
		if d <= 0 {
			d = DefaultWriteTimeout
		}
		o.writeTimeout = d
	}
}

// WithMessageTimeout caps how long RoundTrip waits for the replies of a
// batch, whatever the context allows. When the cap expires the connection
// is considered broken, as the CometD clients do: it is torn, every request
// in flight on it fails (this one with an error matching
// ErrMessageTimeout) and the next RoundTrip dials again. The cap applies to
// /meta/connect too, so it must exceed the server's connect timeout plus
// the network delay. 0 (the default) means no cap: the context alone
// bounds the wait, and its end fails only its own RoundTrip.
func WithMessageTimeout(d time.Duration) Option {
	return func(o *options) {
		if d < 0 {
			d = 0
		}
		o.messageTimeout = d
	}
}
