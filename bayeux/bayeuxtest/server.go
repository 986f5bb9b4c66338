package bayeuxtest

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"time"

	"github.com/bayeux-go/sdk/bayeux"
)

// ErrServerClosed is returned by WaitFor, Publish and Deliver once the
// server is closed.
var ErrServerClosed = errors.New("bayeuxtest: server closed")

// ServiceFunc handles a message published to a /service channel (a remote
// call). Its result is sent back to the caller only, as the reply
// {"channel", "id", "successful": true, "data": result}; a nil result gives
// a reply without data. A json.RawMessage result is sent as is (it must be
// valid JSON); anything else is encoded with encoding/json. A non-nil error
// gives an unsuccessful reply with error "500::" + err.Error().
type ServiceFunc func(m bayeux.Message) (data any, err error)

type service struct {
	channel bayeux.Channel
	fn      ServiceFunc
}

// Server is an in-process Bayeux server for tests, in the manner of
// net/http/httptest.Server. See the package documentation for what it does
// and how it departs from the specification.
type Server struct {
	// URL is the server's Bayeux endpoint, "http://127.0.0.1:port/bayeux",
	// set by Start. Websocket clients use the same URL with scheme "ws".
	URL string

	cfg config
	log *slog.Logger
	ts  *httptest.Server

	// done is closed by Close; it ends the sweeper, delays and waits.
	done chan struct{}
	// wg counts the goroutines the server starts itself: the sweeper, the
	// websocket readers and writers, and the goroutines holding connects
	// and delaying replies on websockets. (HTTP handlers are counted by
	// httptest.) Add is only called with mu held and closed false.
	wg sync.WaitGroup

	// mu guards every field below, the fields of every session and
	// heldConnect, and wsConn.sessions. It is never held while calling
	// extensions, service handlers or writing to the network.
	mu         sync.Mutex
	started    bool
	closed     bool
	sessions   map[string]*session
	index      subIndex // the sessions of each subscription (subindex.go)
	seq        uint64
	handshakes int
	faults     []*Fault
	received   []bayeux.Message
	counts     map[bayeux.Channel]int
	services   []service
	wsConns    map[*wsConn]struct{}
	refuseWS   bool
	held       int
	replay     replayLog // the replay event log (replay.go)
	// changed is closed and replaced on every state change (see WaitFor).
	changed chan struct{}
}

// NewServer starts and returns a new Server configured by opts. The caller
// must call Close when done with it.
func NewServer(opts ...Option) *Server {
	s := NewUnstartedServer(opts...)
	s.Start()
	return s
}

// NewUnstartedServer returns a new Server that is listening on 127.0.0.1
// but does not serve until Start is called. The caller must call Close.
func NewUnstartedServer(opts ...Option) *Server {
	cfg := defaultConfig()
	for _, o := range opts {
		if o != nil {
			o(&cfg)
		}
	}
	s := &Server{
		cfg:      cfg,
		log:      cfg.logger,
		done:     make(chan struct{}),
		sessions: make(map[string]*session),
		index:    newSubIndex(),
		counts:   make(map[bayeux.Channel]int),
		wsConns:  make(map[*wsConn]struct{}),
		changed:  make(chan struct{}),
	}
	s.ts = httptest.NewUnstartedServer(http.HandlerFunc(s.serveHTTP))
	return s
}

// Start starts serving and sets URL. It panics if the server was already
// started or closed.
func (s *Server) Start() {
	s.mu.Lock()
	if s.started || s.closed {
		s.mu.Unlock()
		panic("bayeuxtest: Server.Start called twice or after Close")
	}
	s.started = true
	s.wg.Add(1)
	s.mu.Unlock()
	s.ts.Start()
	s.URL = s.ts.URL + s.cfg.path
	go s.sweep()
}

// Close releases every held /meta/connect (their connections are torn down,
// as by a crashing server), closes every websocket with 1001 (going away),
// stops serving and waits until every goroutine of the server has ended.
// It is safe to call more than once and from several goroutines.
func (s *Server) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		s.wg.Wait()
		return
	}
	s.closed = true
	close(s.done)
	conns := s.dropAllLocked(relTeardown)
	s.notifyLocked()
	s.mu.Unlock()
	for _, c := range conns {
		c.closeWith(closeGoingAway, "server closed")
	}
	s.ts.Close()
	s.wg.Wait()
}

// Restart simulates a server restart on the same URL: every session and
// subscription is dropped, held /meta/connect requests are torn down
// without a response, and websockets are closed with 1012 (service
// restart). Faults, service handlers, counters, the Received log and the
// replay log (WithReplay: a restarted server still knows its events, as
// Salesforce's event bus outlives any one server) are kept; the events a
// session using the ack extension had not acknowledged are lost with the
// session. Clients then see an unknown client and must handshake again.
func (s *Server) Restart() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	conns := s.dropAllLocked(relTeardown)
	s.notifyLocked()
	s.mu.Unlock()
	s.log.Debug("bayeuxtest: restart")
	for _, c := range conns {
		c.closeWith(closeServiceRestart, "server restart")
	}
}

// dropAllLocked removes every session, releasing held connects with
// reason, and returns the open websockets.
func (s *Server) dropAllLocked(reason releaseReason) []*wsConn {
	for _, sess := range s.sessions {
		s.removeLocked(sess, reason)
	}
	conns := make([]*wsConn, 0, len(s.wsConns))
	for c := range s.wsConns {
		conns = append(conns, c)
	}
	return conns
}

// Client returns a new *http.Client configured for the server. Each call
// returns a distinct Client (so setting its Jar does not affect others)
// sharing one Transport, whose idle connections Close closes.
func (s *Server) Client() *http.Client {
	return &http.Client{Transport: s.ts.Client().Transport}
}

// HandleService registers fn for messages published to channel, which
// should be a /service/ channel or a pattern of them ("/service/**"). The
// first handler registered whose channel matches is used. Without a
// handler, a publish to a /service channel gets a plain successful reply
// and goes nowhere (service channels are never broadcast).
func (s *Server) HandleService(channel bayeux.Channel, fn ServiceFunc) {
	if fn == nil {
		return
	}
	s.mu.Lock()
	s.services = append(s.services, service{channel: channel, fn: fn})
	s.mu.Unlock()
}

// serviceFor returns the handler for channel, or nil.
func (s *Server) serviceFor(ch bayeux.Channel) ServiceFunc {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, sv := range s.services {
		if sv.channel == ch {
			return sv.fn
		}
	}
	for _, sv := range s.services {
		if sv.channel.HasWildcard() && sv.channel.MatchString(string(ch)) {
			return sv.fn
		}
	}
	return nil
}

// Publish publishes data on channel from the server itself, to every
// session subscribed to it (one copy per session). data is encoded with
// encoding/json unless it is a json.RawMessage. The event carries no id.
// It returns an error for an invalid, wildcard, meta or service channel,
// for data that cannot be encoded, and after Close.
func (s *Server) Publish(channel bayeux.Channel, data any) error {
	raw, err := s.checkServerMessage(channel, data)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrServerClosed
	}
	s.publishLocked(bayeux.Message{Channel: channel, Data: raw}, nil, nil)
	return nil
}

// Deliver sends data on channel to one session only, whether or not it is
// subscribed (as CometD's ServerSession.deliver does). It returns false if
// the session does not exist.
func (s *Server) Deliver(clientID string, channel bayeux.Channel, data any) (bool, error) {
	raw, err := s.checkServerMessage(channel, data)
	if err != nil {
		return false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false, ErrServerClosed
	}
	sess := s.sessions[clientID]
	if sess == nil {
		return false, nil
	}
	s.deliverLocked(sess, bayeux.Message{Channel: channel, Data: raw}, true)
	return true, nil
}

func (s *Server) checkServerMessage(channel bayeux.Channel, data any) (json.RawMessage, error) {
	if err := channel.Validate(); err != nil {
		return nil, err
	}
	if channel.HasWildcard() || channel.Type() != bayeux.BroadcastChannel {
		return nil, &bayeux.InvalidChannelError{Channel: channel, Reason: "server publishes need a broadcast channel without wildcards"}
	}
	return marshalData(data)
}

func marshalData(data any) (json.RawMessage, error) {
	if raw, ok := data.(json.RawMessage); ok {
		if !json.Valid(raw) {
			return nil, &bayeux.EncodeError{Field: "data", Reason: "not valid JSON"}
		}
		return slices.Clone(raw), nil
	}
	b, err := json.Marshal(data)
	if err != nil {
		return nil, fmt.Errorf("bayeuxtest: encoding data: %w", err)
	}
	return b, nil
}

// ExpireSession removes the session clientID as if it had expired: its
// subscriptions and queued events are dropped, a held /meta/connect is
// answered as unknown client, and later messages naming it get the
// unknown-client reply. It returns false if there was no such session.
func (s *Server) ExpireSession(clientID string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	sess := s.sessions[clientID]
	if sess == nil {
		return false
	}
	s.removeLocked(sess, relExpired)
	return true
}

// ExpireAllSessions expires every session (see ExpireSession).
func (s *Server) ExpireAllSessions() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, sess := range s.sessions {
		s.removeLocked(sess, relExpired)
	}
}

// RefuseWebSocket makes the server answer websocket upgrades with HTTP 400
// instead of 101 (refuse true), or accept them again (false). Open
// websockets are not affected; see TearWebSockets.
func (s *Server) RefuseWebSocket(refuse bool) {
	s.mu.Lock()
	s.refuseWS = refuse
	s.mu.Unlock()
}

// TearWebSockets closes every open websocket at once, without a close
// frame, as a network failure would. Sessions survive: a client may
// continue its session on a new connection.
func (s *Server) TearWebSockets() {
	s.mu.Lock()
	conns := make([]*wsConn, 0, len(s.wsConns))
	for c := range s.wsConns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	for _, c := range conns {
		c.tear()
	}
}

// WebSockets returns the number of open websocket connections.
func (s *Server) WebSockets() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.wsConns)
}

// Received returns a copy of every message the server received, in the
// order received, as decoded from the wire (before extensions), including
// messages of requests answered by a fault and messages ignored because
// they were batched with a handshake.
func (s *Server) Received() []bayeux.Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]bayeux.Message, len(s.received))
	for i := range s.received {
		out[i] = cloneMessage(&s.received[i])
	}
	return out
}

// ResetReceived empties the Received log and the per-channel counts.
func (s *Server) ResetReceived() {
	s.mu.Lock()
	s.received = nil
	s.counts = make(map[bayeux.Channel]int)
	s.mu.Unlock()
}

// Count returns how many messages on channel the server received (exact
// channel name, as in Received).
func (s *Server) Count(channel bayeux.Channel) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counts[channel]
}

// HandshakeCount returns how many sessions the server created: the number
// of successful handshakes since it started (not reset by Restart).
func (s *Server) HandshakeCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.handshakes
}

// Sessions returns the clientIds of the live sessions, oldest first.
func (s *Server) Sessions() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	list := make([]*session, 0, len(s.sessions))
	for _, sess := range s.sessions {
		list = append(list, sess)
	}
	slices.SortFunc(list, func(a, b *session) int { return cmp.Compare(a.seq, b.seq) })
	ids := make([]string, len(list))
	for i, sess := range list {
		ids[i] = sess.id
	}
	return ids
}

// Subscriptions returns the channels (and patterns) session clientID is
// subscribed to, sorted, or nil if there is no such session.
func (s *Server) Subscriptions(clientID string) []bayeux.Channel {
	s.mu.Lock()
	defer s.mu.Unlock()
	sess := s.sessions[clientID]
	if sess == nil {
		return nil
	}
	out := make([]bayeux.Channel, 0, len(sess.subs))
	for ch := range sess.subs {
		out = append(out, ch)
	}
	slices.Sort(out)
	return out
}

// Subscribers returns the number of sessions subscribed to exactly channel
// (a channel name or pattern, compared as a string).
func (s *Server) Subscribers(channel bayeux.Channel) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.index.count(channel)
}

// HeldConnects returns the number of /meta/connect requests being held
// right now (at most one per session).
func (s *Server) HeldConnects() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.held
}

// WaitFor blocks until cond returns true, ctx ends (returning ctx.Err()) or
// the server is closed (ErrServerClosed). cond is evaluated at once and
// again after every change of the server's state (a message received, a
// session created or removed, a subscription, a connect held or
// released...). cond is called without the server's lock held, so it may
// call any Server method, typically Sessions, Subscribers or Count.
func (s *Server) WaitFor(ctx context.Context, cond func(*Server) bool) error {
	for {
		s.mu.Lock()
		ch, closed := s.changed, s.closed
		s.mu.Unlock()
		if cond(s) {
			return nil
		}
		if closed {
			return ErrServerClosed
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// WaitSubscribed waits until at least one session is subscribed to exactly
// channel (see Subscribers and WaitFor).
func (s *Server) WaitSubscribed(ctx context.Context, channel bayeux.Channel) error {
	return s.WaitFor(ctx, func(s *Server) bool { return s.Subscribers(channel) > 0 })
}

// WaitHeld waits until n /meta/connect requests are held (see HeldConnects
// and WaitFor).
func (s *Server) WaitHeld(ctx context.Context, n int) error {
	return s.WaitFor(ctx, func(s *Server) bool { return s.HeldConnects() >= n })
}

// notifyLocked wakes WaitFor callers.
func (s *Server) notifyLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// recordLocked appends copies of msgs to the Received log.
func (s *Server) recordLocked(msgs []bayeux.Message) {
	for i := range msgs {
		s.counts[msgs[i].Channel]++
	}
	if s.cfg.receivedLimit < 0 {
		s.notifyLocked()
		return
	}
	for i := range msgs {
		s.received = append(s.received, cloneMessage(&msgs[i]))
	}
	if lim := s.cfg.receivedLimit; lim > 0 && len(s.received) > lim {
		s.received = append(s.received[:0:0], s.received[len(s.received)-lim:]...)
	}
	s.notifyLocked()
}

// record logs msgs for Received.
func (s *Server) record(msgs []bayeux.Message) {
	s.mu.Lock()
	s.recordLocked(msgs)
	s.mu.Unlock()
}

// goLocked starts f on a goroutine counted by wg, unless the server is
// closed. mu must be held.
func (s *Server) goLocked(f func()) bool {
	if s.closed {
		return false
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		f()
	}()
	return true
}

// spawn is goLocked taking the lock.
func (s *Server) spawn(f func()) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.goLocked(f)
}

// sleep waits d, or less if the server closes or gone is closed; it reports
// whether the whole delay elapsed.
func (s *Server) sleep(d time.Duration, gone <-chan struct{}) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-s.done:
		return false
	case <-gone:
		return false
	}
}

// cloneMessage returns a deep copy of m (Data, Ext, Advice, slices).
func cloneMessage(m *bayeux.Message) bayeux.Message {
	c := *m
	if m.Data != nil {
		c.Data = slices.Clone(m.Data)
	}
	if m.Ext != nil {
		c.Ext = deepCopyMap(m.Ext)
	}
	if m.Advice != nil {
		a := *m.Advice
		a.Hosts = slices.Clone(m.Advice.Hosts)
		c.Advice = &a
	}
	c.Subscription = slices.Clone(m.Subscription)
	c.SupportedConnectionTypes = slices.Clone(m.SupportedConnectionTypes)
	return c
}

func deepCopyMap(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = deepCopyValue(v)
	}
	return out
}

func deepCopyValue(v any) any {
	switch t := v.(type) {
	case map[string]any:
		return deepCopyMap(t)
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = deepCopyValue(e)
		}
		return out
	default:
		return v
	}
}
