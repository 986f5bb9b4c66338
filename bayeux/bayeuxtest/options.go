package bayeuxtest

import (
	"log/slog"
	"strings"
	"time"

	"github.com/bayeux-go/sdk/bayeux"
)

// Defaults used when no Option overrides them.
const (
	// DefaultTimeout is how long a lone /meta/connect is held (advice
	// "timeout").
	DefaultTimeout = 2 * time.Second
	// DefaultMaxInterval is how long a session lives without a /meta/connect
	// (advice "maxInterval").
	DefaultMaxInterval = 5 * time.Second
	// DefaultMaxBodyBytes is the largest request body (or websocket frame,
	// or callback-polling message parameter) accepted.
	DefaultMaxBodyBytes = 1 << 20
	// DefaultPath is the path the server is mounted on.
	DefaultPath = "/bayeux"
)

// config is the server configuration, fixed once the Server is built.
type config struct {
	timeout       time.Duration
	interval      time.Duration
	maxInterval   time.Duration
	connTypes     []string
	cookieBinding bool
	exts          []Extension
	maxBody       int64
	logger        *slog.Logger
	hosts         []string
	path          string
	eventsFirst   bool
	receivedLimit int
	strictIDs     bool
	pushInterval  time.Duration
	// connectDeliveryOnly keeps events for /meta/connect replies.
	connectDeliveryOnly bool
	// Built-in extensions (ack.go, replay.go, auth.go).
	ack       bool
	replay    bool
	retention time.Duration
	// replayPublishes routes clients' publishes through the replay log.
	replayPublishes bool
	oneChannel      bool
	auth            *authConfig
	// mis breaks rules on purpose (misbehave.go).
	mis Misbehaviour
}

func defaultConfig() config {
	return config{
		timeout:     DefaultTimeout,
		maxInterval: DefaultMaxInterval,
		connTypes: []string{
			bayeux.ConnectionTypeLongPolling,
			bayeux.ConnectionTypeCallbackPolling,
			bayeux.ConnectionTypeWebSocket,
		},
		maxBody:   DefaultMaxBodyBytes,
		logger:    slog.New(slog.DiscardHandler),
		path:      DefaultPath,
		strictIDs: true,
	}
}

// Option configures a Server; pass options to NewServer or
// NewUnstartedServer.
type Option func(*config)

// WithTimeout sets how long a lone /meta/connect is held when nothing is
// queued for its session (advised to clients as "timeout"). A client's own
// smaller advice timeout is honoured. Zero means connects are never held.
// Default DefaultTimeout (2 s).
func WithTimeout(d time.Duration) Option {
	return func(c *config) {
		if d < 0 {
			d = 0
		}
		c.timeout = d
	}
}

// WithInterval sets the "interval" advice: how long clients should wait
// between a /meta/connect reply and the next /meta/connect. Default 0. A
// negative interval advises clients not to reconnect.
func WithInterval(d time.Duration) Option {
	return func(c *config) { c.interval = d }
}

// WithMaxInterval sets how long a session survives without a /meta/connect
// (counted from the last connect reply, or the handshake), advised to
// clients as "maxInterval". Zero or negative disables expiry. Default
// DefaultMaxInterval (5 s).
func WithMaxInterval(d time.Duration) Option {
	return func(c *config) { c.maxInterval = d }
}

// WithConnectionTypes sets the connection types the server offers in its
// handshake replies and accepts in /meta/connect, in order. A transport that
// is not listed is not served either: a websocket upgrade is refused (HTTP
// 400) unless "websocket" is listed, a GET is refused unless
// "callback-polling" is listed and a POST unless "long-polling" is listed.
// Calling it with no types keeps the default (long-polling,
// callback-polling, websocket).
func WithConnectionTypes(types ...string) Option {
	return func(c *config) {
		if len(types) > 0 {
			c.connTypes = append([]string(nil), types...)
		}
	}
}

// WithCookieBinding makes the server behave like CometD: a session is bound
// to the BAYEUX_BROWSER cookie set on its handshake, and a message that
// names the session's clientId without that cookie is answered as coming
// from an unknown client. Over websocket the cookie of the upgrade request
// counts. Default false (sessions are found by clientId alone, as in Faye).
func WithCookieBinding(on bool) Option {
	return func(c *config) { c.cookieBinding = on }
}

// WithExtension adds a server-side extension. Extensions see every message
// received (Incoming, in the order added) and every message sent
// (Outgoing, in reverse order, as CometD does). See Extension.
func WithExtension(e Extension) Option {
	return func(c *config) {
		if e != nil {
			c.exts = append(c.exts, e)
		}
	}
}

// WithMaxBodyBytes sets the largest request the server accepts: the body of
// a POST, the message parameters of a callback-polling GET, or one
// websocket frame. Larger HTTP requests get 413; a larger frame closes the
// socket with 1009. Default DefaultMaxBodyBytes (1 MiB).
func WithMaxBodyBytes(n int64) Option {
	return func(c *config) {
		if n > 0 {
			c.maxBody = n
		}
	}
}

// WithLogger sets a logger for the server's debug output (requests,
// sessions, faults). The default discards everything.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) {
		if l != nil {
			c.logger = l
		}
	}
}

// WithHostsAdvice adds a "hosts" field to every advice the server sends
// (handshake and connect replies and unknown-client replies), listing
// alternate servers.
func WithHostsAdvice(hosts []string) Option {
	return func(c *config) { c.hosts = append([]string(nil), hosts...) }
}

// WithPath sets the path the server is mounted on (default "/bayeux");
// Server.URL ends with it. Sub-paths (such as /bayeux/connect, which CometD
// clients append) are served too.
func WithPath(p string) Option {
	return func(c *config) {
		p = strings.TrimRight(p, "/")
		if p == "" || p[0] != '/' {
			p = "/" + p
		}
		c.path = p
	}
}

// WithEventsBeforeReplies makes the server put queued events before the
// replies in a response, as CometD does ([event, event, connect reply]).
// The default is Faye's order: replies first, then events.
func WithEventsBeforeReplies(on bool) Option {
	return func(c *config) { c.eventsFirst = on }
}

// WithMetaConnectDeliveryOnly makes the server send events only in
// /meta/connect replies, as CometD's metaConnectDeliveryOnly setting does
// (and as sessions using the ack extension always are): events never ride
// on the response to a publish or a subscribe, nor are they pushed on a
// websocket on their own. A session's events then come in one ordered
// stream, whatever the transport. The default is off: events ride on any
// response of the session, as in CometD's default.
func WithMetaConnectDeliveryOnly(on bool) Option {
	return func(c *config) { c.connectDeliveryOnly = on }
}

// WithReceivedLimit bounds the log kept for Received to the last n
// messages (useful in benchmarks); n < 0 disables the log. Default 0:
// unlimited.
func WithReceivedLimit(n int) Option {
	return func(c *config) { c.receivedLimit = n }
}

// WithStrictMessageIDs controls whether message ids must be alphanumeric, as
// the specification's grammar says (and the CometD server checks). When on
// (the default), a message whose id has another character is answered
// unsuccessful with "405:<id>:Invalid message id" and not processed.
func WithStrictMessageIDs(on bool) Option {
	return func(c *config) { c.strictIDs = on }
}

// WithPushInterval spaces out the frames of pushed events on a websocket:
// after a frame of events, the next one waits until d has passed, and
// carries every event published meanwhile. A frame written after a quiet
// spell of d or more goes at once, and so does a frame of replies; so
// events wait at most d, and only when they come faster than one per d.
// Fewer, larger frames cost the server and the client less CPU per event
// (one write and one read system call per frame), as CometD's lazy
// messages trade latency for batching. Zero (the default) writes each
// frame as soon as it can; events queued while a frame is being written
// still go together in the next one.
func WithPushInterval(d time.Duration) Option {
	return func(c *config) { c.pushInterval = max(d, 0) }
}
