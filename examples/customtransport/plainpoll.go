package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sync"

	"github.com/bayeux-go/sdk/bayeux"
)

// maxBody bounds a response: a transport must not read without limit.
const maxBody = 4 << 20

// plainPoll is long-polling over HTTP POST: each batch is one request
// whose body is a JSON array of messages, and the response body holds the
// replies and events.
type plainPoll struct {
	cfg bayeux.TransportConfig
	// trace, when set, is called with the channels of each batch sent.
	trace func([]bayeux.Channel)

	mu     sync.Mutex
	closed bool
}

// Name is the connection type the server knows this transport by.
func (t *plainPoll) Name() string { return bayeux.ConnectionTypeLongPolling }

// Init keeps the client's configuration: its http.Client and cookie jar.
func (t *plainPoll) Init(cfg bayeux.TransportConfig) error {
	t.cfg = cfg
	return nil
}

// RoundTrip sends one batch and returns what the server answered. It is
// called concurrently (a held /meta/connect and a publish); http.Client
// is safe for that.
func (t *plainPoll) RoundTrip(ctx context.Context, rawURL string, msgs []bayeux.Message) ([]bayeux.Message, error) {
	t.mu.Lock()
	closed := t.closed
	t.mu.Unlock()
	if closed {
		return nil, bayeux.ErrClosed
	}
	if t.trace != nil {
		chs := make([]bayeux.Channel, len(msgs))
		for i, m := range msgs {
			chs[i] = m.Channel
		}
		t.trace(chs)
	}
	body, err := bayeux.EncodeMessages(msgs)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, rawURL, bytes.NewReader(body))
	if err != nil {
		return nil, t.fail(0, err)
	}
	req.Header.Set("Content-Type", "application/json;charset=UTF-8")
	// The session's cookies (servers bind sessions to them), unless the
	// http.Client has a jar of its own (then cfg.Jar is nil).
	u, _ := url.Parse(rawURL)
	if t.cfg.Jar != nil {
		for _, c := range t.cfg.Jar.Cookies(u) {
			req.AddCookie(c)
		}
	}
	resp, err := t.cfg.HTTPClient.Do(req)
	if err != nil {
		return nil, t.fail(0, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, t.fail(resp.StatusCode, nil)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		return nil, t.fail(0, err)
	}
	if len(data) > maxBody {
		return nil, t.fail(0, bayeux.ErrTooLarge)
	}
	if t.cfg.Jar != nil {
		t.cfg.Jar.SetCookies(u, resp.Cookies())
	}
	replies, err := bayeux.DecodeMessages(data)
	if err != nil {
		return nil, t.fail(0, err)
	}
	return replies, nil
}

// fail wraps a failure as the client expects: a *bayeux.TransportError.
func (t *plainPoll) fail(status int, err error) error {
	if status != 0 && err == nil {
		err = fmt.Errorf("%s", http.StatusText(status))
	}
	return &bayeux.TransportError{ConnectionType: t.Name(), StatusCode: status, Err: err}
}

// Close makes later round trips fail with bayeux.ErrClosed; requests in
// flight end with their contexts.
func (t *plainPoll) Close() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.closed = true
	return nil
}
