package interop

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bayeux-go/sdk/bayeux"
	"github.com/bayeux-go/sdk/transport/callbackpoll"
	"github.com/bayeux-go/sdk/transport/longpoll"
	"github.com/bayeux-go/sdk/transport/websocket"
)

// interopEnv turns the interop tests on.
const interopEnv = "BAYEUX_INTEROP"

// verbose (BAYEUX_INTEROP_LOG=1) logs the wire logs of passing tests too.
var verbose = os.Getenv("BAYEUX_INTEROP_LOG") == "1"

// pinned are the npm packages the tests run, at the versions package.json
// pins.
var pinned = map[string]string{"faye": "1.4.3", "cometd-nodejs-server": "1.2.1"}

// Timeouts of the servers under test: short, so that held connects, expiry
// and recovery take little time.
const (
	fayeTimeoutSeconds = "2"    // FAYE_TIMEOUT; Faye expires a session after 2 x timeout
	cometdTimeoutMS    = "2000" // COMETD_TIMEOUT
	waitLong           = 30 * time.Second
)

var (
	nodeOnce sync.Once
	nodePath string
	nodeErr  error
)

// requireInterop skips the test unless BAYEUX_INTEROP=1, and then fails it
// when node or the pinned npm packages are missing. It returns node's path.
func requireInterop(t *testing.T) string {
	t.Helper()
	if os.Getenv(interopEnv) != "1" {
		t.Skipf("interop tests against Faye and cometd-nodejs-server are off; enable them with `make test`, "+
			"or `npm ci --prefix interop && %s=1 go test ./interop/`", interopEnv)
	}
	nodeOnce.Do(func() {
		if nodePath, nodeErr = FindNode(); nodeErr != nil {
			nodeErr = fmt.Errorf("%w; install Node.js and npm (Debian: apt-get install nodejs npm)", nodeErr)
			return
		}
		if _, err := exec.LookPath("npm"); err != nil {
			nodeErr = fmt.Errorf("npm not found on PATH (%v); install it (Debian: apt-get install npm) and run `npm ci --prefix interop`", err)
			return
		}
		for pkg, version := range pinned {
			b, err := os.ReadFile(filepath.Join("node_modules", pkg, "package.json"))
			if err != nil {
				nodeErr = fmt.Errorf("npm package %s is not installed (%v): run `npm ci --prefix interop`", pkg, err)
				return
			}
			var meta struct{ Version string }
			if err := json.Unmarshal(b, &meta); err != nil || meta.Version != version {
				nodeErr = fmt.Errorf("npm package %s is at version %q, want %s: run `npm ci --prefix interop`", pkg, meta.Version, version)
				return
			}
		}
	})
	if nodeErr != nil {
		t.Fatalf("%s=1 but the interop peers cannot run: %v", interopEnv, nodeErr)
	}
	return nodePath
}

// control talks to the servers' test hooks; no keep-alive, so that no idle
// connection goroutine outlives a test.
var control = &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 10 * time.Second}

// peer is a Bayeux server under test, running as a Node process.
type peer struct {
	kind string // "faye" or "cometd"
	cmd  Command
	path string // Bayeux endpoint path

	mu   sync.Mutex
	proc *Process
	logs []string // stderr tails of earlier runs (before restarts)
}

// startPeer starts the Faye or CometD server script with env on a free port
// and stops it when the test ends. On failure the test log gets the
// server's wire log.
func startPeer(t *testing.T, kind string, env ...string) *peer {
	t.Helper()
	node := requireInterop(t)
	p := &peer{kind: kind}
	switch kind {
	case "faye":
		p.path = "/bayeux"
		p.cmd = Command{Node: node, Script: "server_faye.js", Env: append([]string{"FAYE_TIMEOUT=" + fayeTimeoutSeconds, "WIRE_LOG=1"}, env...)}
	case "cometd":
		p.path = "/cometd"
		p.cmd = Command{Node: node, Script: "server_cometd.js", Env: append([]string{"COMETD_TIMEOUT=" + cometdTimeoutMS, "WIRE_LOG=1"}, env...)}
	default:
		t.Fatalf("unknown peer %q", kind)
	}
	p.cmd.Args = []string{"0"}
	ctx, cancel := context.WithTimeout(context.Background(), waitLong)
	defer cancel()
	proc, err := StartServer(ctx, p.cmd)
	if err != nil {
		t.Fatalf("start %s server: %v", kind, err)
	}
	p.proc = proc
	p.cmd.Args = []string{strconv.Itoa(proc.Port)} // restarts reuse the port
	t.Cleanup(func() {
		p.mu.Lock()
		proc := p.proc
		p.mu.Unlock()
		proc.Stop()
		if t.Failed() || verbose {
			t.Logf("%s server wire log (stderr tail):\n%s%s", kind, strings.Join(p.logs, "--- restarted ---\n"), proc.Stderr())
		}
	})
	return p
}

// checkAlive fails the test, with the server's stderr, if the server process
// has exited (crashed).
func (p *peer) checkAlive(t *testing.T) {
	t.Helper()
	p.mu.Lock()
	proc := p.proc
	p.mu.Unlock()
	select {
	case <-proc.Done():
		t.Fatalf("%s server exited (%v); stderr tail:\n%s", p.kind, proc.ExitErr(), proc.Stderr())
	default:
	}
}

// stderr returns the end of the running server's stderr (its wire log).
func (p *peer) stderr() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.proc.Stderr()
}

// received reports whether the server's wire log shows it received a
// message on channel with that id from clientID.
func (p *peer) received(channel bayeux.Channel, id, clientID string) bool {
	for _, line := range strings.Split(p.stderr(), "\n") {
		rest, ok := strings.CutPrefix(line, "in  ")
		if !ok {
			continue
		}
		var m struct {
			Channel  bayeux.Channel
			ID       string
			ClientID string
		}
		if json.Unmarshal([]byte(rest), &m) == nil && m.Channel == channel && m.ID == id && m.ClientID == clientID {
			return true
		}
	}
	return false
}

// port returns the server's port.
func (p *peer) port() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.proc.Port
}

// base returns http://127.0.0.1:PORT.
func (p *peer) base() string { return "http://127.0.0.1:" + strconv.Itoa(p.port()) }

// URL returns the Bayeux endpoint.
func (p *peer) URL() string { return p.base() + p.path }

// addr returns 127.0.0.1:PORT, for a Proxy.
func (p *peer) addr() string { return "127.0.0.1:" + strconv.Itoa(p.port()) }

// restart stops the server and starts a new one on the same port: every
// session is lost.
func (p *peer) restart(t *testing.T) {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	p.proc.Stop()
	p.logs = append(p.logs, p.proc.Stderr())
	var err error
	for attempt := 0; attempt < 20; attempt++ {
		ctx, cancel := context.WithTimeout(context.Background(), waitLong)
		var proc *Process
		proc, err = StartServer(ctx, p.cmd)
		cancel()
		if err == nil {
			p.proc = proc
			return
		}
		// The port may still be held for a moment after the old process died.
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("restart %s server on port %s: %v", p.kind, p.cmd.Args[0], err)
}

func (p *peer) hook(t *testing.T, method, path string, q url.Values, body io.Reader, out any) {
	t.Helper()
	req, err := http.NewRequest(method, p.base()+path+"?"+q.Encode(), body)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := control.Do(req)
	if err != nil {
		t.Fatalf("%s test hook %s: %v", p.kind, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s test hook %s: HTTP %d %s", p.kind, path, resp.StatusCode, b)
	}
	if err := json.Unmarshal(b, out); err != nil {
		t.Fatalf("%s test hook %s: %v in %s", p.kind, path, err, b)
	}
}

// sessionExists asks the server whether it knows clientID.
func (p *peer) sessionExists(t *testing.T, clientID string) bool {
	t.Helper()
	var r struct{ Exists bool }
	p.hook(t, http.MethodGet, "/control/session", url.Values{"clientId": {clientID}}, nil, &r)
	return r.Exists
}

// destroy drops clientID's session on the server, as an expiry does.
func (p *peer) destroy(t *testing.T, clientID string) bool {
	t.Helper()
	var r struct{ Destroyed bool }
	p.hook(t, http.MethodPost, "/control/destroy", url.Values{"clientId": {clientID}}, nil, &r)
	return r.Destroyed
}

// kinds of transport.
const (
	lp = bayeux.ConnectionTypeLongPolling
	cp = bayeux.ConnectionTypeCallbackPolling
	ws = bayeux.ConnectionTypeWebSocket
)

func newTransport(t *testing.T, kind string) bayeux.Transport {
	t.Helper()
	switch kind {
	case lp:
		return longpoll.New()
	case cp:
		return callbackpoll.New()
	case ws:
		return websocket.New()
	}
	t.Fatalf("unknown transport %q", kind)
	return nil
}

// wireLog records what a client sent and received (through an extension),
// its state changes, errors and log, to explain a failure with the exact
// messages.
type wireLog struct {
	start time.Time
	mu    sync.Mutex
	lines []wireLine
	cut   int
	errs  []error
}

type wireLine struct {
	at   time.Duration
	dir  string // "out", "in", "state", "error", "log", "test"
	text string
	msg  *bayeux.Message // for "out" and "in"
}

const maxWireLines = 2000

func newWireLog() *wireLog { return &wireLog{start: time.Now()} }

func (w *wireLog) add(dir, text string, msg *bayeux.Message) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.lines = append(w.lines, wireLine{at: time.Since(w.start), dir: dir, text: text, msg: msg})
	if len(w.lines) > maxWireLines {
		w.cut += len(w.lines) - maxWireLines
		w.lines = append(w.lines[:0], w.lines[len(w.lines)-maxWireLines:]...)
	}
}

func (w *wireLog) addMessage(dir string, m *bayeux.Message) {
	cp := *m
	cp.Data = bytes.Clone(m.Data)
	b, err := json.Marshal(m)
	text := string(b)
	if err != nil {
		text = fmt.Sprintf("%+v (marshal: %v)", *m, err)
	}
	if len(text) > 4000 {
		text = fmt.Sprintf("%s...(%d bytes)", text[:4000], len(text))
	}
	w.add(dir, text, &cp)
}

func (w *wireLog) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	var b strings.Builder
	if w.cut > 0 {
		fmt.Fprintf(&b, "[%d earlier lines cut]\n", w.cut)
	}
	for _, l := range w.lines {
		fmt.Fprintf(&b, "%8.3fs %-5s %s\n", l.at.Seconds(), l.dir, l.text)
	}
	return b.String()
}

// messages returns the recorded messages of one direction, "out" or "in".
func (w *wireLog) messages(dir string) []bayeux.Message {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []bayeux.Message
	for _, l := range w.lines {
		if l.dir == dir && l.msg != nil {
			out = append(out, *l.msg)
		}
	}
	return out
}

func (w *wireLog) mark(format string, args ...any) { w.add("test", fmt.Sprintf(format, args...), nil) }

// Write makes the wire log the client's slog output.
func (w *wireLog) Write(b []byte) (int, error) {
	w.add("log", strings.TrimRight(string(b), "\n"), nil)
	return len(b), nil
}

func (w *wireLog) state(c bayeux.StateChange) {
	w.add("state", fmt.Sprintf("%s -> %s id=%s err=%v", c.From, c.To, c.ClientID, c.Err), nil)
}

func (w *wireLog) errorf(err error) {
	w.mu.Lock()
	w.errs = append(w.errs, err)
	w.mu.Unlock()
	w.add("error", err.Error(), nil)
}

// errors returns the errors the client reported to its error handler.
func (w *wireLog) errors() []error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.errs)
}

// recorder is a MessageExtender that writes every message to a wireLog.
type recorder struct{ log *wireLog }

func (r recorder) Outgoing(m *bayeux.Message)              { r.log.addMessage("out", m) }
func (r recorder) Incoming(m *bayeux.Message)              { r.log.addMessage("in", m) }
func (r recorder) Registered(string, *bayeux.BayeuxClient) {}
func (r recorder) Unregistered()                           {}
func (r recorder) Name() string                            { return "interop-recorder" }

func anyMsg(ms []bayeux.Message, pred func(bayeux.Message) bool) bool {
	for _, m := range ms {
		if pred(m) {
			return true
		}
	}
	return false
}

// tclient is a Client under test with its wire log.
type tclient struct {
	*bayeux.Client
	name string
	wire *wireLog
}

// newClient creates a Client for url with the given transports (connection
// types, in order of preference), recording its wire traffic, with a short
// backoff; it is disconnected when the test ends and its wire log printed if
// the test failed.
func newClient(t *testing.T, name, url string, transports []string, opts ...bayeux.Option) *tclient {
	t.Helper()
	w := newWireLog()
	ts := make([]bayeux.Transport, len(transports))
	for i, k := range transports {
		ts[i] = newTransport(t, k)
	}
	all := append([]bayeux.Option{
		bayeux.WithTransports(ts...),
		bayeux.WithBackoff(50*time.Millisecond, 500*time.Millisecond),
		bayeux.WithMaxNetworkDelay(5 * time.Second),
		bayeux.WithExtensions(recorder{w}),
		bayeux.WithLogger(slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))),
		bayeux.WithStateListener(w.state),
		bayeux.WithErrorHandler(w.errorf),
	}, opts...)
	c, err := bayeux.NewClient(url, all...)
	if err != nil {
		t.Fatalf("NewClient(%s): %v", url, err)
	}
	tc := &tclient{Client: c, name: name, wire: w}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := c.Disconnect(ctx); err != nil {
			w.mark("cleanup Disconnect: %v", err)
		}
		// Disconnect waits for the client's own goroutines; Done, for the
		// handlers too.
		select {
		case <-c.Done():
		case <-ctx.Done():
			t.Errorf("client %s: Done not closed 10 s after Disconnect", name)
		}
		if t.Failed() || verbose {
			t.Logf("client %s (%v) wire log:\n%s", name, transports, w)
		}
	})
	return tc
}

// connect connects the client and fails the test on error.
func (c *tclient) connect(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitLong)
	defer cancel()
	if err := c.Connect(ctx); err != nil {
		t.Fatalf("client %s: Connect: %v", c.name, err)
	}
	if c.ClientID() == "" {
		t.Fatalf("client %s: connected without a clientId", c.name)
	}
}

// inbox collects a subscription's messages.
type inbox struct {
	ch chan bayeux.Message
}

func newInbox() *inbox { return &inbox{ch: make(chan bayeux.Message, 10000)} }

// handler is the subscription handler; it copies the message.
func (in *inbox) handler(m bayeux.Message) {
	m.Data = bytes.Clone(m.Data)
	in.ch <- m
}

// next returns the next message, failing the test after waitLong.
func (in *inbox) next(t *testing.T, what string) bayeux.Message {
	t.Helper()
	select {
	case m := <-in.ch:
		return m
	case <-time.After(waitLong):
		t.Fatalf("%s: no message within %v", what, waitLong)
		return bayeux.Message{}
	}
}

// empty fails the test if a message is waiting.
func (in *inbox) empty(t *testing.T, what string) {
	t.Helper()
	select {
	case m := <-in.ch:
		t.Fatalf("%s: unexpected message %s %s", what, m.Channel, m.Data)
	default:
	}
}

// subscribe subscribes c to ch with a new inbox.
func (c *tclient) subscribe(t *testing.T, ch string) (*bayeux.Subscription, *inbox) {
	t.Helper()
	in := newInbox()
	ctx, cancel := context.WithTimeout(context.Background(), waitLong)
	defer cancel()
	sub, err := c.Subscribe(ctx, bayeux.Channel(ch), in.handler)
	if err != nil {
		t.Fatalf("client %s: Subscribe(%s): %v", c.name, ch, err)
	}
	return sub, in
}

// publish publishes data and fails the test on error.
func (c *tclient) publish(t *testing.T, ch string, data any) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitLong)
	defer cancel()
	if err := c.Publish(ctx, bayeux.Channel(ch), data); err != nil {
		t.Fatalf("client %s: Publish(%s): %v", c.name, ch, err)
	}
}

// payload is what the tests publish.
type payload struct {
	N    int    `json:"n"`
	From string `json:"from,omitempty"`
	Text string `json:"text,omitempty"`
}

func decode(t *testing.T, m bayeux.Message) payload {
	t.Helper()
	var p payload
	if err := json.Unmarshal(m.Data, &p); err != nil {
		t.Fatalf("message on %s: data %s: %v", m.Channel, m.Data, err)
	}
	return p
}

// expect reads messages from in and checks their channels and n values.
func expect(t *testing.T, who string, in *inbox, want ...string) {
	t.Helper()
	for i, w := range want {
		ch, n, _ := strings.Cut(w, "#")
		m := in.next(t, fmt.Sprintf("%s: message %d of %d (%s)", who, i+1, len(want), w))
		got := fmt.Sprintf("%s#%d", m.Channel, decode(t, m).N)
		if got != ch+"#"+n {
			t.Fatalf("%s: message %d is %s (data %s), want %s", who, i+1, got, m.Data, w)
		}
	}
}

var channelSeq atomic.Int64

var unsafeChars = regexp.MustCompile(`[^A-Za-z0-9]+`)

// uniqueChannel returns a fresh channel prefix for one test.
func uniqueChannel(t *testing.T) string {
	name := unsafeChars.ReplaceAllString(t.Name(), "-")
	if len(name) > 40 {
		name = name[len(name)-40:]
	}
	return fmt.Sprintf("/it/%s-%d", strings.Trim(name, "-"), channelSeq.Add(1))
}

// eventually polls cond until it holds or waitLong passes.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitLong)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not reached within %v", what, waitLong)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func ctxLong(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), waitLong)
	t.Cleanup(cancel)
	return ctx
}
