package bayeux_test

import (
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bayeux-go/sdk/bayeux"
	"github.com/bayeux-go/sdk/bayeux/bayeuxtest"
)

// asBoth reports whether errors.As finds a T in err with a value target
// and with a pointer target, as gobayeux v2.7.0 programs ask in either
// form; it returns the value found.
func asBoth[T error](t *testing.T, err error) (T, bool) {
	t.Helper()
	var v T
	var p *T
	// Through any: vet cannot tell that *T is an error for every T.
	var vTarget, pTarget any = &v, &p
	okV, okP := errors.As(err, vTarget), errors.As(err, pTarget)
	if okV != okP {
		t.Errorf("errors.As(%v, %T) = %v but with a pointer target %v", err, v, okV, okP)
	}
	return v, okV && okP
}

// BayeuxClient's methods return gobayeux v2.7.0's typed errors, as its
// methods do, wrapping this package's: errors.As finds the gobayeux type
// (value or pointer target) and errors.Is this package's sentinels.
func TestBayeuxClientReturnsGobayeuxErrors(t *testing.T) {
	leakCheck(t)
	var denyHandshake atomic.Bool
	deny := bayeuxtest.ExtensionFuncs{Out: func(m *bayeux.Message) {
		switch {
		case m.Channel == bayeux.MetaHandshake && denyHandshake.Load():
			m.Successful, m.Error, m.ClientID = false, "403::handshake denied", ""
		case (m.Channel == bayeux.MetaSubscribe || m.Channel == bayeux.MetaUnsubscribe) &&
			len(m.Subscription) == 1 && m.Subscription[0] == "/denied":
			m.Successful, m.Error = false, "403:/denied:denied"
		}
	}}
	srv := newServer(t, bayeuxtest.WithTimeout(100*time.Millisecond), bayeuxtest.WithExtension(deny))
	b, err := bayeux.NewBayeuxClient(nil, nil, srv.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	ctx := ctxT(t)

	// An extension registered twice.
	ext := bayeuxtestExtension{}
	if err := b.UseExtension(ext); err != nil {
		t.Fatal(err)
	}
	err = b.UseExtension(ext)
	if ar, ok := asBoth[bayeux.AlreadyRegisteredError](t, err); !ok || ar.MessageExtender != ext || !errors.Is(err, bayeux.ErrInvalidOption) {
		t.Errorf("UseExtension twice = %v, want an AlreadyRegisteredError matching ErrInvalidOption", err)
	}
	b.RemoveExtension(ext)

	// Before the handshake: gobayeux's bare ErrClientNotConnected.
	_, err = b.Connect(ctx)
	if _, ok := asBoth[bayeux.ConnectionFailedError](t, err); ok || !errors.Is(err, bayeux.ErrClientNotConnected) {
		t.Errorf("Connect before Handshake = %v, want ErrClientNotConnected, unwrapped", err)
	}
	if _, err := b.Disconnect(ctx); !errors.Is(err, bayeux.ErrClientNotConnected) {
		t.Errorf("Disconnect without a session = %v, want ErrClientNotConnected", err)
	} else if _, ok := asBoth[bayeux.DisconnectFailedError](t, err); !ok {
		t.Errorf("Disconnect without a session = %v, want a DisconnectFailedError", err)
	}

	// An HTTP status: a HandshakeFailedError around a *TransportError,
	// which is also gobayeux's BadResponseError.
	srv.InjectFault(bayeuxtest.Fault{Channel: bayeux.MetaHandshake, Status: 400})
	_, err = b.Handshake(ctx)
	if _, ok := asBoth[bayeux.HandshakeFailedError](t, err); !ok || !errors.Is(err, bayeux.ErrTransport) {
		t.Errorf("Handshake answered 400 = %v, want a HandshakeFailedError matching ErrTransport", err)
	}
	if br, ok := asBoth[bayeux.BadResponseError](t, err); !ok || br.StatusCode != 400 || br.Status != "400 Bad Request" {
		t.Errorf("Handshake answered 400: BadResponseError %+v (found %v)", br, ok)
	}

	// A denial: a *HandshakeFailedError around the *ServerError.
	denyHandshake.Store(true)
	_, err = b.Handshake(ctx)
	var se *bayeux.ServerError
	if _, ok := asBoth[bayeux.HandshakeFailedError](t, err); !ok || !errors.Is(err, bayeux.ErrHandshakeDenied) || !errors.As(err, &se) {
		t.Errorf("denied Handshake = %v, want a HandshakeFailedError around a *ServerError matching ErrHandshakeDenied", err)
	}
	if s := err.Error(); strings.Count(s, "bayeux:") != 1 || !strings.Contains(s, "403::handshake denied") {
		t.Errorf("denied Handshake says %q: want the server's error and one \"bayeux:\"", s)
	}
	denyHandshake.Store(false)

	if _, err := b.Handshake(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	// One channel of two refused: a SubscriptionFailedError naming both,
	// around the refusal, which is also gobayeux's ActionFailedError.
	_, err = b.Subscribe(ctx, []bayeux.Channel{"/ok", "/denied"})
	sf, ok := asBoth[bayeux.SubscriptionFailedError](t, err)
	if !ok || len(sf.Channels) != 2 || !errors.Is(err, bayeux.ErrSubscriptionDenied) {
		t.Errorf("Subscribe = %v (%+v), want a SubscriptionFailedError for both channels matching ErrSubscriptionDenied", err, sf)
	}
	if af, ok := asBoth[bayeux.ActionFailedError](t, err); !ok || af.Action != "subscribe to" || af.ErrorMessage != "403:/denied:denied" {
		t.Errorf("Subscribe: ActionFailedError %+v (found %v)", af, ok)
	}
	_, err = b.Unsubscribe(ctx, []bayeux.Channel{"/denied"})
	if _, ok := asBoth[bayeux.UnsubscribeFailedError](t, err); !ok || !errors.Is(err, bayeux.ErrUnsubscribeFailed) {
		t.Errorf("Unsubscribe = %v, want an UnsubscribeFailedError matching ErrUnsubscribeFailed", err)
	}
	if af, ok := asBoth[bayeux.ActionFailedError](t, err); !ok || af.Action != "unsubscribe from" {
		t.Errorf("Unsubscribe: ActionFailedError %+v (found %v)", af, ok)
	}

	// The session lost: a ConnectionFailedError around the *ServerError.
	if !srv.ExpireSession(b.ClientID()) {
		t.Fatal("no session to expire")
	}
	_, err = b.Connect(ctx)
	if _, ok := asBoth[bayeux.ConnectionFailedError](t, err); !ok || !errors.Is(err, bayeux.ErrFailedToConnect) || !errors.Is(err, bayeux.ErrUnknownClient) {
		t.Errorf("Connect in a lost session = %v, want a ConnectionFailedError matching ErrFailedToConnect and ErrUnknownClient", err)
	}
	// Errors of this package's own kinds are not mistaken for gobayeux's.
	if _, ok := asBoth[bayeux.BadResponseError](t, err); ok {
		t.Errorf("a denied connect is a BadResponseError: %v", err)
	}
	if _, ok := asBoth[bayeux.ActionFailedError](t, err); ok {
		t.Errorf("a denied connect is an ActionFailedError: %v", err)
	}
}

// bayeuxtestExtension is an extension that does nothing.
type bayeuxtestExtension struct{}

func (bayeuxtestExtension) Registered(string, *bayeux.BayeuxClient) {}
func (bayeuxtestExtension) Unregistered()                           {}
func (bayeuxtestExtension) Outgoing(*bayeux.Message)                {}
func (bayeuxtestExtension) Incoming(*bayeux.Message)                {}
