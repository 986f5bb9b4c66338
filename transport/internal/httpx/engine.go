package httpx

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/bayeux-go/sdk/bayeux"
	"github.com/hashicorp/go-retryablehttp"
)

// Defaults shared by the HTTP transports.
const (
	// DefaultMaxBodyBytes bounds a response body (16 MiB).
	DefaultMaxBodyBytes = 16 << 20
	// DefaultRetryMax is how many times a batch that a retry cannot
	// duplicate is re-sent after a connection error or a 502/503/504.
	DefaultRetryMax = 2
	// DefaultRetryWaitMin is the wait before the first retry; it doubles
	// for each further retry, up to DefaultRetryWaitMax.
	DefaultRetryWaitMin = 100 * time.Millisecond
	// DefaultRetryWaitMax caps the wait between retries.
	DefaultRetryWaitMax = time.Second
)

// Settings are the options an HTTP transport gives its Engine.
type Settings struct {
	// ConnectionType names the transport in errors and logs.
	ConnectionType string
	// MaxBodyBytes bounds response bodies (<= 0: DefaultMaxBodyBytes).
	MaxBodyBytes int64
	// Header is added to every request (after the transport's own headers,
	// so it can replace them). Keys must be canonical; see AddHeader.
	Header http.Header
	// RetryMax is the number of retries for batches that are safe to
	// re-send (< 0: none).
	RetryMax int
	// RetryWaitMin and RetryWaitMax bound the exponential wait between
	// retries (<= 0: the defaults).
	RetryWaitMin, RetryWaitMax time.Duration
}

// DefaultSettings returns the defaults for a transport named connType.
func DefaultSettings(connType string) Settings {
	return Settings{
		ConnectionType: connType,
		MaxBodyBytes:   DefaultMaxBodyBytes,
		RetryMax:       DefaultRetryMax,
		RetryWaitMin:   DefaultRetryWaitMin,
		RetryWaitMax:   DefaultRetryWaitMax,
	}
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

// Engine runs the HTTP exchanges of one transport. Its methods are safe for
// concurrent use.
type Engine struct {
	set Settings

	mu       sync.RWMutex // guards cfg, retry and inited
	cfg      bayeux.TransportConfig
	retry    *retryablehttp.Client
	inited   bool
	closeCtx context.Context
	close    context.CancelFunc

	connect fifo // the lane of batches that are a lone /meta/connect
	other   fifo // the lane of every other batch
}

// NewEngine returns an Engine with the given settings (zero values take
// the defaults).
func NewEngine(s Settings) *Engine {
	if s.MaxBodyBytes <= 0 {
		s.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if s.RetryMax < 0 {
		s.RetryMax = 0
	}
	if s.RetryWaitMin <= 0 {
		s.RetryWaitMin = DefaultRetryWaitMin
	}
	if s.RetryWaitMax <= 0 {
		s.RetryWaitMax = DefaultRetryWaitMax
	}
	if s.RetryWaitMax < s.RetryWaitMin {
		s.RetryWaitMax = s.RetryWaitMin
	}
	e := &Engine{set: s}
	e.closeCtx, e.close = context.WithCancel(context.Background())
	return e
}

// Init binds the engine to a client's configuration. A nil HTTPClient means
// http.DefaultClient, a nil Logger discards. It returns bayeux.ErrClosed
// after Close.
func (e *Engine) Init(cfg bayeux.TransportConfig) error {
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = http.DefaultClient
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closeCtx.Err() != nil {
		return bayeux.ErrClosed
	}
	e.cfg = cfg
	e.retry = &retryablehttp.Client{
		// The shim keeps retryablehttp away from the user's client: it
		// calls CloseIdleConnections on its HTTPClient after failures,
		// which would close connections other code shares.
		HTTPClient: &http.Client{
			Transport: clientShim{cfg.HTTPClient},
			// The user's client already followed (or refused) redirects.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		Logger:       nil, // silent: we log retries ourselves, without URLs
		RetryWaitMin: e.set.RetryWaitMin,
		RetryWaitMax: e.set.RetryWaitMax,
		RetryMax:     e.set.RetryMax,
		CheckRetry:   e.checkRetry,
		Backoff:      backoff,
		ErrorHandler: retryablehttp.PassthroughErrorHandler,
		PrepareRetry: e.prepareRetry,
	}
	e.inited = true
	return nil
}

func (e *Engine) config() (bayeux.TransportConfig, *retryablehttp.Client, bool) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return e.cfg, e.retry, e.inited
}

// Close makes later Acquire calls fail with bayeux.ErrClosed and cancels
// the requests in flight, which then fail with bayeux.ErrClosed. It is
// idempotent. The user's http.Client is left alone (its connections are not
// the engine's to close).
func (e *Engine) Close() error {
	e.close()
	return nil
}

// Closed reports whether Close was called.
func (e *Engine) Closed() bool { return e.closeCtx.Err() != nil }

// Waiting returns the number of batches waiting for a lane (for tests and
// diagnostics).
func (e *Engine) Waiting() int { return e.connect.waiting() + e.other.waiting() }

// IsLoneConnect reports whether msgs is a batch of exactly one /meta/connect,
// the only kind of batch that uses the connect lane.
func IsLoneConnect(msgs []bayeux.Message) bool {
	return len(msgs) == 1 && msgs[0].Channel == bayeux.MetaConnect
}

// Retryable reports whether re-sending msgs cannot duplicate a message: it
// holds only /meta/handshake, /meta/connect, /meta/subscribe,
// /meta/unsubscribe and /meta/disconnect messages. A publish or a /service
// message (and any unknown /meta channel) makes the batch not retryable.
func Retryable(msgs []bayeux.Message) bool {
	if len(msgs) == 0 {
		return false
	}
	for i := range msgs {
		switch msgs[i].Channel {
		case bayeux.MetaHandshake, bayeux.MetaConnect, bayeux.MetaSubscribe,
			bayeux.MetaUnsubscribe, bayeux.MetaDisconnect:
		default:
			return false
		}
	}
	return true
}

// Acquire waits for the lane of msgs (first in, first out; a lone
// /meta/connect has a lane of its own) and returns a context for the
// requests of the batch, which Close cancels, and the function that
// releases the lane. release must be called exactly once. If ctx ends or
// the engine is closed while waiting, Acquire returns an error and no lane.
func (e *Engine) Acquire(ctx context.Context, msgs []bayeux.Message) (context.Context, func(), error) {
	if e.Closed() {
		return nil, nil, bayeux.ErrClosed
	}
	if _, _, ok := e.config(); !ok {
		return nil, nil, &bayeux.TransportError{ConnectionType: e.set.ConnectionType,
			Err: errors.New("transport used before Init")}
	}
	rctx, cancel := context.WithCancelCause(ctx)
	stop := context.AfterFunc(e.closeCtx, func() { cancel(bayeux.ErrClosed) })
	lane := &e.other
	if IsLoneConnect(msgs) {
		lane = &e.connect
	}
	if err := lane.lock(rctx); err != nil {
		stop()
		cancel(nil)
		if e.Closed() {
			return nil, nil, bayeux.ErrClosed
		}
		return nil, nil, &bayeux.TransportError{ConnectionType: e.set.ConnectionType, Err: err}
	}
	var once sync.Once
	release := func() {
		once.Do(func() {
			lane.unlock()
			stop()
			cancel(nil)
		})
	}
	return rctx, release, nil
}

// Request is one HTTP request of a batch.
type Request struct {
	// Method is "POST" or "GET".
	Method string
	// URL is the absolute request URL.
	URL string
	// Body is the request body (nil for none).
	Body []byte
	// ContentType is set as the Content-Type header when not empty.
	ContentType string
	// Retryable allows retries (see Retryable); it must only be set for
	// batches whose re-sending cannot duplicate a message.
	Retryable bool
}

// Send performs r with the context returned by Acquire and returns the
// response body of a 200 answer. Every failure is a *bayeux.TransportError
// (with StatusCode for other statuses; wrapping bayeux.ErrTooLarge for a
// body over the limit; wrapping a *bayeux.DecodeError for an empty body),
// except bayeux.ErrClosed once the engine is closed.
func (e *Engine) Send(ctx context.Context, r Request) ([]byte, error) {
	body, err := e.send(ctx, r)
	if err != nil && e.Closed() {
		return nil, bayeux.ErrClosed
	}
	return body, err
}

func (e *Engine) send(ctx context.Context, r Request) ([]byte, error) {
	cfg, rc, ok := e.config()
	if !ok {
		return nil, e.fail(0, errors.New("transport used before Init"))
	}
	var (
		resp    *http.Response
		err     error
		req0URL *url.URL
	)
	if r.Retryable && e.set.RetryMax > 0 {
		var body any
		if r.Body != nil {
			body = r.Body
		}
		var req *retryablehttp.Request
		req, err = retryablehttp.NewRequestWithContext(ctx, r.Method, r.URL, body)
		if err != nil {
			return nil, e.fail(0, redactErr(err))
		}
		e.prepare(req.Request, cfg, r.ContentType)
		req0URL = req.URL
		resp, err = rc.Do(req)
	} else {
		var req *http.Request
		if r.Body != nil {
			req, err = http.NewRequestWithContext(ctx, r.Method, r.URL, bytes.NewReader(r.Body))
		} else {
			req, err = http.NewRequestWithContext(ctx, r.Method, r.URL, nil)
		}
		if err != nil {
			return nil, e.fail(0, redactErr(err))
		}
		if req.Body == nil {
			// net/http re-sends a GET by itself when a reused connection
			// breaks before the answer, even if the server processed it.
			// A body it cannot rewind makes the request non-replayable;
			// being empty, it is not sent (net/http probes it).
			req.Body = emptyBody{}
		}
		e.prepare(req, cfg, r.ContentType)
		req0URL = req.URL
		resp, err = cfg.HTTPClient.Do(req)
	}
	if err != nil {
		if resp != nil && resp.Body != nil {
			resp.Body.Close()
		}
		return nil, e.fail(0, redactErr(err))
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 256))
		// Drain a little more so that the connection can be reused.
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
		msg := "unexpected HTTP status " + strconv.Quote(resp.Status)
		if len(snippet) > 0 {
			msg += ", body " + strconv.Quote(string(snippet))
		}
		return nil, e.fail(resp.StatusCode, errors.New(msg))
	}
	if cfg.Jar != nil {
		// Like CometD, cookies are stored from 200 answers only: a proxy's
		// or a failing node's error page must not replace the session's
		// cookies (BAYEUX_BROWSER, load-balancer affinity).
		if cs := resp.Cookies(); len(cs) > 0 {
			u := req0URL
			if resp.Request != nil && resp.Request.URL != nil {
				u = resp.Request.URL // the URL after redirects
			}
			cfg.Jar.SetCookies(u, cs)
		}
	}
	body, err := ReadBody(resp.Body, resp.ContentLength, e.set.MaxBodyBytes)
	if err != nil {
		return nil, e.fail(0, err)
	}
	if len(body) == 0 {
		return nil, e.fail(0, &bayeux.DecodeError{Reason: "empty response body"})
	}
	return body, nil
}

func (e *Engine) fail(status int, err error) error {
	return &bayeux.TransportError{ConnectionType: e.set.ConnectionType, StatusCode: status, Err: err}
}

// prepare sets the headers of req: Content-Type, the custom headers, the
// client's headers, and the cookies of the session's jar.
func (e *Engine) prepare(req *http.Request, cfg bayeux.TransportConfig, contentType string) {
	if contentType != "" {
		req.Header["Content-Type"] = []string{contentType}
	}
	for k, vs := range e.set.Header {
		req.Header[k] = vs
	}
	if cfg.Header != nil {
		cfg.Header(req.Header) // WithHeader and HeaderExtension
	}
	if cfg.Jar != nil {
		for _, c := range cfg.Jar.Cookies(req.URL) {
			req.AddCookie(c)
		}
	}
}

// prepareRetry rebuilds the headers of a request about to be re-sent: the
// user's client may have added its own jar's cookies to the previous
// attempt's header map, which the retry shares.
func (e *Engine) prepareRetry(req *http.Request) error {
	cfg, _, _ := e.config()
	ct := req.Header.Get("Content-Type")
	req.Header = make(http.Header, len(e.set.Header)+2)
	e.prepare(req, cfg, ct)
	return nil
}

// checkRetry allows a retry after a connection error (no response at all)
// or a 502, 503 or 504 answer, while ctx lasts. Only batches marked
// Retryable get here.
func (e *Engine) checkRetry(ctx context.Context, resp *http.Response, err error) (bool, error) {
	if ctx.Err() != nil {
		return false, nil
	}
	retry := false
	var reason slog.Attr
	if err != nil {
		retry = retryableNetError(err)
		reason = slog.String("error", redactErr(err).Error())
	} else {
		switch resp.StatusCode {
		case http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
			retry = true
		}
		reason = slog.Int("status", resp.StatusCode)
	}
	if retry {
		cfg, _, _ := e.config()
		cfg.Logger.LogAttrs(ctx, slog.LevelDebug, "bayeux: retrying request",
			slog.String("transport", e.set.ConnectionType), slog.String("client", cfg.ClientName), reason)
	}
	return retry, nil
}

// retryableNetError reports whether a request error may be transient:
// certificate errors and the like are not.
func retryableNetError(err error) bool {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	return !isCertError(err)
}

// backoff waits min*2^attempt, capped at max; a Retry-After header on a 503
// is honoured when it lies within [min, max].
func backoff(min, max time.Duration, attempt int, resp *http.Response) time.Duration {
	if resp != nil && resp.StatusCode == http.StatusServiceUnavailable {
		if s := resp.Header.Get("Retry-After"); s != "" {
			if n, err := strconv.Atoi(s); err == nil && n >= 0 {
				d := time.Duration(n) * time.Second
				if d < min {
					d = min
				}
				if d > max {
					d = max
				}
				return d
			}
		}
	}
	d := min
	for i := 0; i < attempt && d < max; i++ {
		d *= 2
	}
	if d > max {
		d = max
	}
	return d
}

// emptyBody is an empty request body without GetBody: see send.
type emptyBody struct{}

// Read implements io.Reader.
func (emptyBody) Read([]byte) (int, error) { return 0, io.EOF }

// Close implements io.Closer.
func (emptyBody) Close() error { return nil }

// clientShim is the RoundTripper that retryablehttp's private http.Client
// uses: it sends through the user's client (its transport, jar, redirect
// policy and timeout).
type clientShim struct{ c *http.Client }

// RoundTrip implements http.RoundTripper.
func (s clientShim) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := s.c.Do(req)
	if err != nil {
		if resp != nil && resp.Body != nil {
			resp.Body.Close()
		}
		// The outer client wraps the error in a *url.Error again.
		var ue *url.Error
		if errors.As(err, &ue) {
			return nil, ue.Err
		}
		return nil, err
	}
	return resp, nil
}

// redactErr removes the query and the user information from the URL of a
// *url.Error: a callback-polling URL carries the messages (and any
// credentials in their ext) in its query.
func redactErr(err error) error {
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
