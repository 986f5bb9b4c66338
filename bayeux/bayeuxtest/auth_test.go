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
	if r[0].Successful || r[0].Error != bayeuxtest.AuthInvalid || r[0].Advice.Reconnect != bayeux.ReconnectHandshake {
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

// TestAuthTokenExpiryWithClient: a Client whose token expires mid-session
// is told to re-handshake; with a fresh token in place by then (as a
// refreshing token source would do on the 401) the re-handshake succeeds
// and events flow again.
func TestAuthTokenExpiryWithClient(t *testing.T) {
	tokens := bayeuxtest.NewTokens()
	var bt *bearerTransport
	fresh := tokens.Issue(0)
	// Once the server refuses the old token, the client's source has the
	// fresh one, before the refusal reaches the client.
	refresh := bayeuxtest.ExtensionFuncs{Out: func(m *bayeux.Message) {
		if m.Error == bayeuxtest.AuthInvalid {
			bt.token.Store(&fresh)
		}
	}}
	srv := newServer(t, bayeuxtest.WithBearerAuth(tokens.Valid, bayeuxtest.AuthBayeuxError),
		bayeuxtest.WithTimeout(200*time.Millisecond), bayeuxtest.WithExtension(refresh))
	bt = &bearerTransport{base: srv.Client().Transport}
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
	got := make(chan string, 4)
	if _, err := c.Subscribe(ctx, "/t", func(m bayeux.Message) { got <- string(m.Data) }); err != nil {
		t.Fatal(err)
	}
	first := c.ClientID()
	tokens.Expire(tok)
	if err := srv.WaitFor(ctx, func(s *bayeuxtest.Server) bool {
		ids := s.Sessions()
		return s.HandshakeCount() == 2 && len(s.Subscriptions(ids[len(ids)-1])) == 1
	}); err != nil {
		t.Fatal(err)
	}
	if c.ClientID() == first {
		t.Fatal("no new session after the token expired")
	}
	if err := srv.Publish("/t", 7); err != nil {
		t.Fatal(err)
	}
	select {
	case d := <-got:
		if d != "7" {
			t.Fatalf("got %s", d)
		}
	case <-ctx.Done():
		t.Fatal("no event after the re-handshake")
	}
}
