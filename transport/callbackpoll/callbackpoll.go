package callbackpoll

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/bayeux-go/sdk/bayeux"
	"github.com/bayeux-go/sdk/transport/internal/httpx"
	"github.com/bayeux-go/sdk/wire"
)

const (
	// DefaultMaxURLLength is the default bound of a request URL, in bytes.
	DefaultMaxURLLength = 2000
	// DefaultMaxBodyBytes is the default bound of a response body (16 MiB).
	DefaultMaxBodyBytes = httpx.DefaultMaxBodyBytes
	// DefaultRetryMax is the default number of retries of a batch that a
	// retry cannot duplicate.
	DefaultRetryMax = httpx.DefaultRetryMax

	// CallbackParameter is the query parameter naming the callback.
	CallbackParameter = wire.CallbackParameter
	// MessageParameter is the query parameter carrying the messages.
	MessageParameter = wire.MessageParameter
	// CallbackPrefix starts every generated callback name; a per-transport
	// counter follows it ("_bayeux_jsonp_1", "_bayeux_jsonp_2", ...).
	CallbackPrefix = "_bayeux_jsonp_"
)

// Transport is the callback-polling transport. Create it with New; its
// methods are safe for concurrent use.
type Transport struct {
	e      *httpx.Engine
	maxURL int
	seq    atomic.Uint64
}

var _ bayeux.Transport = (*Transport)(nil)

// Option configures a Transport.
type Option func(*options)

type options struct {
	s      httpx.Settings
	maxURL int
}

// WithMaxURLLength bounds the length of a request URL, in bytes (default
// 2000; n <= 0 restores the default). Batches are split to respect it.
func WithMaxURLLength(n int) Option {
	return func(o *options) {
		if n <= 0 {
			n = DefaultMaxURLLength
		}
		o.maxURL = n
	}
}

// WithMaxBodyBytes bounds the size of a response body (default 16 MiB; n <=
// 0 restores the default). A longer body fails the RoundTrip with a
// *bayeux.TransportError that matches bayeux.ErrTooLarge.
func WithMaxBodyBytes(n int64) Option {
	return func(o *options) {
		if n <= 0 {
			n = DefaultMaxBodyBytes
		}
		o.s.MaxBodyBytes = n
	}
}

// WithHeader adds a header sent with every request, for example an
// Authorization header.
func WithHeader(key, value string) Option {
	return func(o *options) { o.s.Header = httpx.AddHeader(o.s.Header, key, value) }
}

// WithHeaders adds every header of h to every request (h is copied).
func WithHeaders(h http.Header) Option {
	return func(o *options) {
		for k, vs := range h {
			for _, v := range vs {
				o.s.Header = httpx.AddHeader(o.s.Header, k, v)
			}
		}
	}
}

// WithRetryMax sets how many times a request carrying only handshake,
// connect, subscribe, unsubscribe and disconnect messages is re-sent after
// a connection error or a 502, 503 or 504 answer (default 2; 0 disables
// retries). Requests carrying a publish or a /service message are never
// re-sent.
func WithRetryMax(n int) Option {
	return func(o *options) {
		if n < 0 {
			n = 0
		}
		o.s.RetryMax = n
	}
}

// WithRetryWait sets the wait before the first retry (default 100ms), which
// doubles for each further retry up to max (default 1s). Values <= 0 keep
// the defaults.
func WithRetryWait(min, max time.Duration) Option {
	return func(o *options) {
		if min > 0 {
			o.s.RetryWaitMin = min
		}
		if max > 0 {
			o.s.RetryWaitMax = max
		}
	}
}

// New returns a callback-polling transport.
func New(opts ...Option) *Transport {
	o := options{s: httpx.DefaultSettings(bayeux.ConnectionTypeCallbackPolling), maxURL: DefaultMaxURLLength}
	for _, opt := range opts {
		if opt != nil {
			opt(&o)
		}
	}
	return &Transport{e: httpx.NewEngine(o.s), maxURL: o.maxURL}
}

// Name returns "callback-polling".
func (t *Transport) Name() string { return bayeux.ConnectionTypeCallbackPolling }

// Init binds the transport to a client's configuration. It returns
// bayeux.ErrClosed after Close.
func (t *Transport) Init(cfg bayeux.TransportConfig) error { return t.e.Init(cfg) }

// Close cancels the requests in flight, which return bayeux.ErrClosed, as
// does every later RoundTrip. Close is idempotent.
func (t *Transport) Close() error { return t.e.Close() }

// RoundTrip sends msgs with one or more GET requests (see the package
// documentation) and returns the messages of the answers, in order.
func (t *Transport) RoundTrip(ctx context.Context, rawURL string, msgs []bayeux.Message) ([]bayeux.Message, error) {
	if t.e.Closed() {
		return nil, bayeux.ErrClosed
	}
	if len(msgs) == 0 {
		return nil, nil
	}
	parts, err := t.split(rawURL, msgs)
	if err != nil {
		return nil, err
	}
	rctx, release, err := t.e.Acquire(ctx, msgs)
	if err != nil {
		return nil, err
	}
	defer release()
	lane := httpx.LaneOf(msgs)
	var out []bayeux.Message
	for _, p := range parts {
		body, err := t.e.Send(rctx, &wire.Request{
			Method: http.MethodGet,
			URL:    p.url,
			Lane:   lane,
			Retry:  httpx.Retryable(msgs[p.lo:p.hi]),
		})
		if err != nil {
			return nil, err
		}
		arr, err := callbackArgument(body, p.callback)
		if err != nil {
			return nil, t.fail(err)
		}
		ms, err := bayeux.DecodeMessages(arr)
		if err != nil {
			// Invalid JSON, or code after the array (never evaluated).
			return nil, t.fail(err)
		}
		if out == nil {
			out = ms
		} else {
			out = append(out, ms...)
		}
	}
	return out, nil
}

func (t *Transport) fail(err error) error {
	return &bayeux.TransportError{ConnectionType: bayeux.ConnectionTypeCallbackPolling, Err: err}
}

// part is one GET request of a batch: msgs[lo:hi] sent to url with the
// given callback name.
type part struct {
	lo, hi   int
	callback string
	url      string
}

// Literal lengths in a URL query: the escaped '[', ',' and ']' take 3 bytes.
const (
	escBracket = len("%5B")
	escComma   = len("%2C")
)

// split encodes msgs and packs them, in order, into as few requests as the
// URL limit allows. It fails, before anything is sent, on a message that
// cannot be encoded or does not fit in a URL on its own.
func (t *Transport) split(rawURL string, msgs []bayeux.Message) ([]part, error) {
	base, err := wire.QueryBase(rawURL)
	if err != nil {
		return nil, t.fail(err)
	}
	// Encode every message once, recording where each one ends.
	enc := make([]byte, 0, 256*len(msgs))
	ends := make([]int, len(msgs))
	cost := make([]int, len(msgs)) // escaped length of each message
	for i := range msgs {
		start := len(enc)
		if enc, err = bayeux.AppendMessage(enc, &msgs[i]); err != nil {
			return nil, err
		}
		ends[i] = len(enc)
		cost[i] = wire.EscapedLen(enc[start:])
	}
	fixed := len(base) + len(CallbackParameter) + 2 + len(MessageParameter) + 2 + 2*escBracket // "jsonp=" "&message=" "%5B" "%5D"
	var parts []part
	for lo := 0; lo < len(msgs); {
		name := t.nextCallback()
		size := fixed + len(name) + cost[lo]
		if size > t.maxURL {
			return nil, fmt.Errorf("bayeux: callback-polling: message %d of the batch (channel %q, %d bytes of JSON) needs a URL of %d bytes, over the limit of %d: %w",
				lo, msgs[lo].Channel, cost[lo], size, t.maxURL, bayeux.ErrTooLarge)
		}
		hi := lo + 1
		for hi < len(msgs) && size+escComma+cost[hi] <= t.maxURL {
			size += escComma + cost[hi]
			hi++
		}
		u := make([]byte, 0, size)
		u = append(u, base...)
		u = append(u, CallbackParameter+"="...)
		u = append(u, name...)
		u = append(u, "&"+MessageParameter+"=%5B"...)
		for i := lo; i < hi; i++ {
			if i > lo {
				u = append(u, "%2C"...)
			}
			start := 0
			if i > 0 {
				start = ends[i-1]
			}
			u = wire.AppendEscaped(u, enc[start:ends[i]])
		}
		u = append(u, "%5D"...)
		parts = append(parts, part{lo: lo, hi: hi, callback: name, url: string(u)})
		lo = hi
	}
	return parts, nil
}

func (t *Transport) nextCallback() string {
	return CallbackPrefix + strconv.FormatUint(t.seq.Add(1), 10)
}
