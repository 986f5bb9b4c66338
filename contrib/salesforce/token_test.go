package salesforce_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/bayeux-go/sdk/contrib/salesforce"
)

// The refresh token flow posts grant_type=refresh_token with the client's
// credentials in the form, asks afresh at every call of Token, uses a
// rotated refresh token, and keeps the instance_url of the answer.
func TestRefreshTokenSource(t *testing.T) {
	ep := newTokenEndpoint(t, func(n int, form url.Values) (int, map[string]any) {
		body := tokenReply(fmt.Sprintf("00Dxx!token%d", n), "https://acme.my.salesforce.com")
		if n == 2 {
			body["refresh_token"] = "rotated"
		}
		return http.StatusOK, body
	})
	ts, err := salesforce.NewRefreshTokenSource(context.Background(), salesforce.RefreshTokenConfig{
		ClientID: "3MVG9consumer", ClientSecret: "s3cret", RefreshToken: "5Aep861refresh", LoginURL: ep.srv.URL,
	})
	if err != nil {
		t.Fatal(err)
	}
	u, err := ts.InstanceURL(context.Background())
	if err != nil || u != "https://acme.my.salesforce.com" {
		t.Fatalf("InstanceURL = %q, %v", u, err)
	}
	var got []string
	for range 3 {
		tok, err := ts.Token()
		if err != nil {
			t.Fatal(err)
		}
		if tok.Type() != "Bearer" || !tok.Expiry.IsZero() {
			t.Errorf("token %v: want a Bearer token without expiry", tok)
		}
		got = append(got, tok.AccessToken)
	}
	// The token InstanceURL fetched is the first one handed out.
	if want := []string{"00Dxx!token1", "00Dxx!token2", "00Dxx!token3"}; strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("tokens %v, want %v", got, want)
	}
	forms, paths := ep.requests()
	if len(forms) != 3 {
		t.Fatalf("%d requests, want 3", len(forms))
	}
	for i, f := range forms {
		if paths[i] != "/services/oauth2/token" {
			t.Errorf("request %d to %s", i, paths[i])
		}
		want := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"5Aep861refresh"},
			"client_id": {"3MVG9consumer"}, "client_secret": {"s3cret"}}
		if i == 2 {
			want.Set("refresh_token", "rotated")
		}
		if f.Encode() != want.Encode() {
			t.Errorf("request %d posted %s, want %s", i, f.Encode(), want.Encode())
		}
	}
}

// jwtParts decodes a JWT's header and claims, and checks its RS256
// signature with pub.
func jwtParts(t *testing.T, assertion string, pub *rsa.PublicKey) (header, claims map[string]any) {
	t.Helper()
	parts := strings.Split(assertion, ".")
	if len(parts) != 3 {
		t.Fatalf("assertion %q has %d parts", assertion, len(parts))
	}
	decode := func(s string, v any) {
		b, err := base64.RawURLEncoding.DecodeString(s)
		if err != nil {
			t.Fatalf("%q: %v", s, err)
		}
		if v != nil {
			if err := json.Unmarshal(b, v); err != nil {
				t.Fatalf("%s: %v", b, err)
			}
		}
	}
	decode(parts[0], &header)
	decode(parts[1], &claims)
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], sig); err != nil {
		t.Errorf("the signature does not verify with the connected app's certificate: %v", err)
	}
	return header, claims
}

// The JWT bearer flow posts an RS256 assertion whose claims are those
// Salesforce checks: iss the consumer key, sub the username, aud the login
// server, exp at most three minutes ahead.
func TestJWTSource(t *testing.T) {
	key, pemKey := rsaKey(t)
	ep := newTokenEndpoint(t, func(n int, form url.Values) (int, map[string]any) {
		if form.Get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer" {
			return http.StatusBadRequest, map[string]any{"error": "unsupported_grant_type", "error_description": "grant type not supported"}
		}
		return http.StatusOK, tokenReply(fmt.Sprintf("00Dxx!jwt%d", n), "https://acme.my.salesforce.com")
	})
	for _, tc := range []struct {
		name, audience, wantAud string
	}{
		{"default audience", "", salesforce.LoginURL},
		{"sandbox audience", salesforce.TestLoginURL, salesforce.TestLoginURL},
	} {
		t.Run(tc.name, func(t *testing.T) {
			done, _ := ep.requests()
			ts, err := salesforce.NewJWTSource(context.Background(), salesforce.JWTConfig{
				ClientID: "3MVG9consumer", Username: "integration@acme.com", PrivateKey: pemKey,
				LoginURL: ep.srv.URL, Audience: tc.audience,
			})
			if err != nil {
				t.Fatal(err)
			}
			before := time.Now()
			for i := range 2 {
				tok, err := ts.Token()
				if err != nil {
					t.Fatal(err)
				}
				if want := fmt.Sprintf("00Dxx!jwt%d", len(done)+i+1); tok.AccessToken != want {
					t.Errorf("token %q, want %q", tok.AccessToken, want)
				}
			}
			forms, _ := ep.requests()
			var assertions []string
			for _, f := range forms[len(done):] {
				assertions = append(assertions, f.Get("assertion"))
			}
			if len(assertions) != 2 || assertions[0] == "" {
				t.Fatalf("assertions %q: want one per token", assertions)
			}
			header, claims := jwtParts(t, assertions[0], &key.PublicKey)
			if header["alg"] != "RS256" {
				t.Errorf("alg %v, want RS256", header["alg"])
			}
			for k, want := range map[string]string{"iss": "3MVG9consumer", "sub": "integration@acme.com", "aud": tc.wantAud} {
				if claims[k] != want {
					t.Errorf("claim %s = %v, want %q", k, claims[k], want)
				}
			}
			exp, ok := claims["exp"].(float64)
			if !ok {
				t.Fatalf("no exp claim: %v", claims)
			}
			// exp is JWTLifetime after the assertion was made (in whole
			// seconds).
			if e := time.Unix(int64(exp), 0); e.Before(before.Add(salesforce.JWTLifetime-time.Second)) || e.After(time.Now().Add(salesforce.JWTLifetime)) {
				t.Errorf("exp %v: want %v after %v", e, salesforce.JWTLifetime, before)
			}
			if salesforce.JWTLifetime > 3*time.Minute {
				t.Errorf("JWTLifetime %v: Salesforce refuses an exp more than 3 minutes ahead", salesforce.JWTLifetime)
			}
			if u, err := ts.InstanceURL(context.Background()); err != nil || u != "https://acme.my.salesforce.com" {
				t.Errorf("InstanceURL = %q, %v", u, err)
			}
		})
	}
}

// The audience of a JWT defaults to the login server of the org's kind:
// test.salesforce.com for sandboxes.
func TestJWTDefaultAudience(t *testing.T) {
	_, pemKey := rsaKey(t)
	for _, tc := range []struct{ login, aud string }{
		{"", salesforce.LoginURL},
		{salesforce.LoginURL, salesforce.LoginURL},
		{salesforce.TestLoginURL, salesforce.TestLoginURL},
		{"https://acme.my.salesforce.com", salesforce.LoginURL},
		{"https://acme--dev.sandbox.my.salesforce.com", salesforce.TestLoginURL},
	} {
		var aud any
		rt := roundTripFunc(func(r *http.Request) (*http.Response, error) {
			if err := r.ParseForm(); err != nil {
				return nil, err
			}
			parts := strings.Split(r.PostForm.Get("assertion"), ".")
			if len(parts) == 3 {
				b, _ := base64.RawURLEncoding.DecodeString(parts[1])
				var claims map[string]any
				_ = json.Unmarshal(b, &claims)
				aud = claims["aud"]
			}
			return nil, errors.New("offline")
		})
		ts, err := salesforce.NewJWTSource(context.Background(), salesforce.JWTConfig{
			ClientID: "c", Username: "u", PrivateKey: pemKey, LoginURL: tc.login,
		}, salesforce.WithHTTPClient(&http.Client{Transport: rt}))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ts.Token(); !errors.Is(err, salesforce.ErrTokenRequest) {
			t.Errorf("%s: Token error %v, want ErrTokenRequest", tc.login, err)
		}
		if aud != tc.aud {
			t.Errorf("login %q: aud %v, want %s", tc.login, aud, tc.aud)
		}
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// A refusal of the token endpoint is a *TokenError on one line, with
// Salesforce's code and description, for both flows.
func TestTokenError(t *testing.T) {
	_, pemKey := rsaKey(t)
	ep := newTokenEndpoint(t, func(int, url.Values) (int, map[string]any) {
		return http.StatusBadRequest, map[string]any{"error": "invalid_grant", "error_description": "expired access/refresh token"}
	})
	rts, err := salesforce.NewRefreshTokenSource(context.Background(), salesforce.RefreshTokenConfig{
		ClientID: "c", RefreshToken: "r", LoginURL: ep.srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	jts, err := salesforce.NewJWTSource(context.Background(), salesforce.JWTConfig{
		ClientID: "c", Username: "u", PrivateKey: pemKey, LoginURL: ep.srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	for name, ts := range map[string]*salesforce.TokenSource{"refresh token": rts, "JWT": jts} {
		_, err := ts.Token()
		var te *salesforce.TokenError
		if !errors.As(err, &te) || !errors.Is(err, salesforce.ErrTokenRequest) {
			t.Fatalf("%s: error %v (%T), want a *TokenError matching ErrTokenRequest", name, err, err)
		}
		if te.StatusCode != http.StatusBadRequest || te.Code != "invalid_grant" || te.Description != "expired access/refresh token" {
			t.Errorf("%s: %+v", name, te)
		}
		if want := "salesforce: token request refused: HTTP 400 invalid_grant: expired access/refresh token"; err.Error() != want {
			t.Errorf("%s: %q, want %q", name, err, want)
		}
		if _, err := ts.InstanceURL(context.Background()); !errors.Is(err, salesforce.ErrTokenRequest) {
			t.Errorf("%s: InstanceURL error %v", name, err)
		}
	}
}

// A token endpoint that does not answer fails Token after the token
// timeout, and InstanceURL when its context ends: nothing waits forever.
func TestTokenTimeout(t *testing.T) {
	hang := make(chan struct{})
	defer close(hang)
	ep := newTokenEndpoint(t, func(int, url.Values) (int, map[string]any) {
		<-hang
		return http.StatusOK, tokenReply("x", "https://acme.my.salesforce.com")
	})
	ts, err := salesforce.NewRefreshTokenSource(context.Background(), salesforce.RefreshTokenConfig{
		ClientID: "c", RefreshToken: "r", LoginURL: ep.srv.URL}, salesforce.WithTokenTimeout(50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ts.Token(); !errors.Is(err, salesforce.ErrTokenRequest) || !strings.Contains(err.Error(), "deadline exceeded") {
		t.Errorf("Token error %v, want ErrTokenRequest after the deadline", err)
	}
	ts, err = salesforce.NewRefreshTokenSource(context.Background(), salesforce.RefreshTokenConfig{
		ClientID: "c", RefreshToken: "r", LoginURL: ep.srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(20*time.Millisecond, cancel)
	if _, err := ts.InstanceURL(ctx); !errors.Is(err, salesforce.ErrTokenRequest) || !strings.Contains(err.Error(), "canceled") {
		t.Errorf("InstanceURL error %v, want ErrTokenRequest when its context ends", err)
	}

	// A source whose context ended fails at once.
	done, stop := context.WithCancel(context.Background())
	stop()
	ts, err = salesforce.NewJWTSource(done, salesforce.JWTConfig{ClientID: "c", Username: "u", PrivateKey: rsaPEM(t), LoginURL: ep.srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ts.Token(); !errors.Is(err, salesforce.ErrTokenRequest) {
		t.Errorf("Token error %v after the source's context ended", err)
	}
}

func rsaPEM(t *testing.T) []byte {
	_, p := rsaKey(t)
	return p
}

// A configuration the sources cannot work with is refused when they are
// created, with ErrConfig.
func TestTokenSourceConfigErrors(t *testing.T) {
	ctx := context.Background()
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(ec)
	if err != nil {
		t.Fatal(err)
	}
	ecPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	good := rsaPEM(t)
	for name, f := range map[string]func() error{
		"refresh without client id": func() error {
			_, err := salesforce.NewRefreshTokenSource(ctx, salesforce.RefreshTokenConfig{RefreshToken: "r"})
			return err
		},
		"refresh without refresh token": func() error {
			_, err := salesforce.NewRefreshTokenSource(ctx, salesforce.RefreshTokenConfig{ClientID: "c"})
			return err
		},
		"refresh with a login URL with a path": func() error {
			_, err := salesforce.NewRefreshTokenSource(ctx, salesforce.RefreshTokenConfig{ClientID: "c", RefreshToken: "r",
				LoginURL: "https://login.salesforce.com/services/oauth2/token"})
			return err
		},
		"JWT without username": func() error {
			_, err := salesforce.NewJWTSource(ctx, salesforce.JWTConfig{ClientID: "c", PrivateKey: good})
			return err
		},
		"JWT without a PEM key": func() error {
			_, err := salesforce.NewJWTSource(ctx, salesforce.JWTConfig{ClientID: "c", Username: "u", PrivateKey: []byte("not a key")})
			return err
		},
		"JWT with an ECDSA key": func() error {
			_, err := salesforce.NewJWTSource(ctx, salesforce.JWTConfig{ClientID: "c", Username: "u", PrivateKey: ecPEM})
			return err
		},
		"JWT with a login URL that is not https": func() error {
			_, err := salesforce.NewJWTSource(ctx, salesforce.JWTConfig{ClientID: "c", Username: "u", PrivateKey: good, LoginURL: "login.salesforce.com"})
			return err
		},
	} {
		if err := f(); !errors.Is(err, salesforce.ErrConfig) {
			t.Errorf("%s: error %v, want ErrConfig", name, err)
		}
	}
}
