package auth

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/bayeux-go/sdk/bayeux"
	"github.com/bayeux-go/sdk/internal/extfield"
)

// Name is the name the extension registers under.
const Name = "auth"

// DefaultMaxRefreshes is how many handshakes in a row the extension lets
// the server deny for authentication (not for a limit: those end at once), each with a fresh token, before it
// lets the client give up.
const DefaultMaxRefreshes = 5

// ErrTokenSource wraps the errors of a TokenSource.
var ErrTokenSource = errors.New("auth: token source failed")

// ErrAuthenticationInvalid is the reason given for the re-handshake the
// extension asks for when the server refused a token. It matches
// bayeux.ErrAuthentication too (errors.Is).
var ErrAuthenticationInvalid error = authenticationInvalid{}

// authenticationInvalid is ErrAuthenticationInvalid: a refused token, of
// the kind bayeux.ErrAuthentication names.
type authenticationInvalid struct{}

func (authenticationInvalid) Error() string { return "auth: the server refused the access token" }

func (authenticationInvalid) Is(target error) bool { return target == bayeux.ErrAuthentication }

// Extension sends an access token with every request of the client and
// replaces it when the server refuses it. Create it with New; it is safe
// for concurrent use. One Extension serves one client.
type Extension struct {
	src          TokenSource
	extKey       string
	maxRefreshes int

	fmu sync.Mutex // held while the source is asked

	mu      sync.Mutex
	cur     *Token
	stale   bool // the server refused cur: ask the source again
	denied  int  // handshakes denied in a row for authentication
	failing bool // the source failed and this was reported
	session bayeux.SessionHandle
	// gen counts the tokens fetched; sentGen maps the id of each request
	// in flight to the gen of the token it goes with, so that a refusal
	// of an older token (a request sent before the refresh, answered
	// after it) neither discards the new token nor ends the session
	// renewed with it.
	gen     uint64
	sentGen map[string]uint64
}

// maxInFlight bounds sentGen: ids whose reply never came are forgotten
// past it.
const maxInFlight = 4096

// Option configures an Extension.
type Option func(*Extension)

// WithExtField also sends the access token in the /meta/handshake message,
// as ext {key: "<token>"}, for servers that authenticate the handshake
// message rather than the HTTP request. Off by default.
func WithExtField(key string) Option {
	return func(e *Extension) { e.extKey = key }
}

// WithMaxRefreshes sets how many handshakes in a row may be denied for
// authentication, each retried with a fresh token after the client's
// backoff, before the client gives up (DefaultMaxRefreshes by default).
func WithMaxRefreshes(n int) Option {
	return func(e *Extension) {
		if n >= 0 {
			e.maxRefreshes = n
		}
	}
}

// New returns an extension that authenticates with the tokens of src.
func New(src TokenSource, opts ...Option) *Extension {
	e := &Extension{src: src, maxRefreshes: DefaultMaxRefreshes}
	for _, o := range opts {
		if o != nil {
			o(e)
		}
	}
	return e
}

// Name returns "auth" (bayeux.NamedExtension).
func (e *Extension) Name() string { return Name }

// token returns the token to send: the current one, or a new one from the
// source when there is none, it expired, or the server refused it. It
// returns nil when the source fails and no token is at hand.
func (e *Extension) token() *Token {
	if t := e.usable(); t != nil {
		return t
	}
	// One fetch at a time; the others wait for its token.
	e.fmu.Lock()
	defer e.fmu.Unlock()
	if t := e.usable(); t != nil {
		return t
	}
	t, err := e.fetch()
	e.mu.Lock()
	defer e.mu.Unlock()
	if err != nil {
		if !e.failing && e.session != nil {
			e.failing = true
			e.session.ReportError(err)
		}
		return e.cur
	}
	e.cur, e.stale, e.failing = t, false, false
	e.gen++
	return t
}

// noteSentLocked records the gen of the token m goes with: the current
// one, or the next when the current one is not usable (it is fetched
// just before the request goes out).
func (e *Extension) noteSentLocked(m *bayeux.Message) {
	if m.ID == "" {
		return
	}
	g := e.gen
	if e.cur == nil || e.stale || e.cur.expired(time.Now()) {
		g++
	}
	if e.sentGen == nil || len(e.sentGen) >= maxInFlight {
		e.sentGen = make(map[string]uint64)
	}
	e.sentGen[m.ID] = g
}

// olderLocked reports whether the reply to the request with id answers a
// request sent with a token older than the current one, and forgets id.
func (e *Extension) olderLocked(id string) bool {
	g, ok := e.sentGen[id]
	if !ok {
		return false
	}
	delete(e.sentGen, id)
	return g < e.gen
}

// usable returns the current token if it can be sent.
func (e *Extension) usable() *Token {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.cur != nil && !e.stale && !e.cur.expired(time.Now()) {
		return e.cur
	}
	return nil
}

// fetch asks the source for a token. Its error never holds a token.
func (e *Extension) fetch() (t *Token, err error) {
	if e.src == nil {
		return nil, fmt.Errorf("%w: no token source", ErrTokenSource)
	}
	defer func() {
		if r := recover(); r != nil {
			t, err = nil, fmt.Errorf("%w: panic %T", ErrTokenSource, r)
		}
	}()
	t, err = e.src.Token()
	switch {
	case err != nil:
		return nil, fmt.Errorf("%w: %w", ErrTokenSource, err)
	case t == nil || t.AccessToken == "":
		return nil, fmt.Errorf("%w: empty token", ErrTokenSource)
	}
	return t, nil
}

// SetHeaders sets the Authorization header (bayeux.HeaderExtension). It
// calls the token source when it has no valid token: only for the first
// request and after the token expired or was refused, when the request
// could not succeed without a new one.
func (e *Extension) SetHeaders(h http.Header) {
	if t := e.token(); t != nil {
		h.Set("Authorization", t.Type()+" "+t.AccessToken)
	}
}

// Outgoing adds the token to the handshake's ext when WithExtField asks
// for it.
func (e *Extension) Outgoing(m *bayeux.Message) {
	if m.Channel != bayeux.MetaHandshake {
		e.mu.Lock()
		e.noteSentLocked(m)
		e.mu.Unlock()
		return
	}
	if e.extKey == "" {
		return
	}
	if t := e.token(); t != nil {
		m.Ext = extfield.With(m.Ext, e.extKey, t.AccessToken)
	}
}

// Incoming watches for refusals of the token: a reply whose reason has
// the code 401 ("401::Authentication invalid", on a /meta/connect with
// advice reconnect "none" as Salesforce sends it, or on a publish or
// subscribe), and a handshake denied for authentication (Salesforce's
// "403::Handshake denied" whose ext.sfdc.failureReason is "401::..."; see
// bayeux.IsAuthenticationFailure). The token is then replaced before the
// next request; a refused /meta/connect or publish also ends the session,
// so that the client handshakes again with the new token. Other denials
// (a concurrent-client or daily limit, say) are left as the server sent
// them, reason and advice.
func (e *Extension) Incoming(m *bayeux.Message) {
	if m.Channel == bayeux.MetaHandshake {
		e.mu.Lock()
		defer e.mu.Unlock()
		switch {
		case m.Successful:
			e.denied = 0
		case bayeux.IsAuthenticationFailure(*m):
			e.stale = true
			e.denied++
		}
		return
	}
	e.mu.Lock()
	older := e.olderLocked(m.ID)
	if !IsAuthError(m.Error) || older {
		// A refusal of an older token: the new one is already there,
		// and so is the session renewed with it.
		e.mu.Unlock()
		return
	}
	e.stale = true
	s := e.session
	e.mu.Unlock()
	if s != nil && (m.Channel == bayeux.MetaConnect || !m.IsMeta()) {
		// Salesforce advises reconnect "none" with its 401 connect
		// reply: the session is over, but a new token opens another.
		s.Rehandshake(ErrAuthenticationInvalid)
	}
}

// Retry refreshes the token after a handshake denied for authentication,
// or that failed with HTTP 401 or 403, and after a subscription refused
// with "401::...", and asks for the request to be sent again
// (bayeux.RetryExtension), up to the refresh limit for handshakes. The
// client then retries the handshake after its backoff even when the
// server advised reconnect "none", as Salesforce does for a bad token. A
// handshake denied for another reason is not retried by the extension.
func (e *Extension) Retry(request, reply *bayeux.Message, err error) bool {
	if request == nil {
		return false
	}
	authFailure := reply != nil && (bayeux.IsAuthenticationFailure(*reply) || IsAuthError(reply.Error))
	var te *bayeux.TransportError
	if errors.As(err, &te) && (te.StatusCode == http.StatusUnauthorized || te.StatusCode == http.StatusForbidden) {
		authFailure = true
	}
	if !authFailure {
		return false
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if request.Channel != bayeux.MetaHandshake {
		if !e.olderLocked(request.ID) {
			e.stale = true // refused with the current token
		}
		return true
	}
	e.stale = true
	if reply == nil {
		e.denied++ // Incoming saw no reply
	}
	return e.denied <= e.maxRefreshes
}

// AttachSession keeps the session handle (bayeux.SessionExtension).
func (e *Extension) AttachSession(s bayeux.SessionHandle) {
	e.mu.Lock()
	e.session = s
	e.mu.Unlock()
}

// Registered is called when the extension is added to a client.
func (e *Extension) Registered(string, *bayeux.BayeuxClient) {}

// Unregistered forgets the current token.
func (e *Extension) Unregistered() {
	e.mu.Lock()
	e.cur, e.stale = nil, false
	e.mu.Unlock()
}

// IsAuthError reports whether a server error refuses the credentials:
// "401::Authentication invalid" (Salesforce), or any 401 error. For a
// whole reply, including Salesforce's denied handshake whose real reason
// is in ext.sfdc.failureReason, use bayeux.IsAuthenticationFailure.
func IsAuthError(serverError string) bool {
	return strings.HasPrefix(serverError, "401:")
}

var (
	_ bayeux.MessageExtender  = (*Extension)(nil)
	_ bayeux.NamedExtension   = (*Extension)(nil)
	_ bayeux.SessionExtension = (*Extension)(nil)
	_ bayeux.HeaderExtension  = (*Extension)(nil)
	_ bayeux.RetryExtension   = (*Extension)(nil)
)
