package conformance

import (
	"net/http"
	"time"
)

// Connection types the suite knows.
const (
	LongPolling     = "long-polling"
	CallbackPolling = "callback-polling"
	WebSocket       = "websocket"
)

type config struct {
	keepAlive   bool
	transports  []string
	cases       []string
	rt          http.RoundTripper
	parallel    int
	caseTimeout time.Duration
	maxWait     time.Duration
	progress    func(done, total int, r Result)
}

func defaultConfig() config {
	return config{
		keepAlive:   true,
		transports:  []string{LongPolling, CallbackPolling, WebSocket},
		parallel:    8,
		caseTimeout: 40 * time.Second,
		maxWait:     15 * time.Second,
	}
}

// Option configures Run.
type Option func(*config)

// WithTransports limits the transport cases to these connection types
// (default all three). The first one listed that the server offers also
// carries the cases that are not about a transport; long-polling is used
// when none of them is offered.
func WithTransports(types ...string) Option {
	return func(c *config) {
		if len(types) > 0 {
			c.transports = append([]string(nil), types...)
		}
	}
}

// WithCases runs only the cases whose id matches one of the patterns: an
// exact id, a prefix ending in "." or "*" ("connect." or "connect*"), or
// a section name. The others are reported as skipped.
func WithCases(patterns ...string) Option {
	return func(c *config) { c.cases = append(c.cases, patterns...) }
}

// WithRoundTripper sets the HTTP transport of every request (default
// http.DefaultTransport). Each session has its own cookie jar regardless.
func WithRoundTripper(rt http.RoundTripper) Option {
	return func(c *config) { c.rt = rt }
}

// WithKeepAlive(false) sends every HTTP request on a connection of its own
// (default true: kept-alive connections are reused, and a request that
// fails on a reused one before any byte of the answer is sent again once
// on a fresh connection, which the case's evidence notes).
func WithKeepAlive(on bool) Option {
	return func(c *config) { c.keepAlive = on }
}

// WithParallel sets how many cases run at once (default 8; 1 runs them
// one after the other).
func WithParallel(n int) Option {
	return func(c *config) {
		if n > 0 {
			c.parallel = n
		}
	}
}

// WithCaseTimeout bounds each case (default 40 s); a case that runs out
// of time fails with what it saw.
func WithCaseTimeout(d time.Duration) Option {
	return func(c *config) {
		if d > 0 {
			c.caseTimeout = d
		}
	}
}

// WithMaxWait bounds how long a case waits for a server-paced event: a
// held connect to be answered, a session to expire (default 15 s). A
// server whose advised timeout or maxInterval is longer is asked, through
// advice, to hold shorter; where it cannot be asked (expiry) the case is
// skipped.
func WithMaxWait(d time.Duration) Option {
	return func(c *config) {
		if d > 0 {
			c.maxWait = d
		}
	}
}

// WithProgress calls fn after each case ends, from the goroutine that ran
// it (calls are serialised).
func WithProgress(fn func(done, total int, r Result)) Option {
	return func(c *config) { c.progress = fn }
}
