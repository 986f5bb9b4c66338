package auth_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/bayeux-go/sdk/bayeux"
	"github.com/bayeux-go/sdk/bayeux/bayeuxtest"
	"github.com/bayeux-go/sdk/ext/auth"
	"github.com/bayeux-go/sdk/transport/longpoll"
)

const secret = "00Dxx0000001gPL!AQ4AQFakeSecretToken"

// Printing or logging a Token never shows its secret.
func TestTokenRedacted(t *testing.T) {
	tok := &auth.Token{AccessToken: secret, Expiry: time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC)}
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("token", "t", tok)
	out := fmt.Sprintf("%v %+v %#v %s", tok, tok, tok, tok) + buf.String()
	if strings.Contains(out, secret) || strings.Contains(out, "FakeSecret") {
		t.Fatalf("secret printed: %s", out)
	}
	if !strings.Contains(out, "2026-11-28T10:00:00Z") {
		t.Errorf("expiry missing: %s", out)
	}
}

// oauth2Token has the methods of golang.org/x/oauth2's Token that
// FromOAuth2 uses.
type oauth2Token struct {
	AccessToken, TokenType string
	valid                  bool
}

func (t *oauth2Token) SetAuthHeader(r *http.Request) {
	r.Header.Set("Authorization", t.TokenType+" "+t.AccessToken)
}
func (t *oauth2Token) Valid() bool { return t.valid }

// oauth2Source has the shape of golang.org/x/oauth2's TokenSource.
type oauth2Source interface {
	Token() (*oauth2Token, error)
}

type oauth2Fake struct{ calls int }

func (s *oauth2Fake) Token() (*oauth2Token, error) {
	s.calls++
	return &oauth2Token{AccessToken: fmt.Sprint("tok-", s.calls), TokenType: "Bearer", valid: s.calls > 1}, nil
}

func TestFromOAuth2(t *testing.T) {
	fake := &oauth2Fake{}
	var src oauth2Source = fake
	ext := auth.New(auth.FromOAuth2(src))
	h := http.Header{}
	ext.SetHeaders(h)
	// The first token says it is not valid: the next request asks again.
	if got := h.Get("Authorization"); got != "Bearer tok-1" {
		t.Fatalf("Authorization %q", got)
	}
	ext.SetHeaders(h)
	ext.SetHeaders(h)
	if got := h.Get("Authorization"); got != "Bearer tok-2" || fake.calls != 2 {
		t.Fatalf("Authorization %q after %d calls, want tok-2 after 2", got, fake.calls)
	}
}

// WithExtField puts the token in the handshake's ext, and only there.
func TestExtField(t *testing.T) {
	ext := auth.New(auth.StaticToken(secret), auth.WithExtField("access_token"))
	hs := bayeux.Message{Channel: bayeux.MetaHandshake}
	ext.Outgoing(&hs)
	if hs.Ext["access_token"] != secret {
		t.Errorf("handshake ext %v", hs.Ext)
	}
	pub := bayeux.Message{Channel: "/x"}
	ext.Outgoing(&pub)
	if pub.Ext != nil {
		t.Errorf("publish ext %v", pub.Ext)
	}
}

// Credentials the server keeps refusing end Connect after the refresh
// limit, with the server's error, and the source's tokens do not leak
// into it.
func TestBadCredentialsGiveUp(t *testing.T) {
	for _, failure := range []bayeuxtest.AuthFailure{bayeuxtest.AuthBayeuxError, bayeuxtest.AuthHTTPStatus} {
		t.Run(fmt.Sprint(failure), func(t *testing.T) {
			srv := bayeuxtest.NewServer(bayeuxtest.WithBearerAuth(func(string) bool { return false }, failure))
			defer srv.Close()
			c, err := bayeux.NewClient(srv.URL,
				bayeux.WithTransports(longpoll.New()),
				bayeux.WithBackoff(time.Millisecond, 5*time.Millisecond),
				bayeux.WithExtensions(auth.New(auth.StaticToken(secret), auth.WithMaxRefreshes(2))))
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			err = c.Connect(ctx)
			if err == nil || ctx.Err() != nil {
				t.Fatalf("Connect = %v (ctx %v), want the server's refusal before the deadline", err, ctx.Err())
			}
			if strings.Contains(err.Error(), secret) {
				t.Fatalf("token in error %v", err)
			}
			if n := srv.HandshakeCount(); n > 3 {
				t.Errorf("%d handshakes, want at most 3 (1 + 2 refreshes)", n)
			}
		})
	}
}

// A source that fails is reported once, its error wrapped in
// ErrTokenSource.
func TestSourceErrorReported(t *testing.T) {
	srv := bayeuxtest.NewServer(bayeuxtest.WithBearerAuth(func(string) bool { return true }, bayeuxtest.AuthBayeuxError))
	defer srv.Close()
	reported := make(chan error, 10)
	boom := errors.New("oauth server down")
	c, err := bayeux.NewClient(srv.URL,
		bayeux.WithTransports(longpoll.New()),
		bayeux.WithErrorHandler(func(err error) { reported <- err }),
		bayeux.WithExtensions(auth.New(auth.TokenSourceFunc(func() (*auth.Token, error) { return nil, boom }),
			auth.WithMaxRefreshes(0))))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.Connect(ctx); err == nil {
		t.Fatal("Connect succeeded without a token")
	}
	// The error handler runs on a goroutine of its own: once Done closes,
	// every report has been handed to it.
	_ = c.Disconnect(ctx)
	<-c.Done()
	n := 0
	for {
		select {
		case err := <-reported:
			if errors.Is(err, auth.ErrTokenSource) {
				n++
				if !errors.Is(err, boom) {
					t.Errorf("reported %v without its cause", err)
				}
			}
			continue
		default:
		}
		break
	}
	if n != 1 {
		t.Errorf("source failure reported %d times, want 1", n)
	}
}
