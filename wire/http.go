package wire

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/bayeux-go/sdk/internal/staleconn"
)

// DefaultMaxBodyBytes bounds a response body unless WithMaxBodyBytes says
// otherwise (16 MiB).
const DefaultMaxBodyBytes = 16 << 20

// ContentTypeJSON is the Content-Type of a long-polling request.
const ContentTypeJSON = "application/json;charset=UTF-8"

// Lane is the connection lane of a request.
type Lane int

const (
	// LaneOther is the lane of every request but a lone /meta/connect.
	LaneOther Lane = iota
	// LaneConnect is the lane of a lone /meta/connect, which the server
	// may hold: it has a client (and by default a connection pool) of its
	// own, so that it never delays the requests of the other lane.
	LaneConnect
)

// Request is one raw HTTP request.
type Request struct {
	// Method is the HTTP method; empty means POST when Body is set, GET
	// otherwise.
	Method string
	// URL is the absolute request URL, query included.
	URL string
	// Body is sent as is (nil for none).
	Body []byte
	// ContentType, when not empty, is the Content-Type header.
	ContentType string
	// Header is added to the request after the HTTP's own headers (see
	// WithHeader), replacing those of the same name.
	Header http.Header
	// Lane selects the client the request is sent with.
	Lane Lane
	// Retry allows the RetryPolicy given with WithRetry to re-send the
	// request after a connection error or a 502, 503 or 504 answer. Set it
	// only for requests whose re-sending cannot duplicate a message.
	Retry bool
}

// Exchange is a server's answer to a Request, as received.
type Exchange struct {
	// StatusCode is the HTTP status code, Status the status line's text
	// after the protocol ("200 OK") and Proto the protocol ("HTTP/1.1").
	StatusCode int
	Status     string
	Proto      string
	// Header holds the response headers.
	Header http.Header
	// Cookies are the cookies the response sets.
	Cookies []*http.Cookie
	// Body is the whole response body.
	Body []byte
	// URL is the URL that answered (after any redirects).
	URL *url.URL
	// Attempts is how many times the request was sent: 1, or more after
	// retries (see WithRetry and WithReuseRetry).
	Attempts int
	// Resent is true when the request was sent again after failing on a
	// reused connection before any byte of the response (WithReuseRetry).
	Resent bool
	// Lost counts the attempts before this answer that failed after the
	// request may have reached the server (a connection closed or torn
	// under it, not a failed dial): the server may have answered them,
	// and whatever it sent then (the events in a /meta/connect's answer)
	// never arrived.
	Lost int
}

// RetryPolicy re-sends a Request marked Retry after a connection error (no
// response) or a 502, 503 or 504 answer, while the request's context
// lasts. The wait starts at WaitMin and doubles up to WaitMax; the
// Retry-After header of a 503 is honoured within [WaitMin, WaitMax].
type RetryPolicy struct {
	// Max is the number of retries (<= 0: none).
	Max int
	// WaitMin and WaitMax bound the wait between retries.
	WaitMin, WaitMax time.Duration
	// OnRetry, if not nil, is called before each retry with the status
	// (0 after a connection error) and the error that caused it.
	OnRetry func(ctx context.Context, status int, err error)
}

// HTTPOption configures an HTTP.
type HTTPOption func(*HTTP)

// WithClient sends every request, on both lanes, with c (its transport,
// redirect policy and timeout, used as given). The HTTP never modifies c.
func WithClient(c *http.Client) HTTPOption {
	return func(h *HTTP) { h.clients = [2]*http.Client{c, c} }
}

// WithClients sends the requests of LaneConnect with connect and the others
// with other.
func WithClients(connect, other *http.Client) HTTPOption {
	return func(h *HTTP) { h.clients[LaneConnect], h.clients[LaneOther] = connect, other }
}

// WithJar adds the cookies of jar to every request and stores in it the
// cookies of every 200 answer (not those of error answers, as CometD does,
// so that a proxy's error page cannot replace a session's cookies).
func WithJar(jar http.CookieJar) HTTPOption { return func(h *HTTP) { h.jar = jar } }

// WithHeader adds header to every request (copied; the keys must be
// canonical, see AddHeader).
func WithHeader(header http.Header) HTTPOption {
	return func(h *HTTP) {
		for k, vs := range header {
			for _, v := range vs {
				h.header = AddHeader(h.header, k, v)
			}
		}
	}
}

// WithHeaderFunc calls set on the headers of every request (each attempt
// of it), after the other headers: the way a client's changing headers
// (a refreshed token) reach each request.
func WithHeaderFunc(set func(http.Header)) HTTPOption {
	return func(h *HTTP) { h.setHeader = set }
}

// WithMaxBodyBytes bounds the response bodies (n <= 0: DefaultMaxBodyBytes).
func WithMaxBodyBytes(n int64) HTTPOption {
	return func(h *HTTP) {
		if n <= 0 {
			n = DefaultMaxBodyBytes
		}
		h.maxBody = n
	}
}

// WithRetry sets the retry policy of the requests marked Retry. Without it
// nothing is retried.
func WithRetry(p RetryPolicy) HTTPOption { return func(h *HTTP) { h.retry = p } }

// WithReuseRetry makes a request that failed on a reused kept-alive
// connection before any byte of the response arrived be sent once more, on
// a fresh connection when the lane's client uses an *http.Transport, when
// that cannot deliver a message twice: the request is marked Retry, or it
// provably never reached the server (the connection was found closed
// before anything of it was written, net/http's "server closed idle
// connection" or the check of the connections NewHTTP makes; or the
// server reset the connection, as a socket closed with the request unread
// does). WithResendUncertain extends it to every request. A connection
// found closed after being idle less than a second marks a server that
// closes kept-alive connections after each response (Ruby Faye under
// puma): requests not marked Retry then go on connections of their own.
// Such a failure is the only one after which a request that is not marked
// Retry is re-sent. Off by default.
func WithReuseRetry(on bool) HTTPOption { return func(h *HTTP) { h.reuseRetry = on } }

// WithResendUncertain makes the re-send of WithReuseRetry apply to every
// request, those not marked Retry included, even when the failure leaves
// unknown whether the server read the request: at-least-once, Faye's
// choice (bayeux.WithResendPublishes). Without it such a request is
// re-sent only when it provably never reached the server.
func WithResendUncertain(on bool) HTTPOption { return func(h *HTTP) { h.resendUncertain = on } }

// HTTP sends raw requests to a Bayeux server. Create it with NewHTTP; its
// methods are safe for concurrent use.
type HTTP struct {
	clients    [2]*http.Client // by Lane
	own        bool            // the clients are private (CloseIdleConnections closes them)
	jar        http.CookieJar
	header     http.Header
	setHeader  func(http.Header)
	maxBody    int64
	retry      RetryPolicy
	reuseRetry bool
	// resendUncertain: see WithResendUncertain.
	resendUncertain bool
	// closesAfterResponse is learnt from a stale connection that had been
	// idle only briefly: the server closes kept-alive connections right
	// after each response. Requests not marked Retry then go on
	// connections of their own, which cannot be stale.
	closesAfterResponse atomic.Bool

	// lastBody is, by lane, the size of the last body of unknown length
	// read: the size hint for the next one (see ReadBodySized).
	lastBody [2]atomic.Int64

	freshMu sync.Mutex
	fresh   map[*http.Client]*http.Client // clients that never reuse a connection
}

// NewHTTP returns an HTTP. Without WithClient or WithClients each lane has
// a private client with its own clone of http.DefaultTransport.
func NewHTTP(opts ...HTTPOption) *HTTP {
	h := &HTTP{maxBody: DefaultMaxBodyBytes}
	for _, o := range opts {
		if o != nil {
			o(h)
		}
	}
	for i, c := range h.clients {
		if c == nil {
			h.clients[i] = &http.Client{Transport: h.defaultTransport()}
			h.own = true
		}
	}
	return h
}

// defaultTransport is the transport of a private client: a clone of
// http.DefaultTransport whose connections check, before a request, that
// the server has not closed them (see staleconn), and learn from it.
func (h *HTTP) defaultTransport() http.RoundTripper {
	if t, ok := http.DefaultTransport.(*http.Transport); ok {
		t = t.Clone()
		t.DialContext = staleconn.DialObserved(t.DialContext, &h.closesAfterResponse)
		return t
	}
	return http.DefaultTransport
}

// Client returns the client of lane.
func (h *HTTP) Client(lane Lane) *http.Client { return h.clients[lane&1] }

// CloseIdleConnections closes the idle connections of the private clients
// (those NewHTTP made); a client given with WithClient is left alone.
func (h *HTTP) CloseIdleConnections() {
	if h.own {
		for _, c := range h.clients {
			c.CloseIdleConnections()
		}
	}
	h.freshMu.Lock()
	for _, c := range h.fresh {
		c.CloseIdleConnections()
	}
	h.freshMu.Unlock()
}

// Post sends body as a JSON POST (long-polling) on lane.
func (h *HTTP) Post(ctx context.Context, lane Lane, url string, body []byte) (*Exchange, error) {
	return h.Do(ctx, &Request{Method: http.MethodPost, URL: url, Body: body, ContentType: ContentTypeJSON, Lane: lane})
}

// GetJSONP sends message (a JSON payload) in a callback-polling GET to base
// with the given callback name: base?jsonp=callback&message=... (see
// CallbackURL).
func (h *HTTP) GetJSONP(ctx context.Context, lane Lane, base, callback string, message []byte) (*Exchange, error) {
	u, err := CallbackURL(base, callback, message)
	if err != nil {
		return nil, err
	}
	return h.Do(ctx, &Request{Method: http.MethodGet, URL: u, Lane: lane})
}

// Do sends r and returns the answer, whatever its status. The error is
// non-nil when no answer came (then the Exchange is nil) or when its body
// could not be read whole (then the Exchange holds the status and headers,
// and the error matches bayeux.ErrTooLarge for a body over the limit).
// Errors keep their cause; URLs in them lose their query and user
// information (a callback-polling query carries the messages).
func (h *HTTP) Do(ctx context.Context, r *Request) (*Exchange, error) {
	client := h.clients[r.Lane&1]
	if !r.Retry && h.reuseRetry && (h.closesAfterResponse.Load() || staleconn.ClosesAfterResponse(client.Transport)) {
		client = h.freshClient(client)
	}
	attempts, resent, lost := 0, false, 0
	for retries := 0; ; retries++ {
		attempts++
		resp, tr, err := h.send(ctx, client, r)
		if err != nil && h.reuseRetry && !resent && tr.staleConn() && ctx.Err() == nil && !isTimeout(err) {
			// The server closed a kept-alive connection under the
			// request: it has not answered it. Once, on a fresh
			// connection, when re-sending cannot deliver a message twice:
			// a request marked Retry, one that provably never reached the
			// server, or any with WithResendUncertain.
			if time.Duration(tr.idle.Load()) < closedAfterResponseIdle {
				h.closesAfterResponse.Store(true)
			}
			if r.Retry || h.resendUncertain || notSent(err) {
				if mayHaveBeenAnswered(err) {
					lost++
				}
				resent = true
				attempts++
				resp, _, err = h.send(ctx, h.freshClient(client), r)
			}
		}
		if r.Retry && retries < h.retry.Max && retryable(resp, err) && ctx.Err() != nil {
			// The caller gave up before the retry: its reason, with the
			// failure the last attempt ended in.
			last := err
			if resp != nil {
				last = fmt.Errorf("HTTP %d", resp.StatusCode)
				drain(resp.Body)
			}
			return nil, redact(fmt.Errorf("%w (the last attempt: %v)", ctx.Err(), last))
		}
		if r.Retry && retries < h.retry.Max && retryable(resp, err) {
			status := 0
			if resp != nil {
				status = resp.StatusCode
				drain(resp.Body)
			}
			if err != nil && mayHaveBeenAnswered(err) {
				lost++
			}
			if h.retry.OnRetry != nil {
				h.retry.OnRetry(ctx, status, redact(err))
			}
			if waitErr := sleep(ctx, backoff(h.retry.WaitMin, h.retry.WaitMax, retries, resp)); waitErr != nil {
				if err == nil {
					err = waitErr
				}
				return nil, redact(err)
			}
			continue
		}
		if err != nil {
			return nil, redact(err)
		}
		ex, err := h.exchange(r, resp, attempts, resent)
		if ex != nil {
			ex.Lost = lost
		}
		if err == nil && tr != nil && !resent {
			tr.recycle()
		}
		return ex, err
	}
}

// contentTypeJSON is the Content-Type header value of a long-polling
// request, shared by every request (its length is its capacity, so an
// append copies it).
var contentTypeJSON = []string{ContentTypeJSON}

// exchange reads resp into an Exchange and closes its body.
func (h *HTTP) exchange(r *Request, resp *http.Response, attempts int, resent bool) (*Exchange, error) {
	defer resp.Body.Close()
	ex := &Exchange{
		StatusCode: resp.StatusCode,
		Status:     resp.Status,
		Proto:      resp.Proto,
		Header:     resp.Header,
		Cookies:    resp.Cookies(),
		Attempts:   attempts,
		Resent:     resent,
	}
	if resp.Request != nil {
		ex.URL = resp.Request.URL
	}
	if ex.URL == nil {
		ex.URL, _ = url.Parse(r.URL)
	}
	if h.jar != nil && ex.StatusCode == http.StatusOK && len(ex.Cookies) > 0 && ex.URL != nil {
		h.jar.SetCookies(ex.URL, ex.Cookies)
	}
	body, err := ReadBodySized(resp.Body, resp.ContentLength, h.maxBody, int(h.lastBody[r.Lane&1].Load()))
	if err != nil {
		return ex, err
	}
	if resp.ContentLength < 0 {
		h.lastBody[r.Lane&1].Store(int64(len(body)))
	}
	ex.Body = body
	return ex, nil
}

// send makes one attempt of r with client, tracing its connection.
func (h *HTTP) send(ctx context.Context, client *http.Client, r *Request) (*http.Response, *connTrace, error) {
	tr := newConnTrace()
	req, err := h.newRequest(tr.with(ctx), r)
	if err != nil {
		return nil, tr, err
	}
	resp, err := client.Do(req)
	if err != nil {
		if resp != nil && resp.Body != nil {
			resp.Body.Close()
		}
		return nil, tr, err
	}
	return resp, tr, nil
}

// newRequest builds the http.Request of r. It is apart from send so that
// its frame is gone while the request waits for its answer: the stack of
// a held /meta/connect runs through send.
func (h *HTTP) newRequest(ctx context.Context, r *Request) (*http.Request, error) {
	method := r.Method
	if method == "" {
		method = http.MethodGet
		if r.Body != nil {
			method = http.MethodPost
		}
	}
	var body io.Reader
	if r.Body != nil {
		body = bytes.NewReader(r.Body)
	}
	req, err := http.NewRequestWithContext(ctx, method, r.URL, body)
	if err != nil {
		return nil, err
	}
	if req.Body == nil {
		// net/http re-sends a GET by itself when a reused connection
		// breaks before the answer, even if the server processed it. A
		// body it cannot rewind makes the request non-replayable; being
		// empty, it is not sent (net/http probes it).
		req.Body = emptyBody{}
	}
	switch r.ContentType {
	case "":
	case ContentTypeJSON:
		req.Header["Content-Type"] = contentTypeJSON
	default:
		req.Header["Content-Type"] = []string{r.ContentType}
	}
	for k, vs := range h.header {
		req.Header[k] = vs
	}
	for k, vs := range r.Header {
		req.Header[k] = vs
	}
	if h.setHeader != nil {
		h.setHeader(req.Header)
	}
	if h.jar != nil {
		for _, c := range h.jar.Cookies(req.URL) {
			req.AddCookie(c)
		}
	}
	return req, nil
}

// freshClient returns a client that sends like c but on a new connection
// that it does not keep: c itself when its transport is not an
// *http.Transport.
func (h *HTTP) freshClient(c *http.Client) *http.Client {
	h.freshMu.Lock()
	defer h.freshMu.Unlock()
	if f, ok := h.fresh[c]; ok {
		return f
	}
	rt := c.Transport
	if rt == nil {
		rt = http.DefaultTransport
	}
	t, ok := rt.(*http.Transport)
	if !ok {
		return c
	}
	t = t.Clone()
	t.DisableKeepAlives = true
	f := *c
	f.Transport = t
	if h.fresh == nil {
		h.fresh = make(map[*http.Client]*http.Client, 2)
	}
	h.fresh[c] = &f
	return &f
}

// retryable reports whether an attempt that gave resp or err may be
// retried: a transient connection error, or a 502, 503 or 504 answer.
func retryable(resp *http.Response, err error) bool {
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return false
		}
		return !isCertError(err)
	}
	switch resp.StatusCode {
	case http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// isTimeout reports whether err is a timeout (the server may be slow, not
// gone: such a request is never re-sent on a fresh connection).
// closedAfterResponseIdle: a connection found closed by the server after
// being idle less than this was closed right after its last response, not
// at the end of an idle timeout.
const closedAfterResponseIdle = time.Second

// notSent reports whether a request that failed on a stale kept-alive
// connection provably never reached the server: nothing of it was written
// (the connection was found closed first: net/http's "server closed idle
// connection", or the check of staleconn), or the server reset the
// connection, which a socket closed with unread data does: the server did
// not read the whole request, so it did not process it.
func notSent(err error) bool {
	return staleconn.NotSent(err) || errors.Is(err, syscall.ECONNRESET) ||
		strings.Contains(err.Error(), "server closed idle connection")
}

// mayHaveBeenAnswered reports whether a request that failed with err may
// have reached the server, and its answer been lost: anything but a
// failure to connect, or one the connection's trace proves happened
// before the request was written. (notSent, which decides whether a
// publish may be sent again, also takes a connection reset for "not
// sent": usually right, but a reset can come after the server read the
// request, and here a wrong guess loses events.)
func mayHaveBeenAnswered(err error) bool {
	return !staleconn.NotSent(err) && !isDialError(err) &&
		!strings.Contains(err.Error(), "server closed idle connection")
}

// isDialError reports whether err is a failure to open a connection (the
// request never left the client).
func isDialError(err error) bool {
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return true
	}
	var dns *net.DNSError
	return errors.As(err, &dns)
}

func isTimeout(err error) bool {
	var te interface{ Timeout() bool }
	return errors.As(err, &te) && te.Timeout()
}

func drain(body io.ReadCloser) {
	// A little, so that the connection can be reused.
	_, _ = io.Copy(io.Discard, io.LimitReader(body, 4<<10))
	body.Close()
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// emptyBody is an empty request body without GetBody: see send.
type emptyBody struct{}

// Read implements io.Reader.
func (emptyBody) Read([]byte) (int, error) { return 0, io.EOF }

// Close implements io.Closer.
func (emptyBody) Close() error { return nil }

// redact removes the query and the user information from the URL of a
// *url.Error: a callback-polling URL carries the messages (and any
// credentials in their ext) in its query.
func redact(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		ue.URL = RedactURL(ue.URL)
	}
	return err
}

// RedactURL returns s without user information, query and fragment, for
// logs and errors.
func RedactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(invalid URL)"
	}
	u.User = nil
	u.RawQuery = ""
	u.ForceQuery = false
	u.Fragment = ""
	u.RawFragment = ""
	return u.String()
}

// AddHeader adds key: value to h (allocating it if nil) and returns h. The
// key is canonicalized and every value slice is kept at full capacity, so
// that a RoundTripper appending to a request's header never writes into
// memory shared with other requests.
func AddHeader(h http.Header, key, value string) http.Header {
	if h == nil {
		h = make(http.Header)
	}
	k := http.CanonicalHeaderKey(key)
	vs := append(h[k][:len(h[k]):len(h[k])], value)
	h[k] = vs[:len(vs):len(vs)]
	return h
}
