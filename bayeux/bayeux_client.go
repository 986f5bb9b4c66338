package bayeux

import (
	"context"
	"fmt"
	"net/http"
	"sync"
)

// BayeuxClient is a way of acting as a client with a given Bayeux server:
// the low-level client of the gobayeux API. Each method sends one request
// and returns the server's reply and any events that came with it; nothing
// runs in the background. It is a thin layer over the wire layer the
// session Client is also built on (message ids, extensions, transports,
// cookie jar); it keeps only a client id and a ConnectionStateMachine.
//
// Methods are safe for concurrent use.
type BayeuxClient struct {
	*endpoint

	// mu guards clientID and pushed.
	mu       sync.Mutex
	clientID string
	// pushed holds messages a transport delivered outside a reply,
	// returned by the next request.
	pushed []Message
	// sessionID, when set, gives the client id of a session Client this
	// value stands for (as passed to MessageExtender.Registered); such a
	// handle sends no request (see errExtensionHandle).
	sessionID func() string

	state *ConnectionStateMachine
}

// NewBayeuxClient initializes a BayeuxClient for the user. client and
// transport may be nil (see WithHTTPClient and WithHTTPTransport); logger
// is a *slog.Logger or another Logger (see WithLogger), or nil. It uses the registered default transports (importing
// github.com/bayeux-go/sdk/transport/longpoll registers long-polling);
// without any it returns ErrNoTransport.
func NewBayeuxClient(client *http.Client, transport http.RoundTripper, serverAddress string, logger Logger) (*BayeuxClient, error) {
	return NewBayeuxClientWithOptions(serverAddress, WithHTTPClient(client), WithHTTPTransport(transport), WithLogger(logger))
}

// NewBayeuxClientWithOptions is NewBayeuxClient configured with Options,
// for example WithTransports.
func NewBayeuxClientWithOptions(serverAddress string, opts ...Option) (*BayeuxClient, error) {
	o, err := resolve(opts)
	if err != nil {
		return nil, err
	}
	b := &BayeuxClient{state: NewConnectionStateMachine()}
	b.endpoint, err = newEndpoint(serverAddress, &o, b.keepPushed, false)
	if err != nil {
		return nil, err
	}
	for _, e := range o.Extensions {
		if err := b.UseExtension(e); err != nil {
			_ = b.endpoint.close()
			return nil, err
		}
	}
	return b, nil
}

// keepPushed keeps messages a transport received outside a reply for the
// next request's result.
func (b *BayeuxClient) keepPushed(msgs []Message) {
	b.mu.Lock()
	b.pushed = append(b.pushed, msgs...)
	b.mu.Unlock()
}

// UseExtension registers an extension: its Registered method is called with
// its name (NamedExtension, or its Go type) and this client. Names must be
// unique.
func (b *BayeuxClient) UseExtension(ext MessageExtender) error { return b.use(ext, b) }

// RemoveExtension unregisters an extension (calling its Unregistered
// method) and reports whether it was registered.
func (b *BayeuxClient) RemoveExtension(ext MessageExtender) bool { return b.remove(ext) }

// ClientID returns the session id the server gave in the last successful
// handshake ("" before).
func (b *BayeuxClient) ClientID() string {
	if b.sessionID != nil {
		return b.sessionID()
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.clientID
}

func (b *BayeuxClient) setClientID(id string) {
	b.mu.Lock()
	b.clientID = id
	b.mu.Unlock()
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

// Handshake sends the handshake request to the Bayeux Server. It may be
// called again after a failure or a lost session (gobayeux's could not). On success the client switches to the first of its transports the
// server supports.
//
// Its errors are gobayeux v2.7.0's: a denial is a *HandshakeFailedError,
// any other failure a HandshakeFailedError, each wrapping this package's
// error (a *ServerError matching ErrHandshakeDenied, a *TransportError).
func (b *BayeuxClient) Handshake(ctx context.Context) ([]Message, error) {
	replies, err := b.handshake(ctx)
	if err != nil {
		return replies, asHandshakeFailed(err)
	}
	return replies, nil
}

func (b *BayeuxClient) handshake(ctx context.Context) ([]Message, error) {
	if err := b.refuse(); err != nil {
		return nil, err
	}
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
// ErrConnectFailed, and ErrUnknownClient when the session was lost),
// wrapped as gobayeux v2.7.0 does in a ConnectionFailedError, as is any
// other failure but a Connect before the handshake (ErrClientNotConnected).
func (b *BayeuxClient) Connect(ctx context.Context) ([]Message, error) {
	if err := b.refuse(); err != nil {
		return nil, err
	}
	id := b.ClientID()
	if id == "" {
		return nil, fmt.Errorf("%w: connect before a successful handshake", ErrBadState)
	}
	replies, err := b.connect(ctx, id)
	if err != nil {
		return replies, ConnectionFailedError{Err: err}
	}
	return replies, nil
}

func (b *BayeuxClient) connect(ctx context.Context, id string) ([]Message, error) {
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
// the channels in the subscriptions slice. Its errors are gobayeux
// v2.7.0's SubscriptionFailedError, wrapping this package's (one
// *ServerError per channel refused, each also an *ActionFailedError for
// errors.As).
func (b *BayeuxClient) Subscribe(ctx context.Context, subscriptions []Channel) ([]Message, error) {
	return b.subscription(ctx, MetaSubscribe, ErrSubscriptionDenied, subscriptions)
}

// Unsubscribe issues a MetaUnsubscribe request to the server to unsubscribe
// from the channels in the subscriptions slice. Its errors are gobayeux
// v2.7.0's UnsubscribeFailedError, wrapping this package's.
func (b *BayeuxClient) Unsubscribe(ctx context.Context, subscriptions []Channel) ([]Message, error) {
	return b.subscription(ctx, MetaUnsubscribe, ErrUnsubscribeFailed, subscriptions)
}

func (b *BayeuxClient) subscription(ctx context.Context, ch Channel, kind error, subs []Channel) ([]Message, error) {
	replies, err := b.sendSubscription(ctx, ch, kind, subs)
	if err != nil {
		return replies, asSubscriptionFailed(ch, subs, err)
	}
	return replies, nil
}

func (b *BayeuxClient) sendSubscription(ctx context.Context, ch Channel, kind error, subs []Channel) ([]Message, error) {
	if err := b.refuse(); err != nil {
		return nil, err
	}
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
		if err := s.ValidateSubscription(); err != nil {
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
	if err := b.refuse(); err != nil {
		return nil, err
	}
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
// terminate the session. Its errors are gobayeux v2.7.0's
// DisconnectFailedError, wrapping this package's.
func (b *BayeuxClient) Disconnect(ctx context.Context) ([]Message, error) {
	replies, err := b.disconnect(ctx)
	if err != nil {
		return replies, DisconnectFailedError{Err: err}
	}
	return replies, nil
}

func (b *BayeuxClient) disconnect(ctx context.Context) ([]Message, error) {
	if err := b.refuse(); err != nil {
		return nil, err
	}
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
	if err := b.refuse(); err != nil {
		return err
	}
	err := b.endpoint.close()
	b.unregisterAll()
	return err
}

// errExtensionHandle is returned by the request methods of the
// BayeuxClient a session Client passes to MessageExtender.Registered: the
// Client owns its session (transport, handshakes, the one /meta/connect),
// so its extensions act through the SessionHandle of SessionExtension.
var errExtensionHandle = fmt.Errorf("%w: the BayeuxClient given to an extension of a session Client sends no requests; use the SessionHandle (SessionExtension)", ErrBadState)

// refuse returns errExtensionHandle for a session Client's extension
// handle, nil otherwise.
func (b *BayeuxClient) refuse() error {
	if b.sessionID != nil {
		return errExtensionHandle
	}
	return nil
}
