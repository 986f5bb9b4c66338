package websocket

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bayeux-go/sdk/bayeux"
	gws "github.com/gorilla/websocket"
)

// Errors wrapped in the *bayeux.TransportError of a torn connection.
var (
	// ErrPongTimeout means nothing (no pong, no other frame) arrived within
	// the pong timeout after a ping: the peer is considered dead.
	ErrPongTimeout = errors.New("websocket: no pong from server: connection dead")
	// ErrMessageTimeout means the replies of a batch did not arrive within
	// the cap set by WithMessageTimeout.
	ErrMessageTimeout = errors.New("websocket: message timeout")
	// ErrSilent means a request's context deadline passed without any
	// frame from the server since the request was sent: the connection
	// stays open but the server stopped answering, so it is torn and the
	// next RoundTrip dials again (as the CometD clients do).
	ErrSilent = errors.New("websocket: server silent until the request's deadline")
)

// ErrUpgradeTorn is wrapped in the *bayeux.TransportError (with Refused
// set) of an upgrade that got no HTTP answer: the connection was closed,
// reset or timed out after the TCP (and TLS) connection was made.
var ErrUpgradeTorn = errors.New("websocket: upgrade torn before an answer")

// Errors returned for a batch the transport cannot send. They are the
// caller's mistakes, not transport failures.
var (
	// ErrEmptyBatch is returned by RoundTrip for an empty batch: an empty
	// frame is never sent.
	ErrEmptyBatch = errors.New("websocket: empty batch")
	// ErrHandshakeNotAlone is returned by RoundTrip for a batch that holds
	// a /meta/handshake with other messages: a handshake travels alone.
	ErrHandshakeNotAlone = errors.New("websocket: /meta/handshake must be alone in its batch")
	// ErrDuplicateID is returned by RoundTrip when a message id of the
	// batch is already awaiting its reply (or appears twice in the batch):
	// replies could not be told apart.
	ErrDuplicateID = errors.New("websocket: message id already awaiting a reply")
	// ErrNotInitialized is returned by RoundTrip before Init.
	ErrNotInitialized = errors.New("websocket: transport used before Init")
)

// closeGrace is how long Close waits for the server to answer the close
// frame before it drops the TCP connection.
const closeGrace = 500 * time.Millisecond

// Transport is the websocket Bayeux transport. Create it with New and hand
// it to a client (bayeux.WithTransports); the client calls Init, RoundTrip
// and Close. It is safe for concurrent use.
//
// One connection carries every message of the session. It is opened on the
// first RoundTrip, and again on the next RoundTrip after it was torn (read
// or write error, close frame from the server, dead peer, malformed or
// oversized frame). A torn connection fails every RoundTrip waiting on it
// with a *bayeux.TransportError.
type Transport struct {
	o options

	// Set by Init, read-only afterwards.
	inited  bool
	cfg     bayeux.TransportConfig
	dialer  gws.Dialer
	header  http.Header
	receive func([]bayeux.Message)
	// receiveReplies: whole frames go to receive, replies included
	// (bayeux.TransportConfig.ReceiveReplies).
	receiveReplies bool
	logger         *slog.Logger
	initOnce       sync.Mutex

	ctx    context.Context // done when Close starts
	cancel context.CancelFunc
	// dialSem admits one dial at a time: concurrent RoundTrips share the
	// connection the first one opens.
	dialSem chan struct{}

	mu     sync.Mutex // guards conn and closed
	conn   *conn
	closed bool
	dialed http.Header // guarded by mu: the client's headers of the last dial

	wg sync.WaitGroup // goroutines of the connections

	// recvMu orders Receive calls against Close: Receive runs under the
	// read lock, and Close sets recvClosed under the write lock, so no
	// Receive call starts (or is still running) after Close returns.
	recvMu     sync.RWMutex
	recvClosed bool
}

var _ bayeux.Transport = (*Transport)(nil)

// New returns a websocket transport configured by opts. It does not
// register itself as a default transport: pass it to the client with
// bayeux.WithTransports.
func New(opts ...Option) *Transport {
	t := &Transport{o: defaultOptions(), dialSem: make(chan struct{}, 1)}
	for _, opt := range opts {
		if opt != nil {
			opt(&t.o)
		}
	}
	t.ctx, t.cancel = context.WithCancel(context.Background())
	return t
}

// Name returns "websocket".
func (t *Transport) Name() string { return bayeux.ConnectionTypeWebSocket }

// Init binds the transport to a client: its cookie jar, http.Client
// (whose *http.Transport lends its Proxy and TLS configuration when no
// Dialer is given), logger and Receive callback. It must be called once,
// before RoundTrip.
func (t *Transport) Init(cfg bayeux.TransportConfig) error {
	t.initOnce.Lock()
	defer t.initOnce.Unlock()
	if t.inited {
		return errors.New("websocket: Init called twice")
	}
	t.cfg = cfg
	t.logger = cfg.Logger
	if t.logger == nil {
		t.logger = slog.New(slog.DiscardHandler)
	}
	t.receive = cfg.Receive
	t.receiveReplies = cfg.ReceiveReplies && cfg.Receive != nil

	var httpTr *http.Transport
	if cfg.HTTPClient == nil || cfg.HTTPClient.Transport == nil {
		httpTr, _ = http.DefaultTransport.(*http.Transport)
	} else {
		httpTr, _ = cfg.HTTPClient.Transport.(*http.Transport)
	}
	if t.o.dialer != nil {
		t.dialer = *t.o.dialer
		if t.dialer.TLSClientConfig == nil && httpTr != nil {
			t.dialer.TLSClientConfig = httpTr.TLSClientConfig
		}
	} else {
		// Write buffers come from a pool shared by every connection of
		// the process: an idle session holds none (4 KiB each otherwise).
		// The read buffer, which a connection keeps, holds frame headers
		// and small frames: larger reads bypass it (see readFrame).
		t.dialer = gws.Dialer{HandshakeTimeout: DefaultHandshakeTimeout, Proxy: http.ProxyFromEnvironment,
			WriteBufferPool: writeBuffers, ReadBufferSize: readBufferSize}
		if httpTr != nil {
			t.dialer.Proxy = httpTr.Proxy
			t.dialer.TLSClientConfig = httpTr.TLSClientConfig
		}
	}
	if t.o.tlsConfig != nil {
		t.dialer.TLSClientConfig = t.o.tlsConfig
	}
	if t.o.compression != nil {
		t.dialer.EnableCompression = *t.o.compression
	}
	jar := cfg.Jar
	if jar == nil && cfg.HTTPClient != nil {
		jar = cfg.HTTPClient.Jar
	}
	if jar != nil {
		t.dialer.Jar = jar
	}
	t.header = t.o.header.Clone()
	t.inited = true
	return nil
}

// http11Only returns a clone of c whose NextProtos offer only http/1.1: a
// configuration shared with an HTTP/2 capable http.Transport would let the
// server pick h2, on which the upgrade cannot happen.
func http11Only(c *tls.Config) *tls.Config {
	if c == nil {
		return nil
	}
	c = c.Clone()
	if len(c.NextProtos) > 0 {
		c.NextProtos = []string{"http/1.1"}
	}
	return c
}

func (t *Transport) isInited() bool {
	t.initOnce.Lock()
	defer t.initOnce.Unlock()
	return t.inited
}

// RoundTrip writes msgs as one frame (a JSON array) on the session's
// connection, dialing it first if needed, and returns the replies to the
// messages of msgs that have an ID, in the order they arrived. Messages
// without ID are not waited for: a batch with no ID returns (nil, nil) as
// soon as it is written. Everything else the server sends (events, late
// replies) goes to the Receive callback of the TransportConfig.
//
// A reply is a message whose id matches a message awaiting its reply and
// which is either on a /meta/ channel or carries "successful": Faye, for
// one, pushes events that reuse the id of the publish that caused them.
//
// When ctx ends first, RoundTrip returns a *bayeux.TransportError wrapping
// ctx.Err(). After a cancellation or a caller's deadline the connection
// stays open and replies arriving later go to Receive. After the client's
// own deadline (ctx's cause matches bayeux.ErrNetworkDelay), the
// connection stays open too if a frame arrived on it since the batch was
// sent; if none did, the server is taken as silent: the connection is torn
// (the error also wraps ErrSilent, and the other requests in flight fail
// with it) and the next RoundTrip dials again. Other failures are *bayeux.TransportError too
// (Refused when the server refused the upgrade, with its HTTP status, or
// when the upgrade got no answer at all, wrapping ErrUpgradeTorn), except
// bayeux.ErrClosed after Close and the batch errors (ErrEmptyBatch,
// ErrHandshakeNotAlone, ErrDuplicateID, *bayeux.EncodeError).
func (t *Transport) RoundTrip(ctx context.Context, url string, msgs []bayeux.Message) ([]bayeux.Message, error) {
	if !t.isInited() {
		return nil, ErrNotInitialized
	}
	nIDs, err := checkBatch(msgs)
	if err != nil {
		return nil, err
	}
	if t.isClosed() {
		return nil, bayeux.ErrClosed
	}
	// The frame's buffer goes back to the pool once written, not when the
	// replies are in: a held /meta/connect does not keep it.
	bp := getBuf()
	defer func() {
		if bp != nil {
			putBuf(bp)
		}
	}()
	frame, err := bayeux.AppendMessages((*bp)[:0], msgs)
	*bp = frame
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, t.ctxError(err)
	}

	if msgs[0].Channel == bayeux.MetaHandshake {
		t.redialIfHeaderChanged()
	}
	// A connection found torn before our frame went out is replaced: the
	// batch was not sent, so trying again cannot duplicate it.
	var c *conn
	var cl *call
	for attempt := 0; ; attempt++ {
		c, err = t.getConn(ctx, url)
		if err != nil {
			return nil, err
		}
		cl, err = c.register(msgs, nIDs)
		if err == nil {
			break
		}
		if errors.Is(err, ErrDuplicateID) || attempt >= 2 {
			return nil, err
		}
	}
	err = c.write(ctx, frame)
	putBuf(bp)
	bp = nil
	if err != nil {
		if cl != nil {
			c.abandon(cl, msgs)
		}
		return nil, err
	}
	if cl == nil {
		return nil, nil
	}
	return c.wait(ctx, cl, msgs)
}

// checkBatch validates msgs and counts the messages that have an ID.
func checkBatch(msgs []bayeux.Message) (int, error) {
	if len(msgs) == 0 {
		return 0, ErrEmptyBatch
	}
	n := 0
	var seen map[string]struct{} // for large batches
	for i := range msgs {
		if msgs[i].Channel == bayeux.MetaHandshake && len(msgs) > 1 {
			return 0, ErrHandshakeNotAlone
		}
		id := msgs[i].ID
		if id == "" {
			continue
		}
		n++
		dup := false
		if len(msgs) <= 16 {
			for j := range i {
				dup = dup || msgs[j].ID == id
			}
		} else {
			if seen == nil {
				seen = make(map[string]struct{}, len(msgs))
			}
			_, dup = seen[id]
			seen[id] = struct{}{}
		}
		if dup {
			return 0, fmt.Errorf("%w: %q twice in the batch", ErrDuplicateID, id)
		}
	}
	return n, nil
}

func (t *Transport) isClosed() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.closed
}

// ctxError is the error for a request whose context ended: ErrClosed if
// the transport was closed meanwhile, else a TransportError wrapping the
// context's error.
func (t *Transport) ctxError(err error) error {
	if t.isClosed() {
		return bayeux.ErrClosed
	}
	return transportError(err)
}

func transportError(err error) *bayeux.TransportError {
	return &bayeux.TransportError{ConnectionType: bayeux.ConnectionTypeWebSocket, Err: err}
}

// getConn returns the open connection to rawURL, dialing it if there is
// none.
func (t *Transport) getConn(ctx context.Context, rawURL string) (*conn, error) {
	if c := t.current(rawURL); c != nil {
		return c, nil
	}
	select {
	case t.dialSem <- struct{}{}:
	case <-ctx.Done():
		return nil, t.ctxError(ctx.Err())
	case <-t.ctx.Done():
		return nil, bayeux.ErrClosed
	}
	defer func() { <-t.dialSem }()
	// Another RoundTrip may have dialed while we waited.
	t.mu.Lock()
	old := t.conn
	t.mu.Unlock()
	if old != nil && !old.torn.Load() {
		if old.url == rawURL {
			return old, nil
		}
		// The client moved to another URL (advice hosts): this connection
		// is of no further use.
		old.tear(transportError(errors.New("websocket: server URL changed")))
	}
	// The dial runs on a goroutine of its own, which ends with it: the
	// deep stack of a dial (TCP, TLS, the HTTP upgrade) is then not left
	// grown on the caller's goroutine. The caller is the client's session
	// loop, whose stack only shrinks back (at a GC) when it uses less than
	// a quarter of it, which it never does while it waits for a held
	// /meta/connect: that costs an idle session 8 KiB.
	type dialed struct {
		c   *conn
		err error
	}
	ch := make(chan dialed, 1)
	go func() {
		c, err := t.dial(ctx, rawURL)
		ch <- dialed{c, err}
	}()
	d := <-ch
	return d.c, d.err
}

// current returns the open connection if it goes to rawURL.
func (t *Transport) current(rawURL string) *conn {
	t.mu.Lock()
	defer t.mu.Unlock()
	if c := t.conn; c != nil && c.url == rawURL && !c.torn.Load() {
		return c
	}
	return nil
}

// dial opens a connection to rawURL and starts its goroutines.
func (t *Transport) dial(ctx context.Context, rawURL string) (*conn, error) {
	wsURL, auth, err := toWebSocketURL(rawURL)
	if err != nil {
		return nil, transportError(err)
	}
	header := t.header
	if auth != "" && header.Get("Authorization") == "" {
		header = header.Clone()
		if header == nil {
			header = make(http.Header)
		}
		header.Set("Authorization", auth)
	}
	header = t.withClientHeader(header) // WithHeader and HeaderExtension

	// The dial ends when ctx ends or the transport is closed. The dialer
	// honours its context for the TCP and TLS steps only, so the network
	// connection is also closed when dialCtx ends during the HTTP upgrade.
	dialCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	stopClose := context.AfterFunc(t.ctx, cancel)
	defer stopClose()
	d := t.dialer
	if strings.HasPrefix(wsURL, "wss:") {
		// Cloned for the dial rather than at Init: a ws:// session does
		// not keep a TLS configuration it never uses.
		d.TLSClientConfig = http11Only(d.TLSClientConfig)
	}
	var ncMu sync.Mutex
	var ncs []net.Conn
	var ended bool // dialCtx ended: connections are closed as they come
	track := func(dial func(ctx context.Context, network, addr string) (net.Conn, error)) func(ctx context.Context, network, addr string) (net.Conn, error) {
		return func(ctx context.Context, network, addr string) (net.Conn, error) {
			nc, err := dial(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			ncMu.Lock()
			defer ncMu.Unlock()
			if ended {
				nc.Close()
				return nil, dialCtx.Err()
			}
			ncs = append(ncs, nc)
			return nc, nil
		}
	}
	switch {
	case d.NetDialContext != nil:
		d.NetDialContext = track(d.NetDialContext)
	case d.NetDial != nil:
		nd := d.NetDial
		d.NetDial = nil
		d.NetDialContext = track(func(_ context.Context, network, addr string) (net.Conn, error) { return nd(network, addr) })
	default:
		var nd net.Dialer
		d.NetDialContext = track(nd.DialContext)
	}
	if d.NetDialTLSContext != nil {
		d.NetDialTLSContext = track(d.NetDialTLSContext)
	}
	stopWatch := context.AfterFunc(dialCtx, func() {
		ncMu.Lock()
		defer ncMu.Unlock()
		ended = true
		for _, nc := range ncs {
			nc.Close()
		}
	})

	// upgrading is set once the connection is up (TCP, and TLS for wss):
	// a failure after that, with no HTTP answer, is a torn upgrade.
	var upgrading atomic.Bool
	ownTLS := strings.HasPrefix(wsURL, "wss:") && d.NetDialTLSContext == nil
	traceCtx := httptrace.WithClientTrace(dialCtx, &httptrace.ClientTrace{
		GotConn: func(httptrace.GotConnInfo) {
			if !ownTLS {
				upgrading.Store(true)
			}
		},
		TLSHandshakeDone: func(_ tls.ConnectionState, err error) {
			if err == nil {
				upgrading.Store(true)
			}
		},
	})

	ws, resp, err := d.DialContext(traceCtx, wsURL, header)
	if !stopWatch() && err == nil {
		// The watch fired: the connection was closed under us.
		ws.Close()
		err = dialCtx.Err()
	}
	if err != nil {
		if t.isClosed() {
			return nil, bayeux.ErrClosed
		}
		if resp != nil {
			// The server answered the upgrade, but not with a websocket:
			// it refuses this transport.
			t.logger.Debug("bayeux websocket upgrade refused", "client", t.cfg.ClientName, "url", wsURL, "status", resp.StatusCode)
			return nil, &bayeux.TransportError{
				ConnectionType: bayeux.ConnectionTypeWebSocket,
				StatusCode:     resp.StatusCode,
				Refused:        !refusedCredentials(resp.StatusCode),
				Err:            fmt.Errorf("websocket upgrade refused with HTTP %s: %w", resp.Status, err),
			}
		}
		if ctxErr := ctx.Err(); ctxErr != nil && !errors.Is(err, ctxErr) {
			err = fmt.Errorf("%w (%w)", ctxErr, err)
		}
		if upgrading.Load() && !errors.Is(ctx.Err(), context.Canceled) {
			// The connection was up but the upgrade got no answer (closed,
			// reset, timed out): a proxy or server that does not pass
			// websockets. Fall back as for an upgrade answered without 101.
			t.logger.Debug("bayeux websocket upgrade torn", "client", t.cfg.ClientName, "url", wsURL, "error", err)
			return nil, &bayeux.TransportError{
				ConnectionType: bayeux.ConnectionTypeWebSocket,
				Refused:        true,
				Err:            fmt.Errorf("%w: %w", ErrUpgradeTorn, err),
			}
		}
		t.logger.Debug("bayeux websocket dial failed", "client", t.cfg.ClientName, "url", wsURL, "error", err)
		return nil, transportError(fmt.Errorf("websocket dial %s: %w", wsURL, err))
	}

	if n := t.cfg.Counters; n != nil {
		n.Dials.Add(1)
	}
	c := newConn(t, ws, rawURL)
	c.compressed = strings.Contains(resp.Header.Get("Sec-Websocket-Extensions"), "permessage-deflate")
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		ws.Close()
		return nil, bayeux.ErrClosed
	}
	t.conn = c
	t.wg.Add(1)
	go c.readLoop()
	if t.o.pingInterval > 0 {
		t.wg.Add(1)
		c.startKeepAlive()
	}
	t.mu.Unlock()
	t.logger.Debug("bayeux websocket connected", "client", t.cfg.ClientName, "url", wsURL, "compression", c.compressed)
	return c, nil
}

// toWebSocketURL maps an http(s) URL to ws(s) (ws and wss are kept) and
// moves its user information, which websocket URLs may not carry, to a
// Basic Authorization header value.
func toWebSocketURL(raw string) (wsURL, auth string, err error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", "", err
	}
	switch strings.ToLower(u.Scheme) {
	case "http", "ws":
		u.Scheme = "ws"
	case "https", "wss":
		u.Scheme = "wss"
	default:
		return "", "", fmt.Errorf("websocket: unsupported URL scheme %q in %q", u.Scheme, raw)
	}
	if u.Host == "" {
		return "", "", fmt.Errorf("websocket: URL %q has no host", raw)
	}
	if u.User != nil {
		pw, _ := u.User.Password()
		r := http.Request{Header: make(http.Header)}
		r.SetBasicAuth(u.User.Username(), pw)
		auth = r.Header.Get("Authorization")
		u.User = nil
	}
	u.Fragment = ""
	u.RawFragment = ""
	return u.String(), auth, nil
}

// deliver passes msgs to the Receive callback, unless Close has returned
// (or is returning). It reports whether msgs were passed (or were none).
func (t *Transport) deliver(msgs []bayeux.Message) bool {
	if len(msgs) == 0 || t.receive == nil {
		return true
	}
	t.recvMu.RLock()
	defer t.recvMu.RUnlock()
	if t.recvClosed {
		return false
	}
	t.receive(msgs)
	return true
}

// Close sends a close frame (1000) on the open connection, fails the
// RoundTrips in flight with bayeux.ErrClosed and waits for the
// transport's goroutines to end. Receive is not called after Close
// returns; later RoundTrips return bayeux.ErrClosed. Close is idempotent.
//
// Close waits for a Receive call in progress, so Receive must not wait for
// Close to return.
func (t *Transport) Close() error {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return nil
	}
	t.closed = true
	c := t.conn
	t.conn = nil
	t.mu.Unlock()
	t.cancel()
	if c != nil {
		c.close()
	}
	t.recvMu.Lock()
	t.recvClosed = true
	t.recvMu.Unlock()
	t.wg.Wait()
	return nil
}

// bufPool recycles the buffers frames are encoded into (the websocket
// writer copies them).
var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 2048); return &b }}

func getBuf() *[]byte { return bufPool.Get().(*[]byte) }

func putBuf(b *[]byte) {
	if cap(*b) > 64<<10 {
		return
	}
	*b = (*b)[:0]
	bufPool.Put(b)
}

// readBufferSize is the size of the read buffer of the default dialer's
// connections (gorilla/websocket's default is 4 KiB).
const readBufferSize = 1024

// writeBuffers is the pool of write buffers the default dialer's
// connections share.
var writeBuffers = &sync.Pool{}
