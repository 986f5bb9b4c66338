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
)

// BayeuxClient is a way of acting as a client with a given Bayeux server:
// the low-level client of the gobayeux API. Each method sends one request
// and returns the server's reply and any events that came with it; nothing
// runs in the background. The session Client is built on the same wire
// layer (message ids, extensions, transports, cookie jar).
//
// Methods are safe for concurrent use.
type BayeuxClient struct {
	url        string
	log        *slog.Logger
	httpClient *http.Client
	jar        http.CookieJar

	transports []Transport
	// current is the index in transports of the transport in use.
	current atomic.Int32

	nextID atomic.Uint64

	// mu guards clientID, exts and pushed.
	mu       sync.Mutex
	clientID string
	exts     []registeredExt
	// pushed holds messages a transport delivered outside a reply, for the
	// low-level API (returned by the next Connect); the session Client
	// routes them itself through onPush.
	pushed []Message
	onPush func([]Message)

	state *ConnectionStateMachine
	// ownTransport is the connection pool made for this client when the
	// user gave no http.Client (closed by Close).
	ownTransport *http.Transport
}

type registeredExt struct {
	name string
	ext  MessageExtender
}

// NewBayeuxClient initializes a BayeuxClient for the user. client and
// transport may be nil (see WithHTTPClient and WithHTTPTransport); logger
// may be nil. It uses the registered default transports (importing
// github.com/bayeux-go/sdk/transport/longpoll registers long-polling);
// without any it returns ErrNoTransport.
func NewBayeuxClient(client *http.Client, transport http.RoundTripper, serverAddress string, logger *slog.Logger) (*BayeuxClient, error) {
	o, err := resolve([]Option{WithHTTPClient(client), WithHTTPTransport(transport), WithLogger(logger)})
	if err != nil {
		return nil, err
	}
	return newBayeuxClient(serverAddress, &o)
}

// NewBayeuxClientWithOptions is NewBayeuxClient configured with Options,
// for example WithTransports.
func NewBayeuxClientWithOptions(serverAddress string, opts ...Option) (*BayeuxClient, error) {
	o, err := resolve(opts)
	if err != nil {
		return nil, err
	}
	return newBayeuxClient(serverAddress, &o)
}

func newBayeuxClient(serverAddress string, o *Options) (*BayeuxClient, error) {
	u, err := url.Parse(serverAddress)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%w: server address %q must be an absolute http or https URL", ErrInvalidOption, serverAddress)
	}
	b := &BayeuxClient{url: serverAddress, log: o.Logger, state: NewConnectionStateMachine()}

	// The user's http.Client is used as given; WithHTTPTransport works on
	// a copy. Cookies: the client's own Jar if it has one, else one jar per
	// Bayeux client.
	hc := o.Client
	if hc == nil {
		// A client of our own, with its own connection pool, closed with
		// the client so that no idle connection outlives it.
		hc = &http.Client{}
		if o.Transport == nil {
			if dt, ok := http.DefaultTransport.(*http.Transport); ok {
				b.ownTransport = dt.Clone()
				hc.Transport = b.ownTransport
			}
		}
	}
	if o.Transport != nil {
		cp := *hc
		cp.Transport = o.Transport
		hc = &cp
	}
	b.httpClient = hc
	if hc.Jar == nil {
		b.jar, _ = cookiejar.New(nil)
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
	cfg := TransportConfig{HTTPClient: hc, Jar: b.jar, Logger: o.Logger, Receive: b.receivePushed}
	for i, t := range ts {
		if err := t.Init(cfg); err != nil {
			for _, done := range ts[:i] {
				_ = done.Close()
			}
			return nil, fmt.Errorf("bayeux: init %s transport: %w", t.Name(), err)
		}
	}
	b.transports = ts
	for _, e := range o.Extensions {
		if err := b.UseExtension(e); err != nil {
			return nil, err
		}
	}
	return b, nil
}

// receivePushed takes messages a transport received outside a reply.
func (b *BayeuxClient) receivePushed(msgs []Message) {
	b.mu.Lock()
	fn := b.onPush
	if fn == nil {
		b.pushed = append(b.pushed, msgs...)
	}
	b.mu.Unlock()
	if fn != nil {
		fn(msgs)
	}
}

// UseExtension registers an extension: its Registered method is called with
// its name (NamedExtension, or its Go type) and this client. Names must be
// unique.
func (b *BayeuxClient) UseExtension(ext MessageExtender) error {
	if ext == nil {
		return fmt.Errorf("%w: nil extension", ErrInvalidOption)
	}
	name := fmt.Sprintf("%T", ext)
	if n, ok := ext.(NamedExtension); ok {
		name = n.Name()
	}
	b.mu.Lock()
	for _, e := range b.exts {
		if e.name == name {
			b.mu.Unlock()
			return fmt.Errorf("%w: extension %q already registered", ErrInvalidOption, name)
		}
	}
	b.exts = append(b.exts, registeredExt{name, ext})
	b.mu.Unlock()
	ext.Registered(name, b)
	return nil
}

// RemoveExtension unregisters an extension (calling its Unregistered
// method) and reports whether it was registered.
func (b *BayeuxClient) RemoveExtension(ext MessageExtender) bool {
	b.mu.Lock()
	for i, e := range b.exts {
		if e.ext == ext {
			b.exts = append(b.exts[:i:i], b.exts[i+1:]...)
			b.mu.Unlock()
			ext.Unregistered()
			return true
		}
	}
	b.mu.Unlock()
	return false
}

func (b *BayeuxClient) unregisterAll() {
	b.mu.Lock()
	exts := b.exts
	b.exts = nil
	b.mu.Unlock()
	for i := len(exts) - 1; i >= 0; i-- {
		exts[i].ext.Unregistered()
	}
}

func (b *BayeuxClient) extensions() []registeredExt {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.exts
}

// ClientID returns the session id the server gave in the last successful
// handshake ("" before).
func (b *BayeuxClient) ClientID() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.clientID
}

func (b *BayeuxClient) setClientID(id string) {
	b.mu.Lock()
	b.clientID = id
	b.mu.Unlock()
}

// newID returns a fresh message id: alphanumeric (base 36) and unique for
// this client, as CometD's validator requires.
func (b *BayeuxClient) newID() string {
	return strconv.FormatUint(b.nextID.Add(1), 36)
}

// transport returns the transport in use.
func (b *BayeuxClient) transport() Transport { return b.transports[b.current.Load()] }

// outgoing runs the outgoing extensions, in reverse registration order, on
// copies of msgs, and returns the copies. Extensions may not change ids.
func (b *BayeuxClient) outgoing(msgs []Message) []Message {
	exts := b.extensions()
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
func (b *BayeuxClient) incoming(msgs []Message) {
	exts := b.extensions()
	if len(exts) == 0 {
		return
	}
	for i := range msgs {
		for _, e := range exts {
			e.ext.Incoming(&msgs[i])
		}
	}
}

// roundTrip sends msgs over t after the outgoing extensions; the reply is
// returned raw (incoming extensions not yet run).
func (b *BayeuxClient) roundTrip(ctx context.Context, t Transport, url string, msgs []Message) ([]Message, error) {
	return t.RoundTrip(ctx, url, b.outgoing(msgs))
}

// exchange is the low-level API's request: extensions both ways.
func (b *BayeuxClient) exchange(ctx context.Context, msgs []Message) ([]Message, error) {
	replies, err := b.roundTrip(ctx, b.transport(), b.url, msgs)
	if err != nil {
		return nil, err
	}
	b.mu.Lock()
	if len(b.pushed) > 0 {
		replies = append(b.pushed, replies...)
		b.pushed = nil
	}
	b.mu.Unlock()
	b.incoming(replies)
	return replies, nil
}

// findReply returns the reply on channel ch (matching id when the reply
// carries one).
func findReply(replies []Message, ch Channel, id string) (Message, bool) {
	for _, m := range replies {
		if m.Channel == ch && (m.ID == "" || id == "" || m.ID == id) && m.HasSuccessful() {
			return m, true
		}
	}
	return Message{}, false
}

func (b *BayeuxClient) handshakeMessage(types []string, ext map[string]any) Message {
	m := Message{ID: b.newID(), Channel: MetaHandshake, Version: "1.0", MinimumVersion: "1.0",
		SupportedConnectionTypes: types}
	if len(ext) > 0 {
		m.Ext = make(map[string]any, len(ext))
		for k, v := range ext {
			m.Ext[k] = v
		}
	}
	return m
}

func (b *BayeuxClient) transportNames() []string {
	names := make([]string, len(b.transports))
	for i, t := range b.transports {
		names[i] = t.Name()
	}
	return names
}

// Handshake sends the handshake request to the Bayeux Server. It may be
// called again after a failure or a lost session (the gobayeux seed could
// not). On success the client switches to the first of its transports the
// server supports.
func (b *BayeuxClient) Handshake(ctx context.Context) ([]Message, error) {
	if err := b.state.ProcessEvent(HandshakeSent); err != nil {
		return nil, err
	}
	req := b.handshakeMessage(b.transportNames(), nil)
	replies, err := b.exchange(ctx, []Message{req})
	if err != nil {
		_ = b.state.ProcessEvent(HandshakeFailed)
		return nil, err
	}
	reply, ok := findReply(replies, MetaHandshake, req.ID)
	if err := replyError(ErrHandshakeDenied, MetaHandshake, reply, ok); err != nil {
		_ = b.state.ProcessEvent(HandshakeFailed)
		return replies, err
	}
	idx := negotiate(b.transportNames(), reply.SupportedConnectionTypes, nil)
	if idx < 0 {
		_ = b.state.ProcessEvent(HandshakeFailed)
		return replies, noCommonTransport(b.transportNames(), reply)
	}
	b.current.Store(int32(idx))
	b.setClientID(reply.ClientID)
	return replies, nil
}

// noCommonTransport builds the error for a handshake reply with no
// connection type in common, in CometD's 405 form.
func noCommonTransport(client []string, reply Message) error {
	e := NewServerError(ErrHandshakeDenied, reply)
	e.Kind = ErrNoCommonTransport
	e.Code = 405
	e.Message = "no_transport"
	e.Args = []string{fmt.Sprintf("c%v", client), fmt.Sprintf("s%v", reply.SupportedConnectionTypes)}
	return e
}

// negotiate returns the index of the first client transport (client order
// wins) that the server supports and skip does not exclude, or -1.
func negotiate(client, server []string, skip func(i int) bool) int {
	for i, c := range client {
		if skip != nil && skip(i) {
			continue
		}
		for _, s := range server {
			if c == s {
				return i
			}
		}
	}
	return -1
}

// Connect sends the connect request to the Bayeux Server. The specification
// says that clients MUST maintain only one outstanding connect request. See
// https://docs.cometd.org/current/reference/#_bayeux_meta_connect
//
// It returns every message received: the /meta/connect reply and any
// events. An unsuccessful reply is returned with a *ServerError (errors.Is
// ErrConnectFailed, and ErrUnknownClient when the session was lost).
func (b *BayeuxClient) Connect(ctx context.Context) ([]Message, error) {
	id := b.ClientID()
	if id == "" {
		return nil, fmt.Errorf("%w: connect before a successful handshake", ErrBadState)
	}
	req := Message{ID: b.newID(), Channel: MetaConnect, ClientID: id, ConnectionType: b.transport().Name()}
	if !b.state.IsConnected() {
		req.Advice = &Advice{}
		req.Advice.SetTimeout(0)
	}
	replies, err := b.exchange(ctx, []Message{req})
	if err != nil {
		_ = b.state.ProcessEvent(ConnectFailed)
		return nil, err
	}
	reply, ok := findReply(replies, MetaConnect, req.ID)
	if err := replyError(ErrConnectFailed, MetaConnect, reply, ok); err != nil {
		_ = b.state.ProcessEvent(ConnectFailed)
		return replies, err
	}
	_ = b.state.ProcessEvent(SuccessfulConnect)
	return replies, nil
}

// Subscribe issues a MetaSubscribe request to the server to subscribe to
// the channels in the subscriptions slice
func (b *BayeuxClient) Subscribe(ctx context.Context, subscriptions []Channel) ([]Message, error) {
	return b.subscription(ctx, MetaSubscribe, ErrSubscriptionDenied, subscriptions)
}

// Unsubscribe issues a MetaUnsubscribe request to the server to unsubscribe
// from the channels in the subscriptions slice
func (b *BayeuxClient) Unsubscribe(ctx context.Context, subscriptions []Channel) ([]Message, error) {
	return b.subscription(ctx, MetaUnsubscribe, ErrUnsubscribeFailed, subscriptions)
}

func (b *BayeuxClient) subscription(ctx context.Context, ch Channel, kind error, subs []Channel) ([]Message, error) {
	id := b.ClientID()
	if id == "" {
		return nil, fmt.Errorf("%w: %s before a successful handshake", ErrBadState, ch)
	}
	if len(subs) == 0 {
		return nil, fmt.Errorf("%w: no channels", ErrBadChannel)
	}
	// One message per channel, each with a string subscription: the form
	// every server (Salesforce included) accepts.
	reqs := make([]Message, 0, len(subs))
	for _, s := range subs {
		if err := s.Validate(); err != nil {
			return nil, err
		}
		reqs = append(reqs, Message{ID: b.newID(), Channel: ch, ClientID: id, Subscription: []Channel{s}})
	}
	replies, err := b.exchange(ctx, reqs)
	if err != nil {
		return nil, err
	}
	var errs []error
	for _, r := range reqs {
		reply, ok := findReply(replies, ch, r.ID)
		if err := replyError(kind, ch, reply, ok); err != nil {
			errs = append(errs, err)
		}
	}
	return replies, joinErrors(errs)
}

// Publish sends one publish message and returns the server's replies.
func (b *BayeuxClient) Publish(ctx context.Context, channel Channel, data any) ([]Message, error) {
	raw, err := encodeData(data)
	if err != nil {
		return nil, err
	}
	if err := validatePublish(channel); err != nil {
		return nil, err
	}
	req := Message{ID: b.newID(), Channel: channel, ClientID: b.ClientID(), Data: raw}
	replies, err := b.exchange(ctx, []Message{req})
	if err != nil {
		return nil, err
	}
	reply, ok := findReply(replies, channel, req.ID)
	return replies, replyError(ErrPublishDenied, channel, reply, ok)
}

// Disconnect sends a /meta/disconnect request to the Bayeux server to
// terminate the session
func (b *BayeuxClient) Disconnect(ctx context.Context) ([]Message, error) {
	id := b.ClientID()
	if id == "" {
		return nil, fmt.Errorf("%w: disconnect without a session", ErrBadState)
	}
	req := Message{ID: b.newID(), Channel: MetaDisconnect, ClientID: id}
	_ = b.state.ProcessEvent(DisconnectSent)
	replies, err := b.exchange(ctx, []Message{req})
	b.setClientID("")
	if err != nil {
		return nil, err
	}
	reply, ok := findReply(replies, MetaDisconnect, req.ID)
	return replies, replyError(ErrDisconnectFailed, MetaDisconnect, reply, ok)
}

// Close releases the transports and unregisters the extensions. It does
// not send /meta/disconnect.
func (b *BayeuxClient) Close() error {
	var errs []error
	for _, t := range b.transports {
		if err := t.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	b.unregisterAll()
	if b.ownTransport != nil {
		b.ownTransport.CloseIdleConnections()
	}
	return joinErrors(errs)
}
