package raw

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"time"
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
}

// HTTP sends raw requests with its own cookie jar (one browser, in Bayeux
// terms). It never retries.
type HTTP struct {
	c *http.Client
}

// NewHTTP returns an HTTP using base's transport (nil means a new one
// without keep-alive limits) and a fresh cookie jar.
func NewHTTP(base http.RoundTripper) *HTTP {
	jar, _ := cookiejar.New(nil)
	if base == nil {
		base = http.DefaultTransport
	}
	return &HTTP{c: &http.Client{Transport: base, Jar: jar}}
}

// Jar returns the cookie jar, to share it with a websocket dial.
func (h *HTTP) Jar() http.CookieJar { return h.c.Jar }

// Post sends body with the given content type.
func (h *HTTP) Post(ctx context.Context, url, contentType string, body []byte) (*Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	return h.Do(req)
}

// Get sends a GET of url.
func (h *HTTP) Get(ctx context.Context, url string) (*Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	return h.Do(req)
}

// Do sends req and reads the whole response.
func (h *HTTP) Do(req *http.Request) (*Response, error) {
	start := time.Now()
	resp, err := h.c.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, MaxResponseBytes+1))
	if err != nil {
		return nil, fmt.Errorf("reading response: %w", err)
	}
	if len(b) > MaxResponseBytes {
		return nil, fmt.Errorf("response larger than %d bytes", MaxResponseBytes)
	}
	return &Response{Status: resp.StatusCode, Header: resp.Header, Cookies: resp.Cookies(), Body: b, Elapsed: time.Since(start)}, nil
}
