package conformance

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/bayeux-go/sdk/conformance/internal/raw"
)

// caseDef is one rule and how to check it.
type caseDef struct {
	id      string
	section string
	level   Level
	rule    string
	source  string
	// transport the case needs ("" = the primary transport).
	transport string
	// matrix: the rule applies to every transport; the case runs once on
	// each one selected that the server offers (its sessions, opened with
	// t.open(""), use it).
	matrix bool
	run    func(t *T)
}

// env is what every case of a run shares.
type env struct {
	cfg     config
	url     string
	wsURL   string
	run     string // random, unique per run: channel names start with /cf/<run>
	types   []string
	primary string
	// timeout is the server's advised hold (0 if it advised none); hold is
	// what the suite asks for in connects that wait for events.
	timeout     time.Duration
	hold        time.Duration
	maxInterval time.Duration // advised, 0 if none

	// deadMu guards diedAfter: the case after which the server stopped
	// answering ("" while it answers).
	deadMu    sync.Mutex
	diedAfter string
}

// died returns the case after which the server stopped answering, or "".
func (e *env) died() string {
	e.deadMu.Lock()
	defer e.deadMu.Unlock()
	return e.diedAfter
}

// checkAlive runs after a case that did not pass: when the server no
// longer answers a handshake, it is dead, and the case is the one after
// which it stopped (the first such, cases running at once aside).
func (e *env) checkAlive(ctx context.Context, caseID string) {
	if e.died() != "" {
		return
	}
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	t := &T{ctx: pctx, e: e}
	defer t.runCleanups()
	s := t.newSession(LongPolling)
	var err error
	for range 2 { // one retry: a restart under way, a connection closed
		if _, err = s.send(pctx, handshakeMsg(LongPolling)); err == nil {
			return
		}
		time.Sleep(300 * time.Millisecond)
	}
	if ctx.Err() != nil {
		return
	}
	e.deadMu.Lock()
	if e.diedAfter == "" {
		e.diedAfter = caseID
	}
	e.deadMu.Unlock()
}

// ErrBadURL is returned by Run for a URL it cannot use.
var ErrBadURL = errors.New("conformance: bad URL")

// Run runs the suite against the Bayeux server at rawURL (http:// or
// https://; the websocket cases use the same URL with ws:// or wss://) and
// returns the report. It fails only when the server cannot be reached or
// does not answer a plain long-polling handshake at all; everything else
// is in the report.
func Run(ctx context.Context, rawURL string, opts ...Option) (*Report, error) {
	cfg := defaultConfig()
	for _, o := range opts {
		o(&cfg)
	}
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%w %q: want http://host/path or https://host/path", ErrBadURL, rawURL)
	}
	if cfg.rt == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		defer tr.CloseIdleConnections()
		cfg.rt = tr
	}
	if !cfg.keepAlive {
		if tr, ok := cfg.rt.(*http.Transport); ok {
			tr = tr.Clone()
			tr.DisableKeepAlives = true
			cfg.rt = tr
		}
	}
	e := &env{cfg: cfg, url: rawURL, run: strings.ToLower(rand.Text()[:10])}
	ws := *u
	ws.Scheme = map[string]string{"http": "ws", "https": "wss"}[u.Scheme]
	e.wsURL = ws.String()
	if err := e.discover(ctx); err != nil {
		return nil, err
	}
	rep := &Report{URL: rawURL, Started: time.Now(), ConnectionTypes: e.types}
	cases := e.expand(catalogue())
	rep.Results = make([]Result, len(cases))
	var (
		wg   sync.WaitGroup
		sem  = make(chan struct{}, cfg.parallel)
		pmu  sync.Mutex
		done int
	)
	// Two phases: the cases that send hostile input (the robustness
	// section) run one at a time after the others, so that a server they
	// kill is reported with the case that killed it.
	for _, hostile := range []bool{false, true} {
		if hostile {
			wg.Wait()
			sem = make(chan struct{}, 1)
		}
		for i, c := range cases {
			if (c.section == secRobust) != hostile {
				continue
			}
			rep.Results[i] = Result{ID: c.id, Section: c.section, Level: c.level, Rule: c.rule, Source: c.source, Transport: c.on}
			if reason := e.skipReason(c.caseDef); reason != "" {
				rep.Results[i].Status, rep.Results[i].Seen = Skip, reason
				pmu.Lock()
				done++
				if cfg.progress != nil {
					cfg.progress(done, len(cases), rep.Results[i])
				}
				pmu.Unlock()
				continue
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				select {
				case sem <- struct{}{}:
				case <-ctx.Done():
					rep.Results[i].Status, rep.Results[i].Seen = Skip, "run cancelled: "+ctx.Err().Error()
					return
				}
				defer func() { <-sem }()
				if id := e.died(); id != "" {
					rep.Results[i].Status, rep.Results[i].Seen = Skip, "not run: the server stopped answering after "+id
				} else {
					e.runCase(ctx, c.caseDef, c.on, &rep.Results[i])
					if st := rep.Results[i].Status; st == Fail || st == Warn {
						e.checkAlive(ctx, c.id)
					}
				}
				pmu.Lock()
				done++
				if cfg.progress != nil {
					cfg.progress(done, len(cases), rep.Results[i])
				}
				pmu.Unlock()
			}()
		}
	}
	wg.Wait()
	rep.Duration = time.Since(rep.Started)
	if id := e.died(); id != "" {
		rep.DiedAfter = id
		for i := range rep.Results {
			r := &rep.Results[i]
			if r.ID == id {
				r.Seen += "; the server stopped answering after this case"
				continue
			}
			if (r.Status == Fail || r.Status == Warn) && unreachable(r.Seen) {
				// Failed because the server was gone, not by a rule.
				r.Status, r.Seen = Skip, "not run: the server stopped answering after "+id+" ("+r.Seen+")"
			}
		}
	}
	// A selection lists only what it selected.
	rep.Results = slices.DeleteFunc(rep.Results, func(r Result) bool { return r.Status == Skip && r.Seen == "not selected" })
	return rep, nil
}

// caseRun is one case on one transport.
type caseRun struct {
	caseDef
	on string // the transport its sessions use ("" = the primary one, or the case's own)
}

// expand lists the runs of cases: a matrix case once per transport
// selected that the server offers (on the primary transport when none
// is), any other case once.
func (e *env) expand(cases []caseDef) []caseRun {
	var on []string
	for _, tr := range e.cfg.transports {
		if slices.Contains(e.types, tr) {
			on = append(on, tr)
		}
	}
	if len(on) == 0 {
		on = []string{e.primary}
	}
	var out []caseRun
	for _, c := range cases {
		switch {
		case c.matrix:
			for _, tr := range on {
				out = append(out, caseRun{c, tr})
			}
		default:
			out = append(out, caseRun{c, c.transport})
		}
	}
	return out
}

// discover handshakes once over long-polling to learn the server's
// connection types and advice.
func (e *env) discover(ctx context.Context) error {
	t := &T{ctx: ctx, e: e}
	s := t.newSession(LongPolling)
	x, err := s.send(ctx, handshakeMsg(LongPolling, CallbackPolling, WebSocket))
	if err != nil {
		return fmt.Errorf("conformance: %s does not answer a handshake: %w", e.url, err)
	}
	if x.err != nil {
		return fmt.Errorf("conformance: %s does not answer a handshake with Bayeux messages: %v", e.url, x.err)
	}
	hs, ok := x.reply("/meta/handshake", "")
	if !ok {
		return fmt.Errorf("conformance: %s answered a handshake without a /meta/handshake reply: %s", e.url, clip(x.body))
	}
	e.types, _ = hs.Strings("supportedConnectionTypes")
	if v, ok := hs.Number("advice", "timeout"); ok && v > 0 {
		e.timeout = time.Duration(v) * time.Millisecond
	}
	if v, ok := hs.Number("advice", "maxInterval"); ok && v > 0 {
		e.maxInterval = time.Duration(v) * time.Millisecond
	}
	e.hold = min(e.timeout, e.cfg.maxWait, 3*time.Second)
	if e.hold <= 0 {
		e.hold = 3 * time.Second
	}
	if id, ok := hs.Str("clientId"); ok {
		s.clientID = id
	}
	for _, tr := range e.cfg.transports {
		if slices.Contains(e.types, tr) {
			e.primary = tr
			break
		}
	}
	if e.primary == "" {
		e.primary = LongPolling
	}
	t.runCleanups()
	return nil
}

// skipReason says why c cannot run, or "".
func (e *env) skipReason(c caseDef) string {
	if len(e.cfg.cases) > 0 && !slices.ContainsFunc(e.cfg.cases, func(p string) bool { return selects(p, c) }) {
		return "not selected"
	}
	if c.transport != "" {
		if !slices.Contains(e.cfg.transports, c.transport) {
			return c.transport + " not selected"
		}
		if !slices.Contains(e.types, c.transport) {
			return "the server does not offer " + c.transport
		}
	}
	return ""
}

func selects(p string, c caseDef) bool {
	switch {
	case p == c.id || strings.EqualFold(p, c.section):
		return true
	case strings.HasSuffix(p, "*"):
		return strings.HasPrefix(c.id, strings.TrimSuffix(p, "*"))
	case strings.HasSuffix(p, "."):
		return strings.HasPrefix(c.id, p)
	}
	return false
}

// runCase runs c in its own goroutine (T's Fatalf and Skipf end it).
func (e *env) runCase(ctx context.Context, c caseDef, on string, res *Result) {
	ctx, cancel := context.WithTimeout(ctx, e.cfg.caseTimeout)
	defer cancel()
	t := &T{ctx: ctx, e: e, c: &c, on: on, status: Pass}
	start := time.Now()
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer t.runCleanups()
		defer func() {
			if p := recover(); p != nil {
				t.record(Fail, fmt.Sprintf("the case panicked (a suite bug): %v", p))
			}
		}()
		c.run(t)
	}()
	<-done
	if ctx.Err() != nil && errors.Is(context.Cause(ctx), context.Canceled) {
		t.status, t.seen = Skip, []string{"run cancelled"}
	}
	res.Duration = time.Since(start)
	res.Status = t.status
	res.Seen = strings.Join(t.seen, "; ")
	if res.Status == Pass && res.Seen == "" {
		res.Seen = "as required"
	}
}

// T is the state of one running case.
type T struct {
	ctx context.Context
	e   *env
	c   *caseDef
	on  string // the transport of a matrix run ("" otherwise)

	mu        sync.Mutex
	status    Status
	seen      []string
	cleanups  []func()
	nchan     int
	wasResent bool
}

// record sets the status (keeping the worst) and adds what was seen.
func (t *T) record(st Status, seen string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	rank := map[Status]int{Pass: 0, Skip: 1, Warn: 2, Fail: 3}
	if rank[st] > rank[t.status] {
		t.status = st
	}
	if seen != "" {
		t.seen = append(t.seen, seen)
	}
}

// violation is the status a broken rule gets at the case's level.
func (t *T) violation() Status {
	if t.c != nil && t.c.level == Security {
		return Fail
	}
	if t.c != nil && t.c.level == Must {
		return Fail
	}
	return Warn
}

// Errorf records a broken rule and lets the case go on.
func (t *T) Errorf(format string, args ...any) { t.record(t.violation(), fmt.Sprintf(format, args...)) }

// Fatalf records a broken rule and ends the case.
func (t *T) Fatalf(format string, args ...any) {
	t.Errorf(format, args...)
	runtime.Goexit()
}

// Skipf ends the case as skipped.
func (t *T) Skipf(format string, args ...any) {
	t.mu.Lock()
	t.status = Skip
	t.seen = []string{fmt.Sprintf(format, args...)}
	t.mu.Unlock()
	runtime.Goexit()
}

// Logf adds to what was seen.
func (t *T) Logf(format string, args ...any) { t.record(Pass, fmt.Sprintf(format, args...)) }

// resent notes, once per case, that a request was sent again after its
// kept-alive connection broke before any byte of the answer.
func (t *T) resent(resp *raw.Response) {
	if resp == nil || !resp.Resent {
		return
	}
	t.mu.Lock()
	first := !t.wasResent
	t.wasResent = true
	t.mu.Unlock()
	if first {
		t.Logf("note: a request failed on a reused kept-alive connection before any byte of its answer (the server closed it) and was sent again on a fresh connection")
	}
}

func (t *T) cleanup(f func()) {
	t.mu.Lock()
	t.cleanups = append(t.cleanups, f)
	t.mu.Unlock()
}

func (t *T) runCleanups() {
	t.mu.Lock()
	cs := t.cleanups
	t.cleanups = nil
	t.mu.Unlock()
	for i := len(cs) - 1; i >= 0; i-- {
		cs[i]()
	}
}

// channel returns a channel name unique to this run and case.
func (t *T) channel(parts ...string) string {
	t.mu.Lock()
	t.nchan++
	n := t.nchan
	t.mu.Unlock()
	id := strings.NewReplacer(".", "-", "_", "-").Replace(t.c.id)
	if t.on != "" {
		id += "-" + t.on
	}
	base := fmt.Sprintf("/cf/%s/%s%d", t.e.run, id, n)
	if len(parts) > 0 {
		base += "/" + strings.Join(parts, "/")
	}
	return base
}

// must ends the case when err is not nil or the response is not a Bayeux
// response (a non-200 status or an undecodable body).
func (t *T) must(x *exchange, err error) *exchange {
	if err != nil {
		t.Fatalf("request failed: %v", err)
	}
	if x.err != nil {
		t.Fatalf("response is not a Bayeux response: %v", x.err)
	}
	return x
}

// handshakeMsg is a plain handshake offering types.
func handshakeMsg(types ...string) msg {
	return msg{"channel": "/meta/handshake", "version": "1.0", "minimumVersion": "1.0", "supportedConnectionTypes": types}
}

// open handshakes a new session over transport (the primary one when "")
// and sends its first connect with advice {timeout:0}; a failure ends the
// case. extra fields are added to the handshake.
func (t *T) open(transport string, extra ...msg) *session {
	if transport == "" {
		transport = t.transport()
	}
	s := t.newSession(transport)
	hs := handshakeMsg(transport)
	for _, e := range extra {
		for k, v := range e {
			hs[k] = v
		}
	}
	x := t.must(s.send(t.ctx, hs))
	r, ok := x.reply("/meta/handshake", "")
	if !ok || !r.Successful() {
		t.Fatalf("setup: handshake over %s not successful: %s", transport, clip(x.body))
	}
	s.handshake = r
	s.clientID = r.S("clientId")
	t.must(s.send(t.ctx, msg{"channel": "/meta/connect", "connectionType": transport, "advice": map[string]any{"timeout": 0}}))
	return s
}

// transport is the transport of the case's sessions: the matrix run's, or
// the primary one.
func (t *T) transport() string {
	if t.on != "" {
		return t.on
	}
	return t.e.primary
}

// subscribe subscribes s; a failure ends the case.
func (t *T) subscribe(s *session, sub any) {
	x := t.must(s.send(t.ctx, msg{"channel": "/meta/subscribe", "subscription": sub}))
	if r, ok := x.reply("/meta/subscribe", ""); !ok || !r.Successful() {
		t.Fatalf("setup: subscribe %v not successful: %s", sub, clip(x.body))
	}
}

// publish publishes data on ch from s; a failure ends the case.
func (t *T) publish(s *session, ch string, data any) *exchange {
	x := t.must(s.send(t.ctx, msg{"channel": ch, "data": data}))
	if r, ok := x.reply(ch, ""); ok && !r.Successful() {
		t.Fatalf("setup: publish to %s not successful: %s", ch, clip(r.Raw))
	}
	return x
}

// wait is how long a case waits for an event that should arrive.
func (t *T) wait() time.Duration { return t.e.hold + 2*time.Second }

// unreachable reports whether seen is the evidence of a server that did
// not answer at all.
func unreachable(seen string) bool {
	for _, w := range []string{"connection refused", "EOF", "connection reset", "no such host", "server closed"} {
		if strings.Contains(seen, w) {
			return true
		}
	}
	return false
}

// Selects reports whether the case pattern p (see WithCases) selects at
// least one case of the catalogue.
func Selects(p string) bool {
	return slices.ContainsFunc(catalogue(), func(c caseDef) bool { return selects(p, c) })
}
