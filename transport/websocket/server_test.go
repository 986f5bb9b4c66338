package websocket

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bayeux-go/sdk/bayeux"
	gws "github.com/gorilla/websocket"
)

// wsServer is a small websocket peer for the tests: it upgrades requests
// (or refuses them) and runs a handler per connection. It records the
// upgrade requests and tracks its handler goroutines so that closing it
// leaves none behind.
type wsServer struct {
	*httptest.Server
	upgrader   gws.Upgrader
	handle     func(*sconn)
	respHeader http.Header

	refuse   atomic.Int32 // HTTP status to refuse upgrades with, 0 to accept
	upgrades atomic.Int32 // successful upgrades

	mu       sync.Mutex
	requests []*http.Request
	conns    map[*sconn]struct{}
	closed   bool
	wg       sync.WaitGroup
}

type serverOption func(*wsServer)

// serverTLS makes the server speak TLS (wss).
func serverTLS(s *wsServer) { s.Server.TLS = &tls.Config{} }

// serverCompression lets the server negotiate permessage-deflate.
func serverCompression(s *wsServer) { s.upgrader.EnableCompression = true }

// serverSmallBuffers shrinks the receive buffer of accepted connections,
// so that a server that stops reading blocks its peer's writes early.
func serverSmallBuffers(s *wsServer) {
	s.Server.Listener = smallBufListener{s.Server.Listener}
}

type smallBufListener struct{ net.Listener }

func (l smallBufListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetReadBuffer(4096)
	}
	return c, err
}

// smallBufDialer is a dialer whose connections have a small send buffer.
func smallBufDialer() *gws.Dialer {
	return &gws.Dialer{NetDialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		var d net.Dialer
		c, err := d.DialContext(ctx, network, addr)
		if tc, ok := c.(*net.TCPConn); ok {
			_ = tc.SetWriteBuffer(4096)
		}
		return c, err
	}}
}

// serverHeader adds header fields to the upgrade response.
func serverHeader(h http.Header) serverOption {
	return func(s *wsServer) { s.respHeader = h }
}

// sconn is the server side of one websocket connection.
type sconn struct {
	ws     *gws.Conn
	header http.Header
	wmu    sync.Mutex
}

func newWSServer(tb testing.TB, handle func(*sconn), opts ...serverOption) *wsServer {
	tb.Helper()
	s := &wsServer{handle: handle, conns: make(map[*sconn]struct{})}
	s.Server = httptest.NewUnstartedServer(s)
	s.Server.Config.ErrorLog = log.New(io.Discard, "", 0) // TLS failures are expected in tests
	s.upgrader.CheckOrigin = func(*http.Request) bool { return true }
	for _, o := range opts {
		o(s)
	}
	if s.Server.TLS != nil {
		s.StartTLS()
	} else {
		s.Start()
	}
	tb.Cleanup(s.close)
	return s
}

func (s *wsServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.requests = append(s.requests, r.Clone(context.Background()))
	s.mu.Unlock()
	if code := s.refuse.Load(); code != 0 {
		http.Error(w, "no websocket here", int(code))
		return
	}
	ws, err := s.upgrader.Upgrade(w, r, s.respHeader)
	if err != nil {
		return
	}
	sc := &sconn{ws: ws, header: r.Header.Clone()}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		ws.Close()
		return
	}
	s.conns[sc] = struct{}{}
	s.wg.Add(1)
	s.mu.Unlock()
	s.upgrades.Add(1)
	defer func() {
		ws.Close()
		s.mu.Lock()
		delete(s.conns, sc)
		s.mu.Unlock()
		s.wg.Done()
	}()
	s.handle(sc)
}

// tear closes every open connection without a close frame.
func (s *wsServer) tear() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for sc := range s.conns {
		sc.ws.NetConn().Close()
	}
}

func (s *wsServer) close() {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.tear()
	s.wg.Wait()
	s.Server.Close()
}

// lastRequest returns the last upgrade request the server saw.
func (s *wsServer) lastRequest() *http.Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.requests) == 0 {
		return nil
	}
	return s.requests[len(s.requests)-1]
}

func (sc *sconn) read() ([]bayeux.Message, error) {
	_, b, err := sc.ws.ReadMessage()
	if err != nil {
		return nil, err
	}
	return bayeux.DecodeMessages(b)
}

func (sc *sconn) send(msgs ...bayeux.Message) error {
	b, err := bayeux.EncodeMessages(msgs)
	if err != nil {
		return err
	}
	return sc.sendRaw(string(b))
}

func (sc *sconn) sendRaw(s string) error {
	sc.wmu.Lock()
	defer sc.wmu.Unlock()
	return sc.ws.WriteMessage(gws.TextMessage, []byte(s))
}

// reply is the successful reply to m.
func reply(m bayeux.Message) bayeux.Message {
	r := bayeux.Message{ID: m.ID, Channel: m.Channel, ClientID: m.ClientID}
	r.SetSuccessful(true)
	return r
}

// event is a message pushed on channel ch with data d (JSON).
func event(ch, d string) bayeux.Message {
	return bayeux.Message{Channel: bayeux.Channel(ch), Data: json.RawMessage(d)}
}

// bayeuxPeer behaves like a minimal Bayeux server (no session checks): a
// handshake is answered, a /meta/connect is held until the next publish, a
// publish is first echoed as an event carrying the publish's id (as Faye
// does), then acknowledged, then the held connect is answered. Other
// messages with an id get a successful reply.
func bayeuxPeer(sc *sconn) {
	var held []bayeux.Message
	for {
		msgs, err := sc.read()
		if err != nil {
			return
		}
		for _, m := range msgs {
			switch {
			case m.Channel == bayeux.MetaHandshake:
				r := reply(m)
				r.ClientID = "client-1"
				r.Version = "1.0"
				r.SupportedConnectionTypes = []string{"websocket", "long-polling"}
				_ = sc.send(r)
			case m.Channel == bayeux.MetaConnect:
				if m.Advice != nil && m.Advice.HasTimeout() && m.Advice.Timeout == 0 {
					_ = sc.send(reply(m))
				} else {
					held = append(held, m)
				}
			case !m.IsMeta() && len(m.Data) > 0:
				e := bayeux.Message{Channel: m.Channel, Data: m.Data, ID: m.ID}
				_ = sc.send(e)
				_ = sc.send(reply(m))
				for _, h := range held {
					_ = sc.send(reply(h))
				}
				held = nil
			case m.ID != "":
				_ = sc.send(reply(m))
			}
		}
	}
}

// drain reads until the connection fails.
func drain(sc *sconn) {
	for {
		if _, _, err := sc.ws.ReadMessage(); err != nil {
			return
		}
	}
}

// recorder collects what Receive is given.
type recorder struct {
	mu     sync.Mutex
	msgs   []bayeux.Message
	calls  int
	closed atomic.Bool // set by a test once Close returned
	tb     testing.TB
}

func (r *recorder) receive(msgs []bayeux.Message) {
	if r.closed.Load() {
		r.tb.Errorf("Receive called after Close returned")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.msgs = append(r.msgs, msgs...)
	r.calls++
}

func (r *recorder) snapshot() []bayeux.Message {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]bayeux.Message(nil), r.msgs...)
}

// waitFor polls until Receive got at least n messages.
func (r *recorder) waitFor(tb testing.TB, n int) []bayeux.Message {
	tb.Helper()
	eventually(tb, func() bool { return len(r.snapshot()) >= n }, "Receive to get %d messages", n)
	return r.snapshot()
}

// eventually polls cond for up to 10 s.
func eventually(tb testing.TB, cond func() bool, what string, args ...any) {
	tb.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out waiting for "+what, args...)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// newTransport returns an initialized transport that records what it
// receives; it is closed when the test ends.
func newTransport(tb testing.TB, cfg bayeux.TransportConfig, opts ...Option) (*Transport, *recorder) {
	tb.Helper()
	tr := New(opts...)
	rec := &recorder{tb: tb}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	cfg.Receive = rec.receive
	if err := tr.Init(cfg); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { tr.Close() })
	return tr, rec
}

// roundTrip runs RoundTrip in a goroutine and returns a channel for its
// result.
type result struct {
	msgs []bayeux.Message
	err  error
}

func goRoundTrip(ctx context.Context, tr *Transport, url string, msgs ...bayeux.Message) <-chan result {
	ch := make(chan result, 1)
	go func() {
		m, err := tr.RoundTrip(ctx, url, msgs)
		ch <- result{m, err}
	}()
	return ch
}

func await(tb testing.TB, ch <-chan result) result {
	tb.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(10 * time.Second):
		tb.Fatal("RoundTrip did not return")
		return result{}
	}
}

// connGoroutines counts the goroutines of this package's connections.
func connGoroutines() int {
	buf := make([]byte, 1<<20)
	n := runtime.Stack(buf, true)
	return strings.Count(string(buf[:n]), "transport/websocket.(*conn).readLoop") +
		strings.Count(string(buf[:n]), "transport/websocket.(*conn).keepAlive")
}

// asTransportError fails unless err is a *bayeux.TransportError.
func asTransportError(tb testing.TB, err error) *bayeux.TransportError {
	tb.Helper()
	var te *bayeux.TransportError
	if !errors.As(err, &te) {
		tb.Fatalf("error %v (%T) is not a *bayeux.TransportError", err, err)
	}
	if !errors.Is(err, bayeux.ErrTransport) {
		tb.Fatalf("error %v does not match bayeux.ErrTransport", err)
	}
	if te.ConnectionType != "websocket" {
		tb.Fatalf("ConnectionType = %q", te.ConnectionType)
	}
	return te
}
