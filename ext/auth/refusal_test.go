package auth_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bayeux-go/sdk/bayeux"
	"github.com/bayeux-go/sdk/bayeux/bayeuxtest"
	"github.com/bayeux-go/sdk/ext/auth"
)

// Salesforce's reasons for a denied handshake (its ext.sfdc.failureReason).
const (
	reasonBadToken    = "401::Authentication invalid"
	reasonConcurrent  = "403::Organization concurrent user limit exceeded"
	reasonDailyEvents = "403::Organization total events daily limit exceeded"
)

// denyHandshakes is a server extension that denies every handshake as
// Salesforce does: error "403::Handshake denied", advice reconnect "none"
// (added by bayeuxtest to a handshake an extension denies), and the real
// reason in ext.sfdc.failureReason.
func denyHandshakes(reason string) bayeuxtest.Extension {
	return bayeuxtest.ExtensionFuncs{
		In: func(m *bayeux.Message) {
			if m.Channel == bayeux.MetaHandshake {
				m.Error = "403::Handshake denied"
			}
		},
		Out: func(m *bayeux.Message) {
			if m.Channel == bayeux.MetaHandshake && !m.Successful {
				m.Ext = map[string]any{"sfdc": map[string]any{"failureReason": reason}}
			}
		},
	}
}

// countingSource issues a new token at each call and counts the calls.
type countingSource struct{ n atomic.Int32 }

func (s *countingSource) Token() (*auth.Token, error) {
	s.n.Add(1)
	return &auth.Token{AccessToken: "token"}, nil
}

// connectDenied connects a client with ext/auth (and opts) to a server
// that denies every handshake for reason, and returns how many tokens the
// extension fetched, how many handshakes the server received and
// Connect's error.
func connectDenied(t *testing.T, reason string, opts ...auth.Option) (tokens, handshakes int, err error) {
	t.Helper()
	srv := bayeuxtest.NewServer(bayeuxtest.WithExtension(denyHandshakes(reason)))
	defer srv.Close()
	src := &countingSource{}
	c, err := bayeux.NewClient(srv.URL, bayeux.WithBackoff(5*time.Millisecond, 20*time.Millisecond),
		bayeux.WithExtensions(auth.New(src, opts...)))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err = c.Connect(ctx)
	if err == nil {
		_ = c.Disconnect(ctx)
		t.Fatal("Connect succeeded through a denied handshake")
	}
	if ctx.Err() != nil {
		t.Fatalf("Connect waited for its context: %v", err)
	}
	<-c.Done()
	for _, m := range srv.Received() {
		if m.Channel == bayeux.MetaHandshake {
			handshakes++
		}
	}
	return int(src.n.Load()), handshakes, err
}

// requireDenial checks that err is the server's denial, with its advice
// and reason as sent, of the kind want and of no other kind.
func requireDenial(t *testing.T, err error, want error, reason string) {
	t.Helper()
	var se *bayeux.ServerError
	if !errors.As(err, &se) || !errors.Is(err, bayeux.ErrHandshakeDenied) {
		t.Fatalf("Connect: %v, want a *bayeux.ServerError matching ErrHandshakeDenied", err)
	}
	if se.Advice == nil || se.Advice.Reconnect != bayeux.ReconnectNone {
		t.Errorf("error's advice %+v, want the server's reconnect none", se.Advice)
	}
	if se.FailureReason != reason || !strings.Contains(err.Error(), reason) {
		t.Errorf("error %q (failure reason %q) does not give the reason %q", err, se.FailureReason, reason)
	}
	for _, kind := range []error{bayeux.ErrAuthentication, bayeux.ErrConcurrentClientLimit, bayeux.ErrDailyLimit} {
		if errors.Is(err, kind) != (kind == want) {
			t.Errorf("errors.Is(%v, %v) = %v", err, kind, !(kind == want))
		}
	}
}

// A handshake denied for Salesforce's concurrent-client limit is not a
// token's fault: ext/auth fetches no new token and the client does not
// retry, as the server advised; Connect's error keeps the advice and the
// reason, and matches bayeux.ErrConcurrentClientLimit.
func TestConcurrentClientLimitNoRefresh(t *testing.T) {
	tokens, handshakes, err := connectDenied(t, reasonConcurrent)
	if tokens != 1 || handshakes != 1 {
		t.Errorf("%d tokens fetched, %d handshakes; want 1 and 1", tokens, handshakes)
	}
	requireDenial(t, err, bayeux.ErrConcurrentClientLimit, reasonConcurrent)
}

// The same for Salesforce's daily event limit, at the handshake.
func TestDailyLimitNoRefresh(t *testing.T) {
	tokens, handshakes, err := connectDenied(t, reasonDailyEvents)
	if tokens != 1 || handshakes != 1 {
		t.Errorf("%d tokens fetched, %d handshakes; want 1 and 1", tokens, handshakes)
	}
	requireDenial(t, err, bayeux.ErrDailyLimit, reasonDailyEvents)
}

// A bad token is refreshed, WithMaxRefreshes times in a row; then Connect
// fails with the server's denial as sent (advice none, not rewritten),
// matching bayeux.ErrAuthentication.
func TestBadTokenRefreshedThenReported(t *testing.T) {
	tokens, handshakes, err := connectDenied(t, reasonBadToken, auth.WithMaxRefreshes(2))
	if tokens != 3 || handshakes != 3 {
		t.Errorf("%d tokens fetched, %d handshakes; want 3 and 3 (the first and 2 refreshes)", tokens, handshakes)
	}
	requireDenial(t, err, bayeux.ErrAuthentication, reasonBadToken)
}

// Salesforce refuses a subscription when the daily event limit is spent
// ("403::Organization total events daily limit exceeded" on
// /meta/subscribe): Subscribe's error says so, and the token is kept.
func TestDailyLimitOnSubscribe(t *testing.T) {
	srv := bayeuxtest.NewServer(bayeuxtest.WithExtension(bayeuxtest.ExtensionFuncs{In: func(m *bayeux.Message) {
		if m.Channel == bayeux.MetaSubscribe {
			m.Error = reasonDailyEvents
		}
	}}))
	defer srv.Close()
	src := &countingSource{}
	c, err := bayeux.NewClient(srv.URL, bayeux.WithExtensions(auth.New(src)))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	defer c.Disconnect(ctx)
	_, err = c.Subscribe(ctx, "/event/Order__e", func(bayeux.Message) {})
	if !errors.Is(err, bayeux.ErrSubscriptionDenied) || !errors.Is(err, bayeux.ErrDailyLimit) ||
		errors.Is(err, bayeux.ErrAuthentication) {
		t.Fatalf("Subscribe: %v, want a denial matching ErrDailyLimit", err)
	}
	if n := src.n.Load(); n != 1 {
		t.Errorf("%d tokens fetched, want 1", n)
	}
}

// Salesforce refuses a token that expired or was revoked mid-session with
// "401::Authentication invalid" on /meta/connect and advice reconnect
// "none" (bayeuxtest answers so). ext/auth recognises the authentication
// failure: it fetches a new token, the client handshakes again, the
// subscription is renewed and events arrive again. (Without ext/auth the
// client follows the advice and ends: bayeuxtest's
// TestAuthTokenExpiryWithClient.)
func TestRecoversFromConnect401ReconnectNone(t *testing.T) {
	tokens := bayeuxtest.NewTokens()
	var mu sync.Mutex
	var refusals []bayeux.Message
	watch := bayeuxtest.ExtensionFuncs{Out: func(m *bayeux.Message) {
		if m.Channel == bayeux.MetaConnect && m.Error != "" {
			mu.Lock()
			refusals = append(refusals, *m)
			mu.Unlock()
		}
	}}
	srv := bayeuxtest.NewServer(bayeuxtest.WithBearerAuth(tokens.Valid, bayeuxtest.AuthBayeuxError),
		bayeuxtest.WithTimeout(200*time.Millisecond), bayeuxtest.WithExtension(watch))
	defer srv.Close()
	src := &source{tokens: tokens}
	var reported []error
	c, err := bayeux.NewClient(srv.URL, bayeux.WithBackoff(10*time.Millisecond, 50*time.Millisecond),
		bayeux.WithErrorHandler(func(err error) { mu.Lock(); reported = append(reported, err); mu.Unlock() }),
		bayeux.WithExtensions(auth.New(src)))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	defer c.Disconnect(ctx)
	got := make(chan string, 10)
	if _, err := c.Subscribe(ctx, "/topic/Orders", func(m bayeux.Message) { got <- string(m.Data) }); err != nil {
		t.Fatal(err)
	}
	first := c.ClientID()
	tokens.ExpireAll()
	if err := srv.WaitFor(ctx, func(s *bayeuxtest.Server) bool {
		id := c.ClientID()
		return id != first && s.HandshakeCount() == 2 && len(s.Subscriptions(id)) == 1
	}); err != nil {
		t.Fatalf("no renewed session: %v (state %v, Err %v)", err, c.State(), c.Err())
	}
	mu.Lock()
	n := len(refusals)
	var r bayeux.Message
	if n > 0 {
		r = refusals[0]
	}
	mu.Unlock()
	if n == 0 || r.Error != bayeuxtest.AuthInvalid || r.Advice == nil || r.Advice.Reconnect != bayeux.ReconnectNone {
		t.Fatalf("the server's connect refusals: %+v; want 401::Authentication invalid with reconnect none", r)
	}
	if err := srv.Publish("/topic/Orders", 7); err != nil {
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
	if k := len(src.all()); k != 2 {
		t.Errorf("%d tokens fetched, want 2", k)
	}
	if err := c.Err(); err != nil {
		t.Errorf("Err = %v after recovery", err)
	}
}

// The reason ext/auth gives for the re-handshake after a refused token is
// a refused authentication in bayeux's terms too, and nothing else.
func TestAuthenticationInvalidIsAnAuthenticationFailure(t *testing.T) {
	wrapped := fmt.Errorf("session ended: %w", auth.ErrAuthenticationInvalid)
	if !errors.Is(wrapped, auth.ErrAuthenticationInvalid) || !errors.Is(wrapped, bayeux.ErrAuthentication) {
		t.Fatalf("%v matches ErrAuthenticationInvalid %v, bayeux.ErrAuthentication %v; want both", wrapped,
			errors.Is(wrapped, auth.ErrAuthenticationInvalid), errors.Is(wrapped, bayeux.ErrAuthentication))
	}
	for _, other := range []error{bayeux.ErrConcurrentClientLimit, bayeux.ErrDailyLimit, auth.ErrTokenSource} {
		if errors.Is(wrapped, other) {
			t.Errorf("%v matches %v", wrapped, other)
		}
	}
	if errors.Is(bayeux.ErrAuthentication, auth.ErrAuthenticationInvalid) {
		t.Error("bayeux.ErrAuthentication matches auth.ErrAuthenticationInvalid: the match goes one way")
	}
}
