package bayeuxtest

import (
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/bayeux-go/sdk/bayeux"
)

// AuthFailure chooses how the server answers a request whose bearer token
// is missing or invalid (see WithBearerAuth).
type AuthFailure int

const (
	// AuthBayeuxError answers in Bayeux, as Salesforce does: a handshake
	// gets error "403::Handshake denied" with ext {"sfdc":
	// {"failureReason": "401::Authentication invalid"}} and advice
	// {"reconnect": "none"}; every other message gets error
	// "401::Authentication invalid", and a /meta/connect also advice
	// {"reconnect": "none", "interval": 0}, as Salesforce documents it:
	// the session is over, and only a client that gets a new token
	// handshakes again. Over websocket the upgrade is accepted and each
	// frame is checked.
	AuthBayeuxError AuthFailure = iota
	// AuthHTTPStatus answers HTTP 401 with a WWW-Authenticate: Bearer
	// header, refuses the websocket upgrade the same way, and closes an
	// open websocket with 1008 (policy violation) when a frame arrives
	// after its token became invalid.
	AuthHTTPStatus
)

// AuthInvalid is the error of a message refused for its token (Salesforce's
// wording).
const AuthInvalid = "401::Authentication invalid"

// authHandshakeDenied is the error of a refused handshake (Salesforce's).
const authHandshakeDenied = "403::Handshake denied"

type authConfig struct {
	valid   func(token string) bool
	failure AuthFailure
}

// WithBearerAuth makes the server require an "Authorization: Bearer
// <token>" header on every HTTP request and on the websocket upgrade, and
// valid(token) to be true when each request (or websocket frame) is
// processed, so that a token that expires mid-session is noticed at the
// next request. Over websocket the token is the one of the upgrade. A
// *Tokens' Valid method is a ready-made valid function. failure chooses
// the answer to a bad token. valid is called concurrently, without the
// server's lock held. Like WithOneChannelSubscriptions, it makes the
// server serve Salesforce's filtered PushTopic channels.
func WithBearerAuth(valid func(token string) bool, failure AuthFailure) Option {
	return func(c *config) {
		if valid == nil {
			c.auth = nil
			return
		}
		c.auth = &authConfig{valid: valid, failure: failure}
	}
}

// bearer returns the token of an "Authorization: Bearer <token>" header.
func bearer(h http.Header) string {
	v := h.Get("Authorization")
	const prefix = "bearer "
	if len(v) > len(prefix) && strings.EqualFold(v[:len(prefix)], prefix) {
		return strings.TrimSpace(v[len(prefix):])
	}
	return ""
}

// authorized reports whether token is acceptable now (always, without
// WithBearerAuth).
func (s *Server) authorized(token string) bool {
	a := s.cfg.auth
	return a == nil || (token != "" && a.valid(token))
}

// authRejectHTTP answers an HTTP request whose token is not acceptable and
// reports whether it did.
func (s *Server) authRejectHTTP(w http.ResponseWriter, r *http.Request, callback string, msgs []bayeux.Message) bool {
	if s.authorized(bearer(r.Header)) {
		return false
	}
	s.log.Debug("bayeuxtest: authentication invalid", "transport", r.Method)
	if s.cfg.auth.failure == AuthHTTPStatus {
		unauthorized(w)
		return true
	}
	s.writeHTTP(w, callback, "", s.finish(s.authReplies(msgs), nil))
	return true
}

func unauthorized(w http.ResponseWriter) {
	w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
	http.Error(w, "bayeuxtest: authentication invalid", http.StatusUnauthorized)
}

// authReplies answers msgs refused for their token. A handshake is
// answered alone, as its batch would be.
func (s *Server) authReplies(msgs []bayeux.Message) []bayeux.Message {
	for i := range msgs {
		if msgs[i].Channel == bayeux.MetaHandshake {
			r := s.errorReply(&msgs[i], 0, "", "")
			r.Error = authHandshakeDenied
			r.Ext = map[string]any{"sfdc": map[string]any{"failureReason": AuthInvalid}}
			r.Advice = s.reconnectAdvice(bayeux.ReconnectNone)
			return []bayeux.Message{r}
		}
	}
	out := make([]bayeux.Message, len(msgs))
	for i := range msgs {
		r := s.errorReply(&msgs[i], 0, "", "")
		r.Error = AuthInvalid
		if msgs[i].Channel == bayeux.MetaConnect {
			// Salesforce's answer: reconnect "none", interval 0.
			r.Advice = s.reconnectAdvice(bayeux.ReconnectNone)
			r.Advice.Interval = 0
		}
		out[i] = r
	}
	return out
}

// authRejectUpgrade refuses a websocket upgrade whose token is not
// acceptable, with AuthHTTPStatus, and reports whether it did.
func (s *Server) authRejectUpgrade(w http.ResponseWriter, r *http.Request) bool {
	if s.cfg.auth == nil || s.cfg.auth.failure != AuthHTTPStatus || s.authorized(bearer(r.Header)) {
		return false
	}
	unauthorized(w)
	return true
}

// authRejectFrame answers a websocket frame whose connection's token is
// no longer acceptable and reports whether it did.
func (wc *wsConn) authRejectFrame(msgs []bayeux.Message) bool {
	s := wc.s
	if s.authorized(wc.token) {
		return false
	}
	if s.cfg.auth.failure == AuthHTTPStatus {
		wc.violation(websocket.ClosePolicyViolation, "authentication invalid")
		return true
	}
	wc.enqueue(wsItem{msgs: s.finish(s.authReplies(msgs), nil)})
	return true
}

// Tokens issues bearer tokens that expire, for WithBearerAuth (pass its
// Valid method) and for tests of token refresh. It is safe for concurrent
// use.
type Tokens struct {
	mu     sync.Mutex
	expiry map[string]time.Time
	issued int
}

// NewTokens returns an empty token set.
func NewTokens() *Tokens { return &Tokens{expiry: make(map[string]time.Time)} }

// Issue returns a new random token valid for ttl (forever when ttl <= 0).
func (t *Tokens) Issue(ttl time.Duration) string {
	tok := newID(16)
	var exp time.Time
	if ttl > 0 {
		exp = time.Now().Add(ttl)
	}
	t.mu.Lock()
	t.expiry[tok] = exp
	t.issued++
	t.mu.Unlock()
	return tok
}

// Valid reports whether token was issued and has not expired or been
// revoked.
func (t *Tokens) Valid(token string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	exp, ok := t.expiry[token]
	return ok && (exp.IsZero() || time.Now().Before(exp))
}

// Expire revokes token at once.
func (t *Tokens) Expire(token string) {
	t.mu.Lock()
	delete(t.expiry, token)
	t.mu.Unlock()
}

// ExpireAll revokes every token issued so far.
func (t *Tokens) ExpireAll() {
	t.mu.Lock()
	clear(t.expiry)
	t.mu.Unlock()
}

// Issued returns how many tokens were issued.
func (t *Tokens) Issued() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.issued
}
