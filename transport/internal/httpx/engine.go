package httpx

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bayeux-go/sdk/bayeux"
	"github.com/bayeux-go/sdk/wire"
)

// Defaults shared by the HTTP transports.
const (
	// DefaultMaxBodyBytes bounds a response body (16 MiB).
	DefaultMaxBodyBytes = wire.DefaultMaxBodyBytes
	// DefaultRetryMax is how many times a batch that a retry cannot
	// duplicate is re-sent after a connection error or a 502/503/504.
	DefaultRetryMax = 2
	// DefaultRetryWaitMin is the wait before the first retry; it doubles
	// for each further retry, up to DefaultRetryWaitMax.
	DefaultRetryWaitMin = wire.DefaultRetryWaitMin
	// DefaultRetryWaitMax caps the wait between retries.
	DefaultRetryWaitMax = wire.DefaultRetryWaitMax
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

// AddHeader is wire.AddHeader.
func AddHeader(h http.Header, key, value string) http.Header { return wire.AddHeader(h, key, value) }

// Engine runs the HTTP exchanges of one transport. Its methods are safe for
// concurrent use.
type Engine struct {
	set Settings

	mu       sync.RWMutex // guards cfg, http and inited
	cfg      bayeux.TransportConfig
	http     *wire.HTTP
	inited   bool
	closeCtx context.Context
	close    context.CancelFunc

	connect fifo // the lane of batches that are a lone /meta/connect
	other   fifo // the lane of every other batch

	// leases are the batches between Acquire and release, whose contexts
	// Close cancels (a registry rather than a context.AfterFunc per batch:
	// fewer allocations per request).
	leaseMu sync.Mutex
	leases  map[*lease]struct{}
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
	e.http = wire.NewHTTP(
		wire.WithClient(cfg.HTTPClient),
		wire.WithJar(cfg.Jar),
		wire.WithHeader(e.set.Header),
		wire.WithHeaderFunc(cfg.Header), // WithHeader and HeaderExtension
		wire.WithMaxBodyBytes(e.set.MaxBodyBytes),
		wire.WithRetry(wire.RetryPolicy{
			Max:     e.set.RetryMax,
			WaitMin: e.set.RetryWaitMin,
			WaitMax: e.set.RetryWaitMax,
			OnRetry: e.onRetry,
		}),
		wire.WithReuseRetry(true),
		wire.WithResendUncertain(cfg.ResendPublishes),
	)
	e.inited = true
	return nil
}

func (e *Engine) config() (bayeux.TransportConfig, *wire.HTTP, bool) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return e.cfg, e.http, e.inited
}

// Close makes later Acquire calls fail with bayeux.ErrClosed and cancels
// the requests in flight, which then fail with bayeux.ErrClosed. It is
// idempotent. The user's http.Client is left alone (its connections are not
// the engine's to close).
func (e *Engine) Close() error {
	e.close()
	e.leaseMu.Lock()
	defer e.leaseMu.Unlock()
	for l := range e.leases {
		l.cancel(bayeux.ErrClosed)
	}
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
	l := &lease{e: e, cancel: cancel, lane: &e.other}
	if IsLoneConnect(msgs) {
		l.lane = &e.connect
	}
	e.track(l)
	if err := l.lane.lock(rctx); err != nil {
		e.untrack(l)
		cancel(nil)
		if e.Closed() {
			return nil, nil, bayeux.ErrClosed
		}
		return nil, nil, &bayeux.TransportError{ConnectionType: e.set.ConnectionType, Err: err}
	}
	return rctx, l.release, nil
}

// lease is a batch's hold on a lane, from Acquire to release.
type lease struct {
	e      *Engine
	lane   *fifo
	cancel context.CancelCauseFunc
	done   atomic.Bool
}

// release frees the lane and ends the lease's context; only its first
// call counts.
func (l *lease) release() {
	if l.done.CompareAndSwap(false, true) {
		l.lane.unlock()
		l.e.untrack(l)
		l.cancel(nil)
	}
}

// track registers l, whose context Close cancels; after Close it cancels
// it at once.
func (e *Engine) track(l *lease) {
	e.leaseMu.Lock()
	defer e.leaseMu.Unlock()
	if e.closeCtx.Err() != nil {
		l.cancel(bayeux.ErrClosed)
		return
	}
	if e.leases == nil {
		e.leases = make(map[*lease]struct{})
	}
	e.leases[l] = struct{}{}
}

func (e *Engine) untrack(l *lease) {
	e.leaseMu.Lock()
	delete(e.leases, l)
	e.leaseMu.Unlock()
}

// Send performs r with the context returned by Acquire (through the
// engine's wire.HTTP: the client's http.Client, the session's jar, the
// custom headers, the retry policy for requests marked Retry, and the
// single re-send of a request that failed on a reused kept-alive connection
// before any byte of the answer) and returns the response body of a 200
// answer. Every failure is a *bayeux.TransportError (with StatusCode for
// other statuses; wrapping bayeux.ErrTooLarge for a body over the limit;
// wrapping a *bayeux.DecodeError for an empty body), except
// bayeux.ErrClosed once the engine is closed.
func (e *Engine) Send(ctx context.Context, r *wire.Request) ([]byte, error) {
	body, err := e.send(ctx, r)
	if err != nil && e.Closed() {
		return nil, bayeux.ErrClosed
	}
	return body, err
}

func (e *Engine) send(ctx context.Context, r *wire.Request) ([]byte, error) {
	e.mu.RLock()
	h, counters := e.http, e.cfg.Counters
	e.mu.RUnlock()
	if h == nil {
		return nil, e.fail(0, errors.New("transport used before Init"))
	}
	ex, err := h.Do(ctx, r)
	if n := counters; n != nil {
		// The payload sent: the body, or the query of a callback-polling
		// GET, which carries the messages.
		out := len(r.Body)
		if out == 0 {
			out = len(r.URL)
		}
		n.BytesOut.Add(uint64(out))
		if ex != nil {
			n.BytesIn.Add(uint64(len(ex.Body)))
			if ex.Lost > 0 {
				n.LostResponses.Add(uint64(ex.Lost))
			}
		}
	}
	if err != nil || ex.Resent || ex.StatusCode != http.StatusOK || len(ex.Body) == 0 {
		return e.failed(ctx, r.Lane, ex, err)
	}
	return ex.Body, nil
}

// failed is send's slow path, apart so that send's frame stays small: the
// stack of a held /meta/connect runs through it.
func (e *Engine) failed(ctx context.Context, lane wire.Lane, ex *wire.Exchange, err error) ([]byte, error) {
	if ex != nil && ex.Resent {
		// The request may have reached the server before its connection
		// broke: say so, since a publish re-sent may be delivered twice.
		cfg, _, _ := e.config()
		cfg.Logger.LogAttrs(ctx, slog.LevelDebug, ResentMessage,
			slog.String("transport", e.set.ConnectionType), slog.String("client", cfg.ClientName),
			slog.Bool("connect", lane == wire.LaneConnect))
	}
	if ex != nil && ex.StatusCode != http.StatusOK {
		snippet := ex.Body
		if len(snippet) > 256 {
			snippet = snippet[:256]
		}
		msg := "unexpected HTTP status " + strconv.Quote(ex.Status)
		if len(snippet) > 0 {
			msg += ", body " + strconv.Quote(string(snippet))
		}
		return nil, e.fail(ex.StatusCode, errors.New(msg))
	}
	if err != nil {
		return nil, e.fail(0, err)
	}
	if len(ex.Body) == 0 {
		return nil, e.fail(0, &bayeux.DecodeError{Reason: "empty response body"})
	}
	return ex.Body, nil
}

// ResentMessage is the Debug log message of a request re-sent on a fresh
// connection after its kept-alive connection broke before any byte of the
// answer. Its "connect" attribute is true for a lone /meta/connect, false
// for every other request (a publish among them).
const ResentMessage = "bayeux: request re-sent on a fresh connection after a stale kept-alive connection"

func (e *Engine) fail(status int, err error) error {
	return &bayeux.TransportError{ConnectionType: e.set.ConnectionType, StatusCode: status, Err: err}
}

// onRetry logs a retry (without the URL, which may carry messages).
func (e *Engine) onRetry(ctx context.Context, status int, err error) {
	cfg, _, _ := e.config()
	reason := slog.Int("status", status)
	if err != nil {
		reason = slog.String("error", err.Error())
	}
	cfg.Logger.LogAttrs(ctx, slog.LevelDebug, "bayeux: retrying request",
		slog.String("transport", e.set.ConnectionType), slog.String("client", cfg.ClientName), reason)
}

// LaneOf returns the wire lane of msgs: LaneConnect for a lone
// /meta/connect.
func LaneOf(msgs []bayeux.Message) wire.Lane {
	if IsLoneConnect(msgs) {
		return wire.LaneConnect
	}
	return wire.LaneOther
}
