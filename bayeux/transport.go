package bayeux

import (
	"context"
	"log/slog"
	"net/http"
	"sync/atomic"
)

// Transport moves batches of Bayeux messages between a client and a server.
// Long-polling, callback-polling and websocket implement it in
// github.com/bayeux-go/sdk/transport/...; a user can write their own (see
// docs/transports.md).
//
// The contract:
//
//   - A Transport value is bound to one client: the client calls Init once,
//     before any RoundTrip, and Close once when it is done with it.
//   - RoundTrip sends msgs as one batch to the server at url and returns
//     what the server sent back in answer: the replies to msgs and any other
//     messages (events) that came with them, in the order received. For a
//     request/response transport (HTTP) that is the response body; a
//     transport with a persistent connection (websocket) returns once every
//     message in msgs that has an ID has its reply (matched by ID), or ctx
//     ends.
//   - Messages that arrive outside any reply (events pushed on a websocket,
//     late replies) are passed to TransportConfig.Receive. The client treats
//     them exactly as messages returned by RoundTrip.
//   - When TransportConfig.ReceiveReplies is set, a transport with a
//     persistent connection may pass every frame it receives, replies
//     included, to Receive, whole and in the order received, and return
//     from RoundTrip with no messages once the replies of its batch have
//     been passed: the client matches replies to requests by id whichever
//     way they come. That keeps a frame's events and the reply they ride
//     with in the server's order (the acknowledgement extension needs a
//     /meta/connect reply's batch id before that batch's events).
//   - RoundTrip must be safe for concurrent use: a held /meta/connect and a
//     publish overlap in time. An HTTP transport must never make a publish
//     wait behind the held /meta/connect (the specification allows two
//     connections per client: one for /meta/connect, one for the rest).
//   - Messages returned by RoundTrip or passed to Receive belong to the
//     client from then on: the transport must not modify or reuse them (or
//     the buffers their raw fields alias). The client keeps pointers to
//     them until every subscriber's handler has run.
//   - RoundTrip must not modify msgs, must not interpret advice or
//     "successful" (the client owns the session: state, advice, ids,
//     backoff), and must not re-send a batch on its own unless the batch can
//     not be duplicated by the retry: a batch holding a publish only when it
//     provably never reached the server, or when
//     TransportConfig.ResendPublishes is set.
//   - A transport judges the server silent (and may tear a persistent
//     connection the other requests share) only when ctx ends with a cause
//     matching ErrNetworkDelay: the client's own deadline. Any other end of
//     ctx (a caller's deadline or cancellation) ends that request's wait
//     and nothing else.
//   - ctx carries the request's deadline (advice timeout plus the maximum
//     network delay for /meta/connect) and cancellation; RoundTrip returns
//     promptly when it ends.
//   - Failures are returned as *TransportError (errors.Is(err,
//     ErrTransport)), with StatusCode for HTTP answers and Refused set when
//     the server refused the transport itself (for example a websocket
//     upgrade answered without 101), so that the client can fall back.
//     Unparseable bodies are reported with a *DecodeError as the cause.
//   - Close releases connections; RoundTrip after Close returns ErrClosed.
type Transport interface {
	// Name returns the connection type, as it appears in
	// supportedConnectionTypes and connectionType ("long-polling").
	Name() string
	// Init binds the transport to a client. It is called once, before the
	// first RoundTrip.
	Init(cfg TransportConfig) error
	// RoundTrip sends one batch and returns what the server answered.
	RoundTrip(ctx context.Context, url string, msgs []Message) ([]Message, error)
	// Close releases the transport's resources.
	Close() error
}

// TransportConfig is what a client gives the transports it uses.
type TransportConfig struct {
	// HTTPClient is the http.Client to send HTTP requests (and websocket
	// upgrades) with. It is the user's client, used as given: transports
	// must not modify it. It is never nil.
	HTTPClient *http.Client
	// Jar is the session's cookie jar, one per client (servers bind
	// sessions to the BAYEUX_BROWSER cookie). Transports add its cookies to
	// each request and store the cookies of each successful response in it
	// (as CometD does, not those of error answers). It is nil
	// when HTTPClient has a Jar of its own, which then does the same.
	Jar http.CookieJar
	// Logger is the client's logger (never nil).
	Logger *slog.Logger
	// Receive is called with messages that arrive outside a reply. It may
	// be called from any goroutine; the client orders and dispatches them.
	// It must not be called after Close returns.
	Receive func([]Message)
	// ReceiveReplies reports that Receive also takes replies: the client
	// matches them to its requests by id, so a transport with a persistent
	// connection may pass whole frames to Receive, replies included, and
	// return none from RoundTrip (see Transport). The session Client sets
	// it; BayeuxClient, which returns replies to its caller, does not.
	ReceiveReplies bool
	// ResendPublishes reports that the user chose at-least-once publishes
	// (WithResendPublishes): a transport may send a batch holding a
	// publish once more after a failure that left its fate unknown (a
	// connection closed under it before any byte of the answer). When it
	// is false, a batch holding a publish is re-sent only when it provably
	// never reached the server.
	ResendPublishes bool
	// Counters, when not nil, is where the transport counts what it moves
	// (Client.Stats reports it): the bytes of each body or frame it sends
	// and receives, and each connection it opens for a persistent
	// transport (a websocket dial). A transport may leave it alone.
	Counters *TransportCounters
	// ClientName is a short identifier of the client for logs.
	ClientName string
	// Header, when set, sets the client's headers (WithHeader, and those
	// of HeaderExtension extensions, an Authorization header say) on an
	// HTTP request or websocket dial. Transports call it for every request
	// and every dial, just before sending.
	Header func(http.Header)
}

// TransportCounters is what a transport counts for its client
// (TransportConfig.Counters). Its fields are atomic: add to them from any
// goroutine.
type TransportCounters struct {
	// BytesIn and BytesOut count the bytes of the Bayeux payloads
	// received and sent (bodies and frames, not HTTP headers).
	BytesIn, BytesOut atomic.Uint64
	// Dials counts the connections a persistent transport opened (a
	// websocket's dials, the first one included).
	Dials atomic.Uint64
	// LostResponses counts the requests a transport sent again by itself
	// after an attempt that may have reached the server failed (its
	// connection closed or torn before the whole answer came): what the
	// server sent in that answer, the events of a /meta/connect say, was
	// lost. A persistent transport counts a connection that broke (not
	// closed by the client, nor by the server's close frame): the events
	// the server pushed on it may be lost, whether or not a request was
	// waiting. The client then lets a ResumeExtension (ext/replay) recover
	// them at the next successful /meta/connect, unless a handshake came
	// first (a new session resumes anyway). A transport that cannot lose
	// an answer leaves it alone.
	LostResponses atomic.Uint64
}
