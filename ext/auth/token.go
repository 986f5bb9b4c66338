package auth

import (
	"log/slog"
	"net/http"
	"strings"
	"time"
)

// Token is an access token. Its String, GoString and LogValue methods
// hide the secret, so that printing or logging a Token shows no more than
// its type and expiry.
type Token struct {
	// AccessToken is the secret sent to the server.
	AccessToken string
	// TokenType is the scheme of the Authorization header; empty means
	// "Bearer".
	TokenType string
	// Expiry is when the token stops being valid; zero means unknown. The
	// extension asks its source for a new token once it expired.
	Expiry time.Time

	// valid, when set, reports whether the token is still valid (the
	// Valid method of an adapted golang.org/x/oauth2 token).
	valid func() bool
}

// Type returns the token's scheme: TokenType, or "Bearer".
func (t *Token) Type() string {
	if t.TokenType == "" || strings.EqualFold(t.TokenType, "bearer") {
		return "Bearer"
	}
	return t.TokenType
}

// expired reports whether t is known to be no longer valid at now.
func (t *Token) expired(now time.Time) bool {
	if t.valid != nil && !t.valid() {
		return true
	}
	return !t.Expiry.IsZero() && !now.Before(t.Expiry)
}

// String describes the token without its secret.
func (t *Token) String() string {
	if t == nil {
		return "auth.Token(nil)"
	}
	s := "auth.Token{" + t.Type() + " [redacted]"
	if !t.Expiry.IsZero() {
		s += " expires " + t.Expiry.UTC().Format(time.RFC3339)
	}
	return s + "}"
}

// GoString is String, for %#v.
func (t *Token) GoString() string { return t.String() }

// LogValue logs the token without its secret (slog.LogValuer).
func (t *Token) LogValue() slog.Value { return slog.StringValue(t.String()) }

// TokenSource supplies tokens. Token is called for the first request and
// again when the token expired or the server refused it; it may block (to
// ask an OAuth server), and must be safe for concurrent use.
type TokenSource interface {
	Token() (*Token, error)
}

// TokenSourceFunc adapts a function to TokenSource.
type TokenSourceFunc func() (*Token, error)

// Token calls f.
func (f TokenSourceFunc) Token() (*Token, error) { return f() }

// StaticToken returns a TokenSource that always returns the access token
// tok (a Salesforce session id, say), which cannot be refreshed.
func StaticToken(tok string) TokenSource {
	t := &Token{AccessToken: tok}
	return TokenSourceFunc(func() (*Token, error) { return t, nil })
}

// oauth2Token is what this package needs of a golang.org/x/oauth2 Token:
// its SetAuthHeader method (and its Valid method, when it has one).
type oauth2Token interface {
	SetAuthHeader(*http.Request)
}

// FromOAuth2 adapts a golang.org/x/oauth2 TokenSource, or any source whose
// tokens have a SetAuthHeader(*http.Request) method, without this package
// depending on golang.org/x/oauth2:
//
//	ext := auth.New(auth.FromOAuth2(conf.TokenSource(ctx, tok)))
//
// The Authorization header is the one the oauth2 token sets, and a token
// whose Valid method reports false is replaced before it is sent.
func FromOAuth2[T oauth2Token](src interface{ Token() (T, error) }) TokenSource {
	return TokenSourceFunc(func() (*Token, error) {
		ot, err := src.Token()
		if err != nil {
			return nil, err
		}
		r := &http.Request{Header: make(http.Header)}
		ot.SetAuthHeader(r)
		scheme, secret, _ := strings.Cut(r.Header.Get("Authorization"), " ")
		t := &Token{AccessToken: secret, TokenType: scheme}
		if v, ok := any(ot).(interface{ Valid() bool }); ok {
			t.valid = v.Valid
		}
		return t, nil
	})
}
