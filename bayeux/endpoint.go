package bayeux

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bayeux-go/sdk/internal/staleconn"
)

// endpoint is the wire layer both clients are built on: the configured
// URL, the HTTP client and cookie jar, the transports, message ids and the
// extension pipeline. It knows nothing of sessions: the session Client and
// the low-level BayeuxClient each keep their own.
type endpoint struct {
	url        string
	log        *slog.Logger
	httpClient *http.Client
	jar        http.CookieJar

	transports []Transport
	// current is the index in transports of the transport in use.
	current atomic.Int32

	nextID atomic.Uint64

	// mu guards exts and onPush; hooks is a snapshot of exts, replaced
	// when they change.
	mu     sync.Mutex
	exts   []registeredExt
	onPush func([]Message)
	hooks  atomic.Pointer[hooks]
	// header holds the client-wide headers (WithHeader).
	header http.Header

	// ownTransport is the connection pool made for this client when the
	// user gave no http.Client (closed by close).
	ownTransport *http.Transport
	// counters is where the transports count bytes and dials.
	counters TransportCounters
}

// ownIdleConnTimeout is how long a connection of a client's own pool
// stays open idle. An idle long-polling session keeps its held
// /meta/connect on one connection; the connection its last publish or
// subscribe used closes soon after (with its two net/http goroutines and
// buffers) rather than after http.DefaultTransport's 90 seconds, while
// requests sent back to back still reuse it. It is below the 5 seconds
// after which Node.js servers (Faye, the CometD Node server) close idle
// connections, which spares the race of a request sent on a connection
// the server is closing.
const ownIdleConnTimeout = 4 * time.Second

// ownBufferSize is the size of the read and of the write buffer of each
// connection of a client's own pool (net/http's default is 4 KiB each),
// which an idle session's held /meta/connect keeps: requests and the
// headers of replies mostly fit, and reads and writes of larger bodies
// bypass the buffers.
const ownBufferSize = 1024

// newOwnTransport returns the connection pool of a client of its own: a
// clone of dt with ownIdleConnTimeout and ownBufferSize.
func newOwnTransport(dt *http.Transport) *http.Transport {
	t := dt.Clone()
	// A connection the server closed right after a response (Ruby Faye
	// under puma does, without "Connection: close") fails the next
	// request before any byte of it is written, so that it can be sent
	// again without being delivered twice.
	staleconn.Install(t)
	t.IdleConnTimeout = ownIdleConnTimeout
	t.ReadBufferSize, t.WriteBufferSize = ownBufferSize, ownBufferSize
	return t
}

// sharedTransport is the connection pool of the clients made with
// WithSharedTransport.
var sharedTransport = sync.OnceValue(func() *http.Transport {
	t := &http.Transport{}
	if dt, ok := http.DefaultTransport.(*http.Transport); ok {
		t = dt.Clone()
	}
	// The pool is shared by any number of sessions, each holding a
	// /meta/connect: keep as many idle connections as were in use, so that
	// the replies of many sessions arriving together do not close
	// connections only for the next /meta/connect to dial them again. Idle
	// connections still close after IdleConnTimeout.
	t.MaxIdleConns = 0
	t.MaxIdleConnsPerHost = 1 << 16
	return t
})

// SharedTransport returns the connection pool shared by the clients made
// with WithSharedTransport, for instance to close its idle connections
// once every such client is disconnected. Do not modify it.
func SharedTransport() *http.Transport { return sharedTransport() }

// WithSharedTransport makes the client send its HTTP requests through one
// connection pool shared by every client of the process made with this
// option (SharedTransport, a clone of http.DefaultTransport), instead of a
// pool of its own. Cookies are not shared: each client keeps its own jar
// (unless WithHTTPClient gives a client with a Jar). A process holding
// many sessions to one server saves a connection, two goroutines and
// their buffers per idle long-polling session: the requests other than
// the held /meta/connect go over whichever pooled connection is idle.
// Disconnect does not close the shared pool's idle connections (other
// clients may use them); they close after 90 seconds idle, or with
// SharedTransport().CloseIdleConnections(). It replaces WithHTTPTransport.
func WithSharedTransport() Option {
	return func(o *Options) { o.Transport = sharedTransport() }
}

type registeredExt struct {
	name string
	ext  MessageExtender
}

func newEndpoint(serverAddress string, o *Options, onPush func([]Message), receiveReplies bool) (*endpoint, error) {
	u, err := url.Parse(serverAddress)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%w: server address %q must be an absolute http or https URL", ErrInvalidOption, serverAddress)
	}
	e := &endpoint{url: serverAddress, log: o.Logger, onPush: onPush, header: o.Header.Clone()}
	e.hooks.Store(newHooks(nil))

	// The user's http.Client is used as given, except that its redirect
	// policy is wrapped (on a copy) so that no request is re-sent to a host
	// the user did not name; WithHTTPTransport also works on a copy.
	// Cookies: the client's own Jar if it has one, else one jar per Bayeux
	// client, with a bound on its size.
	hc := o.Client
	if hc == nil {
		// A client of our own, with its own connection pool, closed with
		// the client so that no idle connection outlives it.
		hc = &http.Client{}
		if o.Transport == nil {
			if dt, ok := http.DefaultTransport.(*http.Transport); ok {
				e.ownTransport = newOwnTransport(dt)
				hc.Transport = e.ownTransport
			}
		}
	}
	cp := *hc
	if o.Transport != nil {
		cp.Transport = o.Transport
	}
	if !o.CrossHostRedirects {
		cp.CheckRedirect = sameHostRedirects(hc.CheckRedirect)
	}
	e.httpClient = &cp
	if hc.Jar == nil {
		jar, _ := cookiejar.New(nil)
		e.jar = &boundedJar{jar: jar, max: o.MaxCookies, log: o.Logger}
	}

	ts := o.Transports
	if len(ts) == 0 {
		ts = registeredTransports()
	}
	if len(ts) == 0 {
		return nil, fmt.Errorf("%w: configure one with WithTransports or import github.com/bayeux-go/sdk/transport/longpoll", ErrNoTransport)
	}
	seen := map[string]bool{}
	for _, t := range ts {
		if t == nil || t.Name() == "" || seen[t.Name()] {
			return nil, fmt.Errorf("%w: transports must be non-nil with distinct names", ErrInvalidOption)
		}
		seen[t.Name()] = true
	}
	cfg := TransportConfig{HTTPClient: e.httpClient, Jar: e.jar, Logger: o.Logger, Receive: e.receivePushed,
		ReceiveReplies: receiveReplies, ResendPublishes: o.ResendPublishes, Header: e.setHeaders,
		Counters: &e.counters}
	for i, t := range ts {
		if err := t.Init(cfg); err != nil {
			for _, done := range ts[:i] {
				_ = done.Close()
			}
			return nil, wrapOp("init "+t.Name()+" transport", err)
		}
	}
	e.transports = ts
	return e, nil
}

// receivePushed takes messages a transport received outside a reply.
func (e *endpoint) receivePushed(msgs []Message) {
	e.mu.Lock()
	fn := e.onPush
	e.mu.Unlock()
	if fn != nil {
		fn(msgs)
	}
}

// use registers ext, calling Registered with client.
func (e *endpoint) use(ext MessageExtender, client *BayeuxClient) error {
	if ext == nil {
		return fmt.Errorf("%w: nil extension", ErrInvalidOption)
	}
	name := extensionName(ext)
	e.mu.Lock()
	for _, x := range e.exts {
		if x.name == name {
			e.mu.Unlock()
			return AlreadyRegisteredError{ext}
		}
	}
	e.exts = append(e.exts, registeredExt{name, ext})
	e.hooks.Store(newHooks(e.exts))
	e.mu.Unlock()
	ext.Registered(name, client)
	return nil
}

// extensionName is the name ext is registered under: NamedExtension's, or
// its type's.
func extensionName(ext MessageExtender) string {
	if n, ok := ext.(NamedExtension); ok {
		return n.Name()
	}
	return fmt.Sprintf("%T", ext)
}

// remove unregisters ext (calling its Unregistered method) and reports
// whether it was registered.
func (e *endpoint) remove(ext MessageExtender) bool {
	e.mu.Lock()
	for i, x := range e.exts {
		if x.ext == ext {
			e.exts = append(e.exts[:i:i], e.exts[i+1:]...)
			e.hooks.Store(newHooks(e.exts))
			e.mu.Unlock()
			ext.Unregistered()
			return true
		}
	}
	e.mu.Unlock()
	return false
}

// unregisterAll removes every extension (calling Unregistered). The
// delivery hooks (DeliveredExtension, HandlerExtension,
// UndeliveredExtension) stay for the messages the subscriptions still
// deliver from their queues: a replay position or a handler span must not
// miss the last events handled after Disconnect.
func (e *endpoint) unregisterAll() {
	e.mu.Lock()
	exts := e.exts
	e.exts = nil
	old := e.hooks.Load()
	e.hooks.Store(&hooks{delivered: old.delivered, handlers: old.handlers, undelivered: old.undelivered, backpressure: old.backpressure})
	e.mu.Unlock()
	for i := len(exts) - 1; i >= 0; i-- {
		exts[i].ext.Unregistered()
	}
}

func (e *endpoint) extensions() []registeredExt { return e.hooks.Load().all }

// setHeaders adds the client-wide headers, then lets the header
// extensions set theirs, on an HTTP request or websocket dial.
func (e *endpoint) setHeaders(h http.Header) {
	for k, v := range e.header {
		h[k] = append([]string(nil), v...)
	}
	for _, x := range e.hooks.Load().headers {
		x.SetHeaders(h)
	}
}

// newID returns a fresh message id: alphanumeric (base 36) and unique for
// this client, as CometD's validator requires.
func (e *endpoint) newID() string {
	return strconv.FormatUint(e.nextID.Add(1), 36)
}

// transport returns the transport in use.
func (e *endpoint) transport() Transport { return e.transports[e.current.Load()] }

// outgoing runs the outgoing extensions, in reverse registration order, on
// copies of msgs, and returns the copies. Extensions may not change ids.
func (e *endpoint) outgoing(msgs []Message) []Message {
	exts := e.extensions()
	if len(exts) == 0 {
		return msgs
	}
	out := make([]Message, len(msgs))
	copy(out, msgs)
	for i := range out {
		id := out[i].ID
		for j := len(exts) - 1; j >= 0; j-- {
			exts[j].ext.Outgoing(&out[i])
		}
		out[i].ID = id
	}
	return out
}

// incoming runs the incoming extensions, in registration order, on msgs in
// place.
func (e *endpoint) incoming(msgs []Message) {
	exts := e.extensions()
	if len(exts) == 0 {
		return
	}
	for i := range msgs {
		for _, x := range exts {
			x.ext.Incoming(&msgs[i])
		}
	}
}

// roundTrip sends msgs over t after the outgoing extensions; the reply is
// returned raw (incoming extensions not yet run).
func (e *endpoint) roundTrip(ctx context.Context, t Transport, url string, msgs []Message) ([]Message, error) {
	return t.RoundTrip(ctx, url, e.outgoing(msgs))
}

func (e *endpoint) handshakeMessage(types []string, ext map[string]any) Message {
	m := Message{ID: e.newID(), Channel: MetaHandshake, Version: "1.0", MinimumVersion: "1.0",
		SupportedConnectionTypes: types}
	if len(ext) > 0 {
		m.Ext = make(map[string]any, len(ext))
		for k, v := range ext {
			m.Ext[k] = v
		}
	}
	return m
}

func (e *endpoint) transportNames() []string {
	names := make([]string, len(e.transports))
	for i, t := range e.transports {
		names[i] = t.Name()
	}
	return names
}

// close releases the transports and the connection pool of our own.
func (e *endpoint) close() error {
	var errs []error
	for _, t := range e.transports {
		if err := t.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	if e.ownTransport != nil {
		e.ownTransport.CloseIdleConnections()
		staleconn.Forget(e.ownTransport)
	}
	return joinErrors(errs)
}
