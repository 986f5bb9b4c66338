package bayeuxtest_test

import (
	"context"
	"errors"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/bayeux-go/sdk/bayeux"
	"github.com/bayeux-go/sdk/bayeux/bayeuxtest"
)

// bearerTransport sets the current token on every request.
type bearerTransport struct {
	token atomic.Pointer[string]
	base  http.RoundTripper
}

func (b *bearerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	if tok := b.token.Load(); tok != nil {
		r.Header.Set("Authorization", "Bearer "+*tok)
	}
	return b.base.RoundTrip(r)
}

func authPeer(t *testing.T, srv *bayeuxtest.Server, token string) *peer {
	t.Helper()
	p := newPeer(t, srv)
	bt := &bearerTransport{base: p.c.Transport}
	bt.token.Store(&token)
	p.c.Transport = bt
	return p
}

func TestAuthBayeuxErrors(t *testing.T) {
	tokens := bayeuxtest.NewTokens()
	srv := newServer(t, bayeuxtest.WithBearerAuth(tokens.Valid, bayeuxtest.AuthBayeuxError))

	// No token, or an unknown one: the handshake is denied as Salesforce
	// denies it.
	for _, p := range []*peer{newPeer(t, srv), authPeer(t, srv, "forged")} {
		r := p.post(handshakeBody)
		if len(r) != 1 || r[0].Successful || r[0].Error != "403::Handshake denied" || r[0].Advice == nil || r[0].Advice.Reconnect != bayeux.ReconnectNone {
			t.Fatalf("handshake without a valid token: %+v", r)
		}
		sf, _ := r[0].Ext["sfdc"].(map[string]any)
		if sf["failureReason"] != bayeuxtest.AuthInvalid {
			t.Fatalf("handshake ext %v", r[0].Ext)
		}
	}

	tok := tokens.Issue(0)
	p := authPeer(t, srv, tok)
	p.handshake()
	p.subscribe(`"/a"`)
	// The token expires mid-session: the next connect and publish fail.
	tokens.Expire(tok)
	r := p.connect("")
	if r[0].Successful || r[0].Error != bayeuxtest.AuthInvalid || r[0].Advice.Reconnect != bayeux.ReconnectNone || r[0].Advice.Interval != 0 {
		t.Fatalf("connect after expiry: %+v", r)
	}
	requireError(t, r[0], 401)
	requireError(t, p.publish("/a", `1`)[0], 401)
}

func TestAuthHTTPStatus(t *testing.T) {
	tokens := bayeuxtest.NewTokens()
	srv := newServer(t, bayeuxtest.WithBearerAuth(tokens.Valid, bayeuxtest.AuthHTTPStatus))
	status, _, h, err := newPeer(t, srv).do(testCtx(t), handshakeBody)
	if err != nil || status != http.StatusUnauthorized || h.Get("WWW-Authenticate") == "" {
		t.Fatalf("no token: status %d, %v, %v", status, h, err)
	}
	tok := tokens.Issue(time.Hour)
	p := authPeer(t, srv, tok)
	p.handshake()
	tokens.ExpireAll()
	if status, _, _, _ := p.do(testCtx(t), p.connectBody("x", "")); status != http.StatusUnauthorized {
		t.Fatalf("connect with an expired token: status %d", status)
	}

	// The websocket upgrade is refused without a valid token...
	_, resp, err := websocket.DefaultDialer.Dial(wsURL(srv), http.Header{"Authorization": {"Bearer " + tok}})
	if err == nil || resp == nil || resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("upgrade with an expired token: %v", err)
	}
	resp.Body.Close()
	// ...and a socket whose token expires is closed with 1008.
	w := expiredSocket(t, srv, tokens)
	var ce *websocket.CloseError
	if err := w.readErr(); !errors.As(err, &ce) || ce.Code != websocket.ClosePolicyViolation {
		t.Fatalf("frame after expiry: %v", err)
	}
}

func TestAuthWebSocketBayeuxErrors(t *testing.T) {
	tokens := bayeuxtest.NewTokens()
	srv := newServer(t, bayeuxtest.WithBearerAuth(tokens.Valid, bayeuxtest.AuthBayeuxError))
	w := expiredSocket(t, srv, tokens)
	requireError(t, w.read()[0], 401)
}

// expiredSocket opens a session over a websocket dialled with a fresh
// token, expires the token and sends a connect.
func expiredSocket(t *testing.T, srv *bayeuxtest.Server, tokens *bayeuxtest.Tokens) *wsPeer {
	t.Helper()
	tok := tokens.Issue(0)
	c, _, err := websocket.DefaultDialer.Dial(wsURL(srv), http.Header{"Authorization": {"Bearer " + tok}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	w := &wsPeer{t: t, c: c}
	w.handshake()
	tokens.Expire(tok)
	w.send(w.connect("9", ""))
	return w
}

// TestAuthTokenExpiryWithClient: a Client without ext/auth whose token
// expires mid-session gets Salesforce's answer, "401::Authentication
// invalid" with advice reconnect "none", and follows the advice: it ends,
// and Err keeps the server's reason. (ext/auth's tests show a client
// with ext/auth handshaking again with a new token.)
func TestAuthTokenExpiryWithClient(t *testing.T) {
	tokens := bayeuxtest.NewTokens()
	srv := newServer(t, bayeuxtest.WithBearerAuth(tokens.Valid, bayeuxtest.AuthBayeuxError),
		bayeuxtest.WithTimeout(200*time.Millisecond))
	bt := &bearerTransport{base: srv.Client().Transport}
	tok := tokens.Issue(0)
	bt.token.Store(&tok)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := bayeux.NewClient(srv.URL, bayeux.WithHTTPClient(&http.Client{Transport: bt}))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Disconnect(ctx) }()
	tokens.Expire(tok)
	select {
	case <-c.Done():
	case <-ctx.Done():
		t.Fatal("the client kept going after advice reconnect none")
	}
	err = c.Err()
	var se *bayeux.ServerError
	if !errors.As(err, &se) || se.Raw != bayeuxtest.AuthInvalid || !errors.Is(err, bayeux.ErrSessionTerminated) ||
		!errors.Is(err, bayeux.ErrAuthentication) {
		t.Fatalf("Err = %v, want the 401 connect reply, terminated", err)
	}
	if n := srv.HandshakeCount(); n != 1 {
		t.Fatalf("%d handshakes, want 1", n)
	}
}
