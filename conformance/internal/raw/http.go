package raw

import (
	"context"
	"net/http"
	"net/http/cookiejar"
	"sync"
	"time"

	"github.com/bayeux-go/sdk/wire"
)

// MaxResponseBytes bounds the body read from one HTTP response.
const MaxResponseBytes = 16 << 20

// Response is one HTTP exchange as the server answered it.
type Response struct {
	Status  int
	Header  http.Header
	Cookies []*http.Cookie
	Body    []byte
	// Elapsed is the time from sending the request to reading the whole
	// body.
	Elapsed time.Duration
	// Resent is set when the request failed on a reused kept-alive
	// connection before any byte of the answer and was sent again on a
	// fresh connection: the server had closed the connection (the suite's
	// connection handling, not a deviation of the server).
	Resent bool
}

// HTTP sends raw requests with its own cookie jar (one browser, in Bayeux
// terms). It retries nothing, but for a request that failed on a reused
// kept-alive connection before any byte of the answer, sent once more on a
// fresh connection (Response.Resent says so): a server that closes
// kept-alive connections without "Connection: close" (Ruby Faye under
// puma) must not be blamed for the suite's connection reuse.
type HTTP struct {
	w   *wire.HTTP
	jar http.CookieJar
	rt  http.RoundTripper

	heldOnce sync.Once
	held     *HTTP
}

// NewHTTP returns an HTTP sending with rt (nil: http.DefaultTransport) and
// a fresh cookie jar.
func NewHTTP(rt http.RoundTripper) *HTTP {
	jar, _ := cookiejar.New(nil)
	if rt == nil {
		rt = http.DefaultTransport
	}
	return &HTTP{jar: jar, rt: rt, w: wire.NewHTTP(wire.WithClient(&http.Client{Transport: rt}), wire.WithJar(jar),
		wire.WithMaxBodyBytes(MaxResponseBytes), wire.WithReuseRetry(true), wire.WithResendUncertain(true))}
}

// Held returns an HTTP, with the same cookie jar, for requests the server
// may hold (a lone /meta/connect): each is sent on a connection of its
// own and never sent again. A held request that fails has reached the
// server, which may have acted on it (a connect that ended the previous
// one); sent again, it would be a new request whose answer hides how the
// first one ended. On a fresh connection a failure is the server's.
// With a RoundTripper other than *http.Transport, connections may still
// be reused, but nothing is sent again.
func (h *HTTP) Held() *HTTP {
	h.heldOnce.Do(func() {
		rt := h.rt
		if tr, ok := rt.(*http.Transport); ok {
			tr = tr.Clone()
			tr.DisableKeepAlives = true
			rt = tr
		}
		h.held = &HTTP{jar: h.jar, rt: rt, w: wire.NewHTTP(wire.WithClient(&http.Client{Transport: rt}), wire.WithJar(h.jar),
			wire.WithMaxBodyBytes(MaxResponseBytes))}
		h.held.heldOnce.Do(func() {})
		h.held.held = h.held
	})
	return h.held
}

// Jar returns the cookie jar, to share it with a websocket dial.
func (h *HTTP) Jar() http.CookieJar { return h.jar }

// Post sends body with the given content type.
func (h *HTTP) Post(ctx context.Context, url, contentType string, body []byte) (*Response, error) {
	return h.do(ctx, &wire.Request{Method: http.MethodPost, URL: url, Body: body, ContentType: contentType})
}

// Do sends a request with any method and extra headers.
func (h *HTTP) Do(ctx context.Context, method, url, contentType string, header http.Header, body []byte) (*Response, error) {
	return h.do(ctx, &wire.Request{Method: method, URL: url, Body: body, ContentType: contentType, Header: header})
}

// Get sends a GET of url.
func (h *HTTP) Get(ctx context.Context, url string) (*Response, error) {
	return h.do(ctx, &wire.Request{Method: http.MethodGet, URL: url})
}

func (h *HTTP) do(ctx context.Context, r *wire.Request) (*Response, error) {
	start := time.Now()
	x, err := h.w.Do(ctx, r)
	if err != nil {
		return nil, err
	}
	return &Response{Status: x.StatusCode, Header: x.Header, Cookies: x.Cookies, Body: x.Body, Elapsed: time.Since(start),
		Resent: x.Resent}, nil
}
