package salesforce

import (
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/jwt"

	"github.com/bayeux-go/sdk/ext/auth"
)

// Salesforce's login servers: the host of the token endpoint and the
// audience of a JWT bearer assertion.
const (
	// LoginURL is the login server of production orgs and Developer
	// Edition orgs.
	LoginURL = "https://login.salesforce.com"
	// TestLoginURL is the login server of sandboxes.
	TestLoginURL = "https://test.salesforce.com"
)

// tokenPath is the path of Salesforce's OAuth 2.0 token endpoint on a
// login server or a My Domain.
const tokenPath = "/services/oauth2/token"

// DefaultTokenTimeout bounds each request to the token endpoint (see
// WithTokenTimeout).
const DefaultTokenTimeout = 30 * time.Second

// JWTLifetime is how long a JWT bearer assertion is valid (its exp claim):
// Salesforce refuses an assertion that expires more than three minutes
// after it is sent.
const JWTLifetime = 3 * time.Minute

// ErrTokenRequest matches every error of a TokenSource: the token endpoint
// could not be reached or refused the request (a *TokenError).
var ErrTokenRequest = errors.New("salesforce: token request failed")

// TokenError is the token endpoint's refusal of a request, for example
// "invalid_grant" for a revoked refresh token or a JWT whose user has not
// approved the connected app. It matches ErrTokenRequest.
type TokenError struct {
	// StatusCode is the HTTP status of the answer.
	StatusCode int
	// Code is the OAuth error code ("invalid_grant", "invalid_client",
	// ...), empty when the answer had none.
	Code string
	// Description is Salesforce's error_description.
	Description string
}

// Error describes the refusal on one line.
func (e *TokenError) Error() string {
	s := fmt.Sprintf("salesforce: token request refused: HTTP %d", e.StatusCode)
	if e.Code != "" {
		s += " " + e.Code
	}
	if e.Description != "" {
		s += ": " + oneLine(e.Description)
	}
	return s
}

// Is makes a TokenError match ErrTokenRequest.
func (e *TokenError) Is(target error) bool { return target == ErrTokenRequest }

// oneLine replaces the line breaks of s.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// TokenSource gets access tokens from Salesforce's OAuth 2.0 token
// endpoint, with a refresh token (NewRefreshTokenSource) or a JWT bearer
// assertion (NewJWTSource). It is an auth.TokenSource: every call of
// Token asks the endpoint for a new token, which is what ext/auth needs,
// since it calls Token only for its first request and after Salesforce
// refused the token it had (Salesforce's token responses carry no expiry,
// so a cache could not tell a refused token from a good one). It also
// keeps the instance_url of the last token response, for NewClient. It is
// safe for concurrent use.
type TokenSource struct {
	// retrieve asks the token endpoint for a token, with ctx.
	retrieve func(ctx context.Context) (*oauth2.Token, error)
	base     context.Context
	timeout  time.Duration
	hc       *http.Client

	mu          sync.Mutex
	instanceURL string
	// pending is a token InstanceURL fetched and Token has not handed
	// out yet.
	pending *oauth2.Token
}

// TokenOption configures a TokenSource.
type TokenOption func(*TokenSource)

// WithHTTPClient sets the HTTP client of the requests to the token
// endpoint (default: a client of its own with net/http's default
// transport). Its Timeout, if any, applies too.
func WithHTTPClient(c *http.Client) TokenOption {
	return func(s *TokenSource) {
		if c != nil {
			s.hc = c
		}
	}
}

// WithTokenTimeout bounds each request to the token endpoint made by
// Token, which has no context of its own (default DefaultTokenTimeout).
func WithTokenTimeout(d time.Duration) TokenOption {
	return func(s *TokenSource) {
		if d > 0 {
			s.timeout = d
		}
	}
}

// newTokenSource applies opts to a source of base context ctx.
func newTokenSource(ctx context.Context, retrieve func(context.Context) (*oauth2.Token, error), opts []TokenOption) *TokenSource {
	if ctx == nil {
		ctx = context.Background()
	}
	s := &TokenSource{retrieve: retrieve, base: ctx, timeout: DefaultTokenTimeout, hc: &http.Client{}}
	for _, o := range opts {
		if o != nil {
			o(s)
		}
	}
	return s
}

// Token asks the token endpoint for a new access token (auth.TokenSource).
// Each request is bounded by the token timeout and ends when the context
// given to the constructor is done.
func (s *TokenSource) Token() (*auth.Token, error) {
	s.mu.Lock()
	t := s.pending
	s.pending = nil
	s.mu.Unlock()
	if t == nil {
		var err error
		if t, err = s.fetch(s.base); err != nil {
			return nil, err
		}
	}
	return &auth.Token{AccessToken: t.AccessToken, TokenType: t.TokenType, Expiry: t.Expiry}, nil
}

// InstanceURL returns the instance_url of the last token response
// (https://MyDomain.my.salesforce.com), the base of the org's API
// endpoints. Before the first token, it asks the token endpoint for one
// with ctx, and keeps that token for the next call of Token.
func (s *TokenSource) InstanceURL(ctx context.Context) (string, error) {
	s.mu.Lock()
	u := s.instanceURL
	s.mu.Unlock()
	if u != "" {
		return u, nil
	}
	t, err := s.fetch(ctx)
	if err != nil {
		return "", err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pending = t
	if s.instanceURL == "" {
		return "", fmt.Errorf("%w: the token response has no instance_url", ErrTokenRequest)
	}
	return s.instanceURL, nil
}

// fetch asks the token endpoint for a token, within the token timeout.
func (s *TokenSource) fetch(ctx context.Context) (*oauth2.Token, error) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	// golang.org/x/oauth2/jwt does not give its requests the context:
	// the transport does.
	hc := *s.hc
	hc.Transport = ctxTransport{ctx: ctx, base: s.hc.Transport}
	t, err := s.retrieve(context.WithValue(ctx, oauth2.HTTPClient, &hc))
	if err != nil {
		return nil, tokenError(err)
	}
	if t.AccessToken == "" {
		return nil, fmt.Errorf("%w: the token response has no access_token", ErrTokenRequest)
	}
	if u, ok := t.Extra("instance_url").(string); ok && u != "" {
		s.mu.Lock()
		s.instanceURL = strings.TrimRight(u, "/")
		s.mu.Unlock()
	}
	return t, nil
}

// ctxTransport sends each request with ctx.
type ctxTransport struct {
	ctx  context.Context
	base http.RoundTripper
}

func (t ctxTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	base := t.base
	if base == nil {
		base = http.DefaultTransport
	}
	return base.RoundTrip(r.WithContext(t.ctx))
}

// tokenError turns an error of golang.org/x/oauth2 into one of this
// package, on one line: a *TokenError for a refusal.
func tokenError(err error) error {
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) {
		return fmt.Errorf("%w: %s", ErrTokenRequest, oneLine(err.Error()))
	}
	te := &TokenError{Code: re.ErrorCode, Description: re.ErrorDescription}
	if re.Response != nil {
		te.StatusCode = re.Response.StatusCode
	}
	if te.Code == "" {
		var body struct {
			Code        string `json:"error"`
			Description string `json:"error_description"`
		}
		if json.Unmarshal(re.Body, &body) == nil {
			te.Code, te.Description = body.Code, body.Description
		}
	}
	return te
}

// tokenURL returns the token endpoint of loginURL (LoginURL when empty).
func tokenURL(loginURL string) (string, error) {
	if loginURL == "" {
		loginURL = LoginURL
	}
	base, err := baseURL(loginURL)
	if err != nil {
		return "", fmt.Errorf("login URL: %w", err)
	}
	return base + tokenPath, nil
}

// RefreshTokenConfig is the configuration of the OAuth 2.0 refresh token
// flow: a connected app's consumer key and secret, and a refresh token a
// user granted it (with the web server or device flow, or "sf org
// login").
type RefreshTokenConfig struct {
	// ClientID is the connected app's consumer key.
	ClientID string
	// ClientSecret is the connected app's consumer secret; empty for a
	// connected app that does not require it for the refresh token flow.
	ClientSecret string
	// RefreshToken is the refresh token. When Salesforce rotates refresh
	// tokens, the source uses the newest one it received.
	RefreshToken string
	// LoginURL is the server of the token endpoint: LoginURL (the
	// default), TestLoginURL, or the org's My Domain
	// (https://acme.my.salesforce.com).
	LoginURL string
}

// NewRefreshTokenSource returns a TokenSource that gets each access token
// with the refresh token of cfg (grant_type=refresh_token, the client's
// credentials in the form). ctx bounds every request of the source: once
// it is done, Token fails.
func NewRefreshTokenSource(ctx context.Context, cfg RefreshTokenConfig, opts ...TokenOption) (*TokenSource, error) {
	if cfg.ClientID == "" || cfg.RefreshToken == "" {
		return nil, fmt.Errorf("%w: the refresh token flow needs a ClientID and a RefreshToken", ErrConfig)
	}
	u, err := tokenURL(cfg.LoginURL)
	if err != nil {
		return nil, err
	}
	conf := &oauth2.Config{
		ClientID:     cfg.ClientID,
		ClientSecret: cfg.ClientSecret,
		Endpoint:     oauth2.Endpoint{TokenURL: u, AuthStyle: oauth2.AuthStyleInParams},
	}
	var mu sync.Mutex
	refresh := cfg.RefreshToken
	retrieve := func(ctx context.Context) (*oauth2.Token, error) {
		mu.Lock()
		rt := refresh
		mu.Unlock()
		// A source of its own each time: golang.org/x/oauth2's would
		// keep a token without expiry forever, even once refused.
		t, err := conf.TokenSource(ctx, &oauth2.Token{RefreshToken: rt}).Token()
		if err != nil {
			return nil, err
		}
		if t.RefreshToken != "" {
			mu.Lock()
			refresh = t.RefreshToken
			mu.Unlock()
		}
		return t, nil
	}
	return newTokenSource(ctx, retrieve, opts), nil
}

// JWTConfig is the configuration of the OAuth 2.0 JWT bearer flow, for a
// server-to-server integration: a connected app with a certificate, whose
// private key signs an assertion naming the user to act as, who approved
// the app beforehand (or whose profile is pre-authorized).
type JWTConfig struct {
	// ClientID is the connected app's consumer key, the assertion's
	// issuer (iss).
	ClientID string
	// Username is the Salesforce username of the user, the assertion's
	// subject (sub).
	Username string
	// PrivateKey is the PEM-encoded RSA private key (PKCS #1 or PKCS #8)
	// of the certificate uploaded to the connected app. The assertion is
	// signed with RS256.
	PrivateKey []byte
	// LoginURL is the server of the token endpoint: LoginURL (the
	// default), TestLoginURL, or the org's My Domain.
	LoginURL string
	// Audience is the assertion's audience (aud). Empty means LoginURL,
	// or TestLoginURL when the token endpoint is TestLoginURL or a
	// sandbox's My Domain (*.sandbox.my.salesforce.com).
	Audience string
}

// NewJWTSource returns a TokenSource that gets each access token with a
// new JWT bearer assertion (grant_type
// urn:ietf:params:oauth:grant-type:jwt-bearer) signed by cfg's private
// key and valid for JWTLifetime. ctx bounds every request of the source:
// once it is done, Token fails.
func NewJWTSource(ctx context.Context, cfg JWTConfig, opts ...TokenOption) (*TokenSource, error) {
	if cfg.ClientID == "" || cfg.Username == "" {
		return nil, fmt.Errorf("%w: the JWT bearer flow needs a ClientID and a Username", ErrConfig)
	}
	if err := checkRSAKey(cfg.PrivateKey); err != nil {
		return nil, err
	}
	u, err := tokenURL(cfg.LoginURL)
	if err != nil {
		return nil, err
	}
	aud := cfg.Audience
	if aud == "" {
		aud = audience(u)
	}
	conf := &jwt.Config{
		Email:      cfg.ClientID,
		Subject:    cfg.Username,
		PrivateKey: cfg.PrivateKey,
		TokenURL:   u,
		Audience:   aud,
		Expires:    JWTLifetime,
	}
	retrieve := func(ctx context.Context) (*oauth2.Token, error) {
		// A source of its own each time, as for the refresh token flow.
		return conf.TokenSource(ctx).Token()
	}
	return newTokenSource(ctx, retrieve, opts), nil
}

// audience returns the default aud claim for the token endpoint u.
func audience(u string) string {
	host := strings.TrimPrefix(strings.TrimSuffix(u, tokenPath), "https://")
	if host == strings.TrimPrefix(TestLoginURL, "https://") || strings.HasSuffix(host, ".sandbox.my.salesforce.com") {
		return TestLoginURL
	}
	return LoginURL
}

// checkRSAKey reports a private key golang.org/x/oauth2/jwt cannot sign
// with, once, rather than at every token request.
func checkRSAKey(key []byte) error {
	block, _ := pem.Decode(key)
	if block == nil {
		return fmt.Errorf("%w: PrivateKey is not PEM-encoded", ErrConfig)
	}
	if _, err := x509.ParsePKCS1PrivateKey(block.Bytes); err == nil {
		return nil
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return fmt.Errorf("%w: PrivateKey is neither a PKCS #1 nor a PKCS #8 key", ErrConfig)
	}
	if _, ok := k.(*rsa.PrivateKey); !ok {
		return fmt.Errorf("%w: PrivateKey is a %T; the JWT bearer flow signs with RS256 (RSA)", ErrConfig, k)
	}
	return nil
}

var _ auth.TokenSource = (*TokenSource)(nil)
