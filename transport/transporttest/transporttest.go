package transporttest

import (
	"context"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/bayeux-go/sdk/bayeux"
	"github.com/bayeux-go/sdk/bayeux/bayeuxtest"
)

// Kind is how a transport reaches the server, which decides the checks
// that apply to it.
type Kind int

const (
	// KindAuto infers the kind from the transport's Name: "websocket" is
	// KindUpgrade, "long-polling" and "callback-polling" are KindHTTP.
	KindAuto Kind = iota
	// KindHTTP is a request/response transport over HTTP: each RoundTrip
	// is answered by HTTP responses, whose status codes are reported in
	// TransportError.StatusCode.
	KindHTTP
	// KindUpgrade is a transport that upgrades an HTTP request to a
	// persistent connection: a refused upgrade must be reported with
	// TransportError.Refused.
	KindUpgrade
)

// Option configures Run and Check.
type Option func(*config)

type config struct {
	kind           Kind
	serverOpts     []bayeuxtest.Option
	prompt         time.Duration
	receiveReplies bool
}

// WithKind declares the transport's kind instead of inferring it.
func WithKind(k Kind) Option { return func(c *config) { c.kind = k } }

// WithReceiveReplies runs the checks with TransportConfig.ReceiveReplies
// set, as the session Client does: replies may then come through Receive
// instead of RoundTrip's answer, and the checks accept either.
func WithReceiveReplies() Option { return func(c *config) { c.receiveReplies = true } }

// WithServerOptions adds options to the bayeuxtest servers the checks
// start (after the harness's own, so they can replace them).
func WithServerOptions(opts ...bayeuxtest.Option) Option {
	return func(c *config) { c.serverOpts = append(c.serverOpts, opts...) }
}

// DefaultPromptness is how soon RoundTrip must return once its context
// ends, Close is called or the server answers, unless WithPromptness says
// otherwise.
const DefaultPromptness = 2 * time.Second

// WithPromptness sets how soon RoundTrip must return once its context
// ends, Close is called or the server answers (default DefaultPromptness;
// raise it on a slow machine).
func WithPromptness(d time.Duration) Option {
	return func(c *config) {
		if d > 0 {
			c.prompt = d
		}
	}
}

// check is one check of the contract.
type check struct {
	name string
	// only, when not zero, restricts the check to one kind.
	only Kind
	run  func(*env)
}

// Run checks the transports that newTransport returns (a new, unused one
// for each check) against the contract of bayeux.Transport, each check as
// a subtest, against bayeuxtest servers. See the package documentation for
// the checks.
func Run(t *testing.T, newTransport func() bayeux.Transport, opts ...Option) {
	t.Helper()
	cfg := newConfig(newTransport, opts)
	for _, c := range checks {
		if c.only != 0 && c.only != cfg.kind {
			continue
		}
		t.Run(c.name, func(t *testing.T) { runCheck(t, c, cfg, newTransport) })
	}
}

// Check runs the same checks as Run on tb, one after the other, without
// subtests: each failure is reported with tb.Errorf, prefixed with the
// check's name, and a check that cannot go on stops alone. It serves
// harnesses that drive tb themselves (and the self-test of this package);
// with a *testing.T, prefer Run.
func Check(tb testing.TB, newTransport func() bayeux.Transport, opts ...Option) {
	tb.Helper()
	cfg := newConfig(newTransport, opts)
	for _, c := range checks {
		if c.only != 0 && c.only != cfg.kind {
			continue
		}
		ctb := &checkTB{TB: tb, name: c.name}
		done := make(chan struct{})
		go func() {
			defer close(done)
			defer ctb.cleanup()
			runCheck(ctb, c, cfg, newTransport)
		}()
		<-done
	}
}

func newConfig(newTransport func() bayeux.Transport, opts []Option) config {
	cfg := config{prompt: DefaultPromptness}
	for _, o := range opts {
		if o != nil {
			o(&cfg)
		}
	}
	if cfg.kind == KindAuto {
		tr := newTransport()
		switch tr.Name() {
		case bayeux.ConnectionTypeWebSocket:
			cfg.kind = KindUpgrade
		default:
			cfg.kind = KindHTTP
		}
		_ = tr.Close()
	}
	return cfg
}

// checkTB reports a check's failures to the TB given to Check.
type checkTB struct {
	testing.TB
	name string

	mu       sync.Mutex
	failed   bool
	cleanups []func()
}

func (c *checkTB) Errorf(format string, args ...any) {
	c.TB.Helper()
	c.mu.Lock()
	c.failed = true
	c.mu.Unlock()
	c.TB.Errorf("%s: %s", c.name, fmt.Sprintf(format, args...))
}

func (c *checkTB) Error(args ...any) { c.Errorf("%s", fmt.Sprint(args...)) }

func (c *checkTB) Fatalf(format string, args ...any) {
	c.Errorf(format, args...)
	c.FailNow()
}

func (c *checkTB) Fatal(args ...any) {
	c.Error(args...)
	c.FailNow()
}

func (c *checkTB) Fail() {
	c.mu.Lock()
	c.failed = true
	c.mu.Unlock()
	c.TB.Fail()
}

// FailNow stops the check (which runs in a goroutine of its own).
func (c *checkTB) FailNow() {
	c.Fail()
	runtime.Goexit()
}

func (c *checkTB) Failed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.failed
}

func (c *checkTB) Cleanup(f func()) {
	c.mu.Lock()
	c.cleanups = append(c.cleanups, f)
	c.mu.Unlock()
}

func (c *checkTB) cleanup() {
	c.mu.Lock()
	fs := c.cleanups
	c.cleanups = nil
	c.mu.Unlock()
	for _, f := range slices.Backward(fs) {
		f()
	}
}

// env is what a check works with: a server, a transport bound to a
// client configuration that records Receive, and helpers.
type env struct {
	tb           testing.TB
	cfg          config
	newTransport func() bayeux.Transport
	srv          *bayeuxtest.Server
	client       *http.Client
	tr           bayeux.Transport
	name         string
	rec          *recorder
	ctx          context.Context
}

func runCheck(tb testing.TB, c check, cfg config, newTransport func() bayeux.Transport) {
	tb.Helper()
	e := &env{tb: tb, cfg: cfg, newTransport: newTransport}
	opts := append([]bayeuxtest.Option{bayeuxtest.WithTimeout(30 * time.Second)}, cfg.serverOpts...)
	e.srv = bayeuxtest.NewServer(opts...)
	e.client = e.srv.Client()
	tb.Cleanup(func() {
		e.client.CloseIdleConnections()
		e.srv.Close()
	})
	e.rec = &recorder{}
	jar, _ := cookiejar.New(nil)
	e.tr = newTransport()
	e.name = e.tr.Name()
	tcfg := bayeux.TransportConfig{
		HTTPClient:     e.client,
		Jar:            jar,
		Logger:         discardLogger(),
		Receive:        e.rec.receive,
		ReceiveReplies: cfg.receiveReplies,
		ClientName:     "transporttest",
	}
	if err := e.tr.Init(tcfg); err != nil {
		tb.Fatalf("Init: %v", err)
	}
	tb.Cleanup(func() { _ = e.tr.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	tb.Cleanup(cancel)
	e.ctx = ctx
	c.run(e)
}

// recorder records the messages passed to Receive, and calls made after
// the transport's Close returned.
type recorder struct {
	mu     sync.Mutex
	msgs   []bayeux.Message
	closed bool
	late   int
	notify chan struct{}
}

func (r *recorder) receive(msgs []bayeux.Message) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		r.late++
		return
	}
	r.msgs = append(r.msgs, msgs...)
	if r.notify != nil {
		close(r.notify)
		r.notify = nil
	}
}

// messages returns the messages received so far and a channel closed at
// the next call of Receive.
func (r *recorder) messages() ([]bayeux.Message, <-chan struct{}) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.notify == nil {
		r.notify = make(chan struct{})
	}
	return slices.Clone(r.msgs), r.notify
}

// takeReplies removes from the messages received the replies whose id is
// in ids (a meta message, or one with "successful"), and returns them.
func (r *recorder) takeReplies(ids map[string]bool) []bayeux.Message {
	r.mu.Lock()
	defer r.mu.Unlock()
	var replies []bayeux.Message
	kept := r.msgs[:0]
	for _, m := range r.msgs {
		if ids[m.ID] && (m.IsMeta() || m.HasSuccessful()) {
			replies = append(replies, m)
			delete(ids, m.ID)
			continue
		}
		kept = append(kept, m)
	}
	r.msgs = kept
	return replies
}

func (r *recorder) markClosed() {
	r.mu.Lock()
	r.closed = true
	r.mu.Unlock()
}

func (r *recorder) lateCalls() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.late
}
