package bayeux

import (
	"context"
	"log/slog"
	"net/http"
)

// MessageExtender defines the interface that extensions are expected to
// implement. Extensions see and may change every message the client sends
// and receives, meta messages included.
//
// Order: Incoming runs in registration order; Outgoing runs in reverse
// registration order, as CometD does, so that the first extension
// registered is the closest to the wire in both directions.
//
// Outgoing receives the message about to be sent (after the client set its
// id, clientId and fields) and may change it in place; the changes are what
// goes on the wire (gobayeux lost them). Incoming receives each message as
// decoded, before the client acts on it; changes are what the client and
// subscribers see. Registered is called when the extension is added with
// UseExtension, with its name and the low-level client it is attached to;
// Unregistered when it is removed or the client is disconnected. After
// Disconnect, the delivery hooks (DeliveredExtension, HandlerExtension,
// UndeliveredExtension) are still called for the messages the
// subscriptions deliver from their queues, until Done closes. For an
// extension of a session Client, that BayeuxClient is a handle kept for
// gobayeux compatibility: ClientID works, but its request methods
// (Handshake, Connect, Subscribe, Publish, Disconnect, Close) return an
// error matching ErrBadState, since the Client owns its session; such an
// extension acts through the SessionHandle (SessionExtension).
//
// Outgoing and Incoming run on the goroutine sending or receiving, with
// the client's incoming path held: they must not block, and must not call
// the Client (publish, subscribe, disconnect). The methods of the
// SessionHandle (SessionExtension) never block and may be called from them.
//
// An extension may implement any of the optional interfaces below, found
// by type assertion as http.Flusher is: SessionExtension,
// HeaderExtension, RetryExtension, FilterExtension, DeliveredExtension,
// UndeliveredExtension, PublishExtension, HandlerExtension.
// docs/extensions.md shows where each one runs.
type MessageExtender interface {
	Outgoing(*Message)
	Incoming(*Message)
	Registered(extensionName string, client *BayeuxClient)
	Unregistered()
}

// NamedExtension may be implemented by a MessageExtender to give the name
// passed to Registered; otherwise the name is the extension's Go type.
type NamedExtension interface {
	Name() string
}

// SessionHandle is what a Client gives its extensions of the session
// (SessionExtension): the current client id (it changes at each
// re-handshake), a way to ask for a new handshake, to report an error to
// the client's error handler, and the client's logger. It is a handle, not
// the session: the Client owns the session. Its methods are safe from any
// goroutine and never block.
type SessionHandle interface {
	// ClientID returns the current session's id ("" while there is none).
	ClientID() string
	// Rehandshake ends the current session: the client handshakes again
	// (and renews every subscription), as when the server lost it. The
	// session left behind is told /meta/disconnect in the background,
	// best effort, so that the server does not keep it until it expires
	// (its reply reaches /meta/disconnect listeners with the old clientId).
	Rehandshake(reason error)
	// ReportError passes err to the client's error handler.
	ReportError(err error)
	// Logger returns the client's logger.
	Logger() *slog.Logger
}

// Session is the former name of SessionHandle.
//
// Deprecated: use SessionHandle.
type Session = SessionHandle

// SessionExtension is implemented by extensions that need the session:
// AttachSession is called once, when the extension is registered with a
// Client (after Registered), never with a low-level BayeuxClient.
type SessionExtension interface {
	AttachSession(SessionHandle)
}

// HeaderExtension is implemented by extensions that set HTTP headers (an
// Authorization header, say): SetHeaders is called before every HTTP
// request and every websocket dial of the client, with the request's
// headers, which it may change. It must not block (a token refresh
// belongs elsewhere: see RetryExtension).
type HeaderExtension interface {
	SetHeaders(http.Header)
}

// RetryExtension is implemented by extensions that can fix a failed
// /meta/handshake or /meta/subscribe: after the server denied it (reply
// is the denial, with its error and advice) or the request failed (reply
// is nil, err the failure, an HTTP 401 say), Retry says whether to send it
// again. The retry goes out after the client's backoff, through Outgoing
// again, where the extension can change it (a fresh token, another replay
// id). Retry runs on the client's goroutines; it may block briefly (to
// refresh a token), never on the client.
type RetryExtension interface {
	Retry(request *Message, reply *Message, err error) bool
}

// FilterExtension is implemented by extensions that drop incoming events
// (duplicates, say): Keep is called for each event after Incoming, and an
// event it returns false for is delivered to no subscription. Replies are
// not filtered. It runs like Incoming.
type FilterExtension interface {
	Keep(*Message) bool
}

// DeliveredExtension is implemented by extensions that act once a message
// was handled: Delivered is called after a subscription's handler returned
// (in pull mode, once the caller asked for the next message or called
// Subscription.Commit), with the subscription's channel. It runs on the
// subscription's goroutine (in pull mode, the caller's) and must not block. m points to the
// message as received, shared by every subscription that gets it: it must
// not be modified, and is valid only during the call (copy what you keep;
// m.Data aliases the response body).
type DeliveredExtension interface {
	Delivered(subscription Channel, m *Message)
}

// UndeliveredExtension is implemented by extensions that act when an event
// received for a subscription is dropped before its handler saw it: the
// subscription's queue was full (OverflowDrop, or beyond OverflowBlock's
// allowance; see Subscription.Dropped). Undelivered is called with the
// subscription's channel on the goroutine that receives; it must not
// block, and m is shared and valid only during the call, as for
// DeliveredExtension. The replay extension uses it so that a stored
// position never moves past an event that was not handled.
type UndeliveredExtension interface {
	Undelivered(subscription Channel, m *Message)
}

// BackpressureExtension is implemented by extensions for which an event
// dropped before a handler saw it is lost for good: ext/replay, whose
// stored position would otherwise move on without it (Salesforce has no
// other way to send it again). While one registered extension's
// NeedsBackpressure returns true, a client whose Overflow policy is
// OverflowDefault (the zero value) applies OverflowBlock: a slow handler
// holds the next /meta/connect, and the server keeps the backlog. An
// explicit WithDeliveryQueue policy wins.
type BackpressureExtension interface {
	NeedsBackpressure() bool
}

// ResumeExtension is implemented by extensions that can recover the events
// of a lost response: ConnectLost is called on the session goroutine when
// a /meta/connect failed after it may have reached the server (its
// connection closed or torn under it, or the server silent past the
// network delay), when a transport sent a request again by itself after
// such a failure, or before the next /meta/connect once a persistent
// transport's connection broke (both TransportCounters.LostResponses): the
// events the server put in the answer that never arrived, or pushed on the
// broken connection, are lost. When it returns true, the
// client leaves the session (telling the server /meta/disconnect in the
// background) and handshakes again at once; each subscription is renewed
// through the extensions' Outgoing, where ext/replay asks every channel
// for the events after the last one handled, and its filter drops the
// copies of those already received. It must not block.
type ResumeExtension interface {
	ConnectLost(cause error) (resume bool)
}

// PublishExtension is implemented by extensions that act around each
// publish (tracing, metrics): StartPublish is called by Publish, Call and
// Batch.Send for each message sent (each attempt), with the caller's
// context, before the outgoing extensions; it may add to m.Ext (a trace
// context, say). The function it returns, if not nil, is called once the
// outcome is known, with the server's reply (nil when none came) and the
// error the caller gets. Both run on the caller's goroutine and must not
// block.
type PublishExtension interface {
	StartPublish(ctx context.Context, m *Message) (end func(reply *Message, err error))
}

// HandlerExtension is implemented by extensions that act around each call
// of a subscription's handler (tracing, timing): StartHandler is called on
// the subscription's goroutine just before the handler, with the
// subscription's channel and the message (shared and valid only during the
// call, as for DeliveredExtension); the function it returns, if not nil,
// is called once the handler returned, or panicked (panicked is then
// true). Neither may block. With no such extension, delivery costs what
// it did.
type HandlerExtension interface {
	StartHandler(subscription Channel, m *Message) (end func(panicked bool))
}

// hooks is a snapshot of the registered extensions, by the optional
// interfaces they implement, read without a lock on the hot paths.
type hooks struct {
	all         []registeredExt
	headers     []HeaderExtension
	retries     []RetryExtension
	filters     []FilterExtension
	delivered   []DeliveredExtension
	undelivered []UndeliveredExtension
	publishes   []PublishExtension
	handlers    []HandlerExtension
	resumes     []ResumeExtension
	// backpressure: a registered extension needs OverflowBlock (see
	// BackpressureExtension).
	backpressure bool
}

func newHooks(exts []registeredExt) *hooks {
	h := &hooks{all: exts}
	for _, x := range exts {
		if v, ok := x.ext.(HeaderExtension); ok {
			h.headers = append(h.headers, v)
		}
		if v, ok := x.ext.(RetryExtension); ok {
			h.retries = append(h.retries, v)
		}
		if v, ok := x.ext.(FilterExtension); ok {
			h.filters = append(h.filters, v)
		}
		if v, ok := x.ext.(DeliveredExtension); ok {
			h.delivered = append(h.delivered, v)
		}
		if v, ok := x.ext.(UndeliveredExtension); ok {
			h.undelivered = append(h.undelivered, v)
		}
		if v, ok := x.ext.(PublishExtension); ok {
			h.publishes = append(h.publishes, v)
		}
		if v, ok := x.ext.(HandlerExtension); ok {
			h.handlers = append(h.handlers, v)
		}
		if v, ok := x.ext.(ResumeExtension); ok {
			h.resumes = append(h.resumes, v)
		}
		if v, ok := x.ext.(BackpressureExtension); ok && v.NeedsBackpressure() {
			h.backpressure = true
		}
	}
	return h
}

// retry asks the retry extensions whether to send request again.
func (h *hooks) retry(request, reply *Message, err error) bool {
	again := false
	for _, r := range h.retries {
		if r.Retry(request, reply, err) {
			again = true
		}
	}
	return again
}

// startPublish calls the publish extensions for m and returns what to
// call with the outcome (nil when there are none).
func (h *hooks) startPublish(ctx context.Context, m *Message) func(reply *Message, err error) {
	switch len(h.publishes) {
	case 0:
		return nil
	case 1:
		return h.publishes[0].StartPublish(ctx, m)
	}
	ends := make([]func(*Message, error), 0, len(h.publishes))
	for _, p := range h.publishes {
		if end := p.StartPublish(ctx, m); end != nil {
			ends = append(ends, end)
		}
	}
	switch len(ends) {
	case 0:
		return nil
	case 1:
		return ends[0]
	}
	return func(reply *Message, err error) {
		for _, end := range ends {
			end(reply, err)
		}
	}
}

// resume asks the resume extensions whether to recover a lost response
// in a new session.
func (h *hooks) resume(cause error) bool {
	again := false
	for _, r := range h.resumes {
		if r.ConnectLost(cause) {
			again = true
		}
	}
	return again
}

// keep reports whether every filter keeps m.
func (h *hooks) keep(m *Message) bool {
	for _, f := range h.filters {
		if !f.Keep(m) {
			return false
		}
	}
	return true
}
