package longpoll

import (
	"context"
	"net/http"
	"time"

	"github.com/bayeux-go/sdk/bayeux"
	"github.com/bayeux-go/sdk/transport/internal/httpx"
	"github.com/bayeux-go/sdk/wire"
)

// ContentType is the Content-Type of the requests.
const ContentType = wire.ContentTypeJSON

// DefaultMaxBodyBytes is the default bound of a response body (16 MiB).
const DefaultMaxBodyBytes = httpx.DefaultMaxBodyBytes

// DefaultRetryMax is the default number of retries of a batch that a
// retry cannot duplicate.
const DefaultRetryMax = httpx.DefaultRetryMax

func init() {
	bayeux.RegisterTransport(bayeux.ConnectionTypeLongPolling, func() bayeux.Transport { return New() })
}

// Transport is the long-polling transport. Create it with New; its methods
// are safe for concurrent use.
type Transport struct {
	e *httpx.Engine
}

var _ bayeux.Transport = (*Transport)(nil)

// Option configures a Transport.
type Option func(*options)

// options is what the Options of New set.
type options struct{ s httpx.Settings }

// WithMaxBodyBytes bounds the size of a response body (default 16 MiB; n <= 0
// restores the default). A longer body fails the RoundTrip with a
// *bayeux.TransportError that matches bayeux.ErrTooLarge.
func WithMaxBodyBytes(n int64) Option {
	return func(o *options) {
		s := &o.s
		if n <= 0 {
			n = DefaultMaxBodyBytes
		}
		s.MaxBodyBytes = n
	}
}

// WithHeader adds a header sent with every request, for example an
// Authorization header. Custom headers replace the transport's own headers
// of the same name (Content-Type).
func WithHeader(key, value string) Option {
	return func(o *options) { o.s.Header = httpx.AddHeader(o.s.Header, key, value) }
}

// WithHeaders adds every header of h to every request (h is copied).
func WithHeaders(h http.Header) Option {
	return func(o *options) {
		s := &o.s
		for k, vs := range h {
			for _, v := range vs {
				s.Header = httpx.AddHeader(s.Header, k, v)
			}
		}
	}
}

// WithRetryMax sets how many times a batch that a retry cannot duplicate
// (only handshake, connect, subscribe, unsubscribe and disconnect messages)
// is re-sent after a connection error or a 502, 503 or 504 answer (default
// 2; 0 disables retries).
func WithRetryMax(n int) Option {
	return func(o *options) {
		s := &o.s
		if n < 0 {
			n = 0
		}
		s.RetryMax = n
	}
}

// WithRetryWait sets the wait before the first retry (default 100ms), which
// doubles for each further retry up to max (default 1s). Values <= 0 keep
// the defaults. The wait ends early when the RoundTrip's context ends.
func WithRetryWait(min, max time.Duration) Option {
	return func(o *options) {
		s := &o.s
		if min > 0 {
			s.RetryWaitMin = min
		}
		if max > 0 {
			s.RetryWaitMax = max
		}
	}
}

// New returns a long-polling transport.
func New(opts ...Option) *Transport {
	o := options{s: httpx.DefaultSettings(bayeux.ConnectionTypeLongPolling)}
	for _, opt := range opts {
		if opt != nil {
			opt(&o)
		}
	}
	return &Transport{e: httpx.NewEngine(o.s)}
}

// Name returns "long-polling".
func (t *Transport) Name() string { return bayeux.ConnectionTypeLongPolling }

// Init binds the transport to a client's configuration. It returns
// bayeux.ErrClosed after Close.
func (t *Transport) Init(cfg bayeux.TransportConfig) error { return t.e.Init(cfg) }

// RoundTrip POSTs msgs as one JSON array to url and returns the messages of
// the response, in order. It implements bayeux.Transport; see the package
// documentation for the lanes, retries and errors. A message that cannot be
// encoded returns its *bayeux.EncodeError before anything is sent; an empty
// batch sends nothing.
func (t *Transport) RoundTrip(ctx context.Context, url string, msgs []bayeux.Message) ([]bayeux.Message, error) {
	if len(msgs) == 0 {
		if t.e.Closed() {
			return nil, bayeux.ErrClosed
		}
		return nil, nil
	}
	body, err := bayeux.AppendMessages(make([]byte, 0, 256*len(msgs)), msgs)
	if err != nil {
		return nil, err
	}
	rctx, release, err := t.e.Acquire(ctx, msgs)
	if err != nil {
		return nil, err
	}
	resp, err := t.e.Send(rctx, &wire.Request{
		Method:      http.MethodPost,
		URL:         url,
		Body:        body,
		ContentType: ContentType,
		Lane:        httpx.LaneOf(msgs),
		Retry:       httpx.Retryable(msgs),
	})
	release()
	if err != nil {
		return nil, err
	}
	out, err := bayeux.DecodeMessages(resp)
	if err != nil {
		return nil, &bayeux.TransportError{ConnectionType: bayeux.ConnectionTypeLongPolling, Err: err}
	}
	return out, nil
}

// Close cancels the requests in flight, which return bayeux.ErrClosed, as
// does every later RoundTrip. It does not close the connections of the
// client's http.Client, which the transport does not own. Close is
// idempotent.
func (t *Transport) Close() error { return t.e.Close() }
