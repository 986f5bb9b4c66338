package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/bayeux-go/sdk/bayeux"
	"github.com/bayeux-go/sdk/bayeux/bayeuxtest"
)

// binary is the bayeux command built for the tests, which run it as a user
// would.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "bayeux-cli-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "bayeux")
	if out, err := exec.Command("go", "build", "-race", "-o", binary, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "go build: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			code = 1
		}
	}
	os.Exit(code)
}

// proc is a running bayeux command.
type proc struct {
	t      *testing.T
	cmd    *exec.Cmd
	stdout *lineBuffer
	stderr *lineBuffer
	done   chan struct{}
	err    error
}

// start runs the binary with args.
func start(t *testing.T, args ...string) *proc {
	t.Helper()
	p := &proc{t: t, cmd: binaryCmd(args...), stdout: &lineBuffer{}, stderr: &lineBuffer{}, done: make(chan struct{})}
	p.cmd.Stdout, p.cmd.Stderr = p.stdout, p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.err = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		_ = p.cmd.Process.Kill()
		<-p.done
	})
	return p
}

// binaryCmd returns an exec.Cmd running the binary with args. The binary is
// built with -race: a race makes it exit with status 66. The race
// detector's one-second pause at a successful exit is turned off.
func binaryCmd(args ...string) *exec.Cmd {
	cmd := exec.Command(binary, args...)
	cmd.Env = append(os.Environ(), "GORACE=atexit_sleep_ms=0")
	return cmd
}

// wait waits for the command to exit and returns its exit status.
func (p *proc) wait() int {
	p.t.Helper()
	select {
	case <-p.done:
	case <-time.After(20 * time.Second):
		p.t.Fatalf("%v did not exit; stdout:\n%s\nstderr:\n%s", p.cmd.Args, p.stdout, p.stderr)
	}
	return p.cmd.ProcessState.ExitCode()
}

// signal sends sig and waits for the exit status.
func (p *proc) signal(sig os.Signal) int {
	p.t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		p.t.Fatal(err)
	}
	return p.wait()
}

// runCLI runs the binary to completion.
func runCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	p := start(t, args...)
	code = p.wait()
	return code, p.stdout.String(), p.stderr.String()
}

// lineBuffer collects output and lets a test wait for a line.
type lineBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lineBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lineBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// waitFor waits until the output contains s.
func (l *lineBuffer) waitFor(t *testing.T, s string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !strings.Contains(l.String(), s) {
		if time.Now().After(deadline) {
			t.Fatalf("output lacks %q:\n%s", s, l)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// newServer starts a bayeuxtest server with the echo service of serve.
func newServer(t *testing.T, opts ...bayeuxtest.Option) *bayeuxtest.Server {
	srv := bayeuxtest.NewServer(append([]bayeuxtest.Option{bayeuxtest.WithTimeout(500 * time.Millisecond)}, opts...)...)
	srv.HandleService("/service/echo", func(m bayeux.Message) (any, error) { return m.Data, nil })
	t.Cleanup(srv.Close)
	return srv
}

// disconnected reports whether the server received a /meta/disconnect.
func disconnected(srv *bayeuxtest.Server) bool { return srv.Count(bayeux.MetaDisconnect) > 0 }

func TestHelp(t *testing.T) {
	for _, c := range commands {
		for _, args := range [][]string{{c.name, "-h"}, {c.name, "--help"}, {"help", c.name}} {
			code, out, errOut := runCLI(t, args...)
			if code != 0 {
				t.Errorf("%q: exit %d, stderr %s", args, code, errOut)
			}
			for _, want := range []string{"usage: bayeux " + c.name + " [flags]" + strings.TrimRight(" "+c.args, " ") + "\n", "example:\n  bayeux " + c.name} {
				if !strings.Contains(out, want) {
					t.Errorf("%q: help lacks %q:\n%s", args, want, out)
				}
			}
		}
	}
	code, out, _ := runCLI(t, "help")
	if code != 0 || !strings.Contains(out, "  sub ") || !strings.Contains(out, "  serve ") {
		t.Errorf("help: exit %d\n%s", code, out)
	}
}

func TestUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "bayeux: no command"},
		{[]string{"nope"}, `bayeux: unknown command "nope"`},
		{[]string{"sub"}, "bayeux: sub: missing arguments: want CHANNEL..."},
		{[]string{"pub", "/a"}, "bayeux: pub: missing arguments: want CHANNEL JSON"},
		{[]string{"pub", "/a", "not json"}, `bayeux: pub: "not json" is not JSON`},
		{[]string{"pub", "/a", "1", "2"}, "bayeux: pub: too many arguments"},
		{[]string{"sub", "/a", "-transport", "carrier-pigeon"}, `unknown transport "carrier-pigeon": choose auto, websocket, long-polling, callback-polling`},
		{[]string{"sub", "-header", "novalue", "/a"}, "want Key:Value"},
		{[]string{"sub", "-ext", "[1]", "/a"}, "want a JSON object"},
		{[]string{"sub", "-nope", "/a"}, "flag provided but not defined: -nope"},
		{[]string{"sub", "bad channel"}, "bayeux: sub: invalid channel"},
		{[]string{"serve", "extra"}, "bayeux: serve: too many arguments"},
		{[]string{"serve", "--replay=soon"}, "want a retention such as 1h"},
		{[]string{"sub", "--replay", "0", "/a"}, "want a replay id, -1 (new events) or -2"},
		{[]string{"sub", "--replay", "-1", "/a/*"}, "--replay applies to channel names, not patterns"},
	} {
		code, out, errOut := runCLI(t, tc.args...)
		if code != 2 || !strings.Contains(errOut, tc.want) || strings.Contains(errOut, "bayeux: bayeux:") {
			t.Errorf("%q: exit %d, stderr %q; want exit 2 and %q", tc.args, code, errOut, tc.want)
		}
		if out != "" && len(tc.args) > 0 {
			t.Errorf("%q: stdout %q", tc.args, out)
		}
	}
}

// TestSubPub runs sub and pub over each transport, with flags after the
// arguments, and ends sub with SIGTERM and SIGINT.
func TestSubPub(t *testing.T) {
	for _, tc := range []struct {
		transport string
		sig       os.Signal
	}{
		{"auto", syscall.SIGTERM},
		{"websocket", os.Interrupt},
		{"long-polling", syscall.SIGTERM},
		{"callback-polling", os.Interrupt},
	} {
		t.Run(tc.transport, func(t *testing.T) {
			srv := newServer(t)
			ctx := testContext(t)
			sub := start(t, "sub", "/cli/*", "-url", srv.URL, "/other", "-transport", tc.transport)
			if err := srv.WaitFor(ctx, func(s *bayeuxtest.Server) bool {
				return s.Subscribers("/cli/*") == 1 && s.Subscribers("/other") == 1
			}); err != nil {
				t.Fatal(err)
			}
			code, out, errOut := runCLI(t, "pub", "/cli/x", `{"n":1}`, "-url", srv.URL, "-transport", tc.transport)
			if code != 0 {
				t.Fatalf("pub: exit %d: %s", code, errOut)
			}
			var reply bayeux.Message
			if err := json.Unmarshal([]byte(out), &reply); err != nil || reply.Channel != "/cli/x" || !reply.Successful || reply.ID == "" {
				t.Errorf("pub printed %q (%v), want the server's reply", out, err)
			}
			sub.stdout.waitFor(t, `{"channel":"/cli/x","data":{"n":1}}`+"\n")
			if code := sub.signal(tc.sig); code != 0 {
				t.Errorf("sub exit %d after %v: %s", code, tc.sig, sub.stderr)
			}
			if !disconnected(srv) || srv.Count(bayeux.MetaDisconnect) != 2 {
				t.Errorf("the server received %d /meta/disconnect, want one from pub and one from sub", srv.Count(bayeux.MetaDisconnect))
			}
			if errOut != "" || sub.stderr.String() != "" {
				t.Errorf("stderr is not a terminal and -v is off, yet: pub %q sub %q", errOut, sub.stderr)
			}
		})
	}
}

func TestPubServiceReply(t *testing.T) {
	srv := newServer(t)
	code, out, errOut := runCLI(t, "pub", "-url", srv.URL, "/service/echo", "--", "-1")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var reply bayeux.Message
	if err := json.Unmarshal([]byte(out), &reply); err != nil || string(reply.Data) != "-1" {
		t.Errorf("pub printed %q, want the reply with data -1", out)
	}
}

func TestPubDenied(t *testing.T) {
	srv := newServer(t, bayeuxtest.WithExtension(bayeuxtest.ExtensionFuncs{In: func(m *bayeux.Message) {
		if m.Channel == "/admin" {
			m.Error = "403::Publish denied"
		}
	}}))
	code, out, errOut := runCLI(t, "pub", "-url", srv.URL, "/admin", `"x"`)
	if code != 1 || !strings.Contains(out, `"error":"403::Publish denied"`) {
		t.Errorf("exit %d, stdout %q; want 1 and the reply", code, out)
	}
	if !strings.HasPrefix(errOut, "bayeux: publish to /admin: ") || strings.Count(errOut, "bayeux:") != 1 {
		t.Errorf("stderr %q, want one error line with one prefix", errOut)
	}
}

func TestTransportRefused(t *testing.T) {
	srv := newServer(t)
	srv.RefuseWebSocket(true)
	code, _, errOut := runCLI(t, "pub", "-url", srv.URL, "-transport", "websocket", "/a", "1")
	if code != 1 || !strings.Contains(errOut, "the server refused transport websocket (try -transport auto)") {
		t.Errorf("exit %d, stderr %q", code, errOut)
	}
	code, _, errOut = runCLI(t, "pub", "-v", "-url", srv.URL, "-transport", "auto", "/a", "1")
	if code != 0 || !strings.Contains(errOut, "bayeux: connected over long-polling") {
		t.Errorf("auto: exit %d, stderr %q", code, errOut)
	}
	code, _, errOut = runCLI(t, "pub", "-url", "http://127.0.0.1:1/bayeux", "-connect-timeout", "300ms", "/a", "1")
	if code != 1 || !strings.Contains(errOut, "could not connect to http://127.0.0.1:1/bayeux within 300ms") {
		t.Errorf("unreachable: exit %d, stderr %q", code, errOut)
	}
}

// TestHeaderAndExt puts a proxy that records headers in front of the
// server: -header reaches every HTTP request and the websocket upgrade, and
// -ext every message.
func TestHeaderAndExt(t *testing.T) {
	var exts sync.Map // channel -> ext
	srv := newServer(t, bayeuxtest.WithExtension(bayeuxtest.ExtensionFuncs{In: func(m *bayeux.Message) {
		exts.Store(m.Channel, fmt.Sprint(m.Ext))
	}}))
	target, _ := url.Parse(srv.URL)
	var mu sync.Mutex
	var missing []string
	seen := 0
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen++
		if r.Header.Get("Authorization") != "Bearer T" || len(r.Header.Values("X-Two")) != 2 {
			missing = append(missing, r.Method+" "+r.Header.Get("Upgrade"))
		}
		mu.Unlock()
		(&httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) { pr.SetURL(target); pr.Out.URL.Path = r.URL.Path }}).ServeHTTP(w, r)
	}))
	defer proxy.Close()
	for _, tr := range []string{"websocket", "long-polling", "callback-polling"} {
		code, _, errOut := runCLI(t, "pub", "-url", proxy.URL+target.Path, "-transport", tr,
			"-header", "Authorization: Bearer T", "-header", "X-Two:1", "-header", "X-Two:2",
			"-ext", `{"token":"abc"}`, "/ext/"+strings.ReplaceAll(tr, "-", ""), `"x"`)
		if code != 0 {
			t.Fatalf("%s: exit %d: %s", tr, code, errOut)
		}
	}
	proxy.CloseClientConnections()
	mu.Lock()
	defer mu.Unlock()
	if seen < 6 || len(missing) > 0 {
		t.Errorf("%d requests, without the headers: %q", seen, missing)
	}
	for _, ch := range []bayeux.Channel{bayeux.MetaHandshake, bayeux.MetaConnect, bayeux.MetaDisconnect, "/ext/websocket", "/ext/longpolling", "/ext/callbackpolling"} {
		if v, _ := exts.Load(ch); v != "map[token:abc]" {
			t.Errorf("ext of %s = %v", ch, v)
		}
	}
}

// TestSubVerbose checks that -v reports the transport, each confirmed
// subscription and the recovery of a lost session.
func TestSubVerbose(t *testing.T) {
	srv := newServer(t)
	ctx := testContext(t)
	sub := start(t, "sub", "-v", "-url", srv.URL, "/a", "/b/**")
	sub.stderr.waitFor(t, "bayeux: connected over websocket, clientId ")
	sub.stderr.waitFor(t, "bayeux: subscribed to /a")
	sub.stderr.waitFor(t, "bayeux: subscribed to /b/**")
	srv.ExpireAllSessions()
	sub.stderr.waitFor(t, "bayeux: session lost (")
	sub.stderr.waitFor(t, "bayeux: reconnected over websocket")
	if err := srv.WaitFor(ctx, func(s *bayeuxtest.Server) bool { return s.Subscribers("/a") == 1 && s.Subscribers("/b/**") == 1 }); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for strings.Count(sub.stderr.String(), "subscribed to /b/**") < 2 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := strings.Count(sub.stderr.String(), "subscribed to /b/**"); n != 2 {
		t.Errorf("%d subscription confirmations for /b/**, want 2:\n%s", n, sub.stderr)
	}
	if code := sub.signal(os.Interrupt); code != 0 || !disconnected(srv) {
		t.Errorf("exit %d, disconnected %v", code, disconnected(srv))
	}
}

// startPiped starts the binary with args, its stdout a pipe nobody reads
// until the test does, its stderr a lineBuffer; the process is killed when
// the test ends, if it still runs.
func startPiped(t *testing.T, args ...string) (*exec.Cmd, io.ReadCloser, *lineBuffer) {
	t.Helper()
	cmd := binaryCmd(args...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr := &lineBuffer{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	return cmd, stdout, stderr
}

// TestSubDrops makes stdout slower than the messages: sub reports the drops
// on stderr.
func TestSubDrops(t *testing.T) {
	srv := newServer(t)
	ctx := testContext(t)
	cmd, stdout, stderr := startPiped(t, "sub", "-url", srv.URL, "-transport", "long-polling", "-queue", "1", "/flood")
	if err := srv.WaitSubscribed(ctx, "/flood"); err != nil {
		t.Fatal(err)
	}
	// Nobody reads stdout: once the pipe is full, the handler blocks and
	// the queue of one overflows.
	big := strings.Repeat("x", 8<<10)
	for i := 0; i < 200 && !strings.Contains(stderr.String(), "dropped"); i++ {
		if err := srv.Publish("/flood", big); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Millisecond)
	}
	stderr.waitFor(t, "bayeux: dropped ")
	stderr.waitFor(t, "message(s) on /flood: stdout is slower than the messages arrive (raise -queue)")
	go func() { _, _ = io.Copy(io.Discard, stdout) }()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Errorf("sub: %v\n%s", err, stderr.String())
	}
	if !strings.Contains(stderr.String(), "message(s) dropped in all") {
		t.Errorf("no total of drops:\n%s", stderr.String())
	}
}

// TestSubReplayWaitsForStdout makes stdout slower than a replayed backlog:
// with --replay, sub waits for stdout (backpressure) instead of dropping,
// and every event is printed.
func TestSubReplayWaitsForStdout(t *testing.T) {
	srv := newServer(t, bayeuxtest.WithReplay(0))
	ctx := testContext(t)
	const n = 300
	big := strings.Repeat("x", 8<<10)
	for range n {
		if _, err := srv.PublishEvent("/flood", big); err != nil {
			t.Fatal(err)
		}
	}
	cmd, stdout, stderr := startPiped(t, "sub", "-url", srv.URL, "-transport", "long-polling", "-queue", "1", "--replay", "-2", "/flood")
	if err := srv.WaitSubscribed(ctx, "/flood"); err != nil {
		t.Fatal(err)
	}
	// Nobody reads stdout for a while: the pipe fills, the handler blocks.
	time.Sleep(300 * time.Millisecond)
	var lines atomic.Int64
	go func() {
		sc := bufio.NewScanner(stdout)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			lines.Add(1)
		}
	}()
	for lines.Load() < n && !strings.Contains(stderr.String(), "dropped") && ctx.Err() == nil {
		time.Sleep(10 * time.Millisecond)
	}
	if lines.Load() != n || strings.Contains(stderr.String(), "dropped") {
		t.Fatalf("printed %d of %d replayed events; stderr:\n%s", lines.Load(), n, stderr.String())
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Errorf("sub: %v\n%s", err, stderr.String())
	}
}

func TestServe(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:0", "127.0.0.1:0", ":0"} {
		srv := start(t, "serve", "-addr", addr, "-path", "/cometd")
		srv.stdout.waitFor(t, "\n")
		first, _, _ := strings.Cut(srv.stdout.String(), "\n")
		i := strings.Index(first, "http://")
		if i < 0 || !strings.HasPrefix(first[i:], "http://127.0.0.1:") || !strings.HasSuffix(first, "/cometd") {
			t.Fatalf("serve -addr %s printed %q, want a URL on 127.0.0.1", addr, first)
		}
		u := first[i:]
		code, out, errOut := runCLI(t, "pub", "-url", u, "/service/echo", `{"hello":"serve"}`)
		if code != 0 || !strings.Contains(out, `"data":{"hello":"serve"}`) {
			t.Errorf("pub against serve: exit %d, %s %s", code, out, errOut)
		}
		if code := srv.signal(os.Interrupt); code != 0 {
			t.Errorf("serve exit %d: %s", code, srv.stderr)
		}
	}
}

// TestServeCookieBinding: serve -cookie-binding binds sessions to their
// cookie and advises multiple-clients, so the two cases serve warns on
// without it pass, and a client with a cookie jar works against it.
func TestServeCookieBinding(t *testing.T) {
	for _, binding := range []bool{false, true} {
		args := []string{"serve", "-addr", "127.0.0.1:0"}
		if binding {
			args = append(args, "-cookie-binding")
		}
		srv := start(t, args...)
		srv.stdout.waitFor(t, "\n")
		first, _, _ := strings.Cut(srv.stdout.String(), "\n")
		u := first[strings.Index(first, "http://"):]
		code, out, errOut := runCLI(t, "conformance", "--case=session.hijack,session.multiple-clients", u)
		want, status := 0, "PASS  "
		if !binding {
			status = "WARN  "
		}
		if code != want || strings.Count(out, status) != 2 {
			t.Errorf("serve -cookie-binding=%v: conformance exit %d, want %d and both cases %s:\n%s%s", binding, code, want, status, out, errOut)
		}
		code, out, errOut = runCLI(t, "pub", "-url", u, "/service/echo", `"hi"`)
		if code != 0 || !strings.Contains(out, `"data":"hi"`) {
			t.Errorf("pub against serve -cookie-binding=%v: exit %d, %s %s", binding, code, out, errOut)
		}
		if code := srv.signal(os.Interrupt); code != 0 {
			t.Errorf("serve exit %d: %s", code, srv.stderr)
		}
	}
}

func TestReachableURL(t *testing.T) {
	for _, tc := range []struct{ asked, listening, want string }{
		{"0.0.0.0:8098", "[::]:8098", "http://127.0.0.1:8098/bayeux"},
		{":8098", "[::]:8098", "http://127.0.0.1:8098/bayeux"},
		{"[::]:8098", "[::]:8098", "http://localhost:8098/bayeux"},
		{"[::1]:8098", "[::1]:8098", "http://[::1]:8098/bayeux"},
		{"192.0.2.1:80", "192.0.2.1:80", "http://192.0.2.1:80/bayeux"},
	} {
		ln, _ := net.ResolveTCPAddr("tcp", tc.listening)
		if got := reachableURL(tc.asked, ln, "http://"+tc.listening+"/bayeux"); got != tc.want {
			t.Errorf("reachableURL(%s, %s) = %s, want %s", tc.asked, tc.listening, got, tc.want)
		}
	}
}

func TestDemo(t *testing.T) {
	code, out, errOut := runCLI(t, "demo")
	if code != 0 {
		t.Fatalf("demo: exit %d: %s\n%s", code, errOut, out)
	}
	for _, want := range []string{
		"alice uses websocket, bob uses long-polling",
		`bob received on /chat/general: "hello from alice on /chat/general"`,
		`bob received on /chat/go/generics`,
		"alice called /service/time",
		"[bob] connected -> rehandshaking",
		"done",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("demo output lacks %q:\n%s", want, out)
		}
	}
}

// TestStatusOnTerminal runs sub in the process with a terminal for stderr:
// the status line is shown without -v.
func TestStatusOnTerminal(t *testing.T) {
	srv := newServer(t)
	ctx, cancel := context.WithCancel(testContext(t))
	stderr := &lineBuffer{}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, &env{stdout: io.Discard, stderr: stderr, stderrTTY: true}, []string{"sub", "-url", srv.URL, "/tty"})
	}()
	stderr.waitFor(t, "bayeux: subscribed to /tty (Ctrl-C to stop)")
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"bayeux: connecting to " + srv.URL, "bayeux: connected over websocket", "bayeux: disconnecting"} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("status lacks %q:\n%s", want, stderr)
		}
	}
}

// TestServeReplay runs serve --replay: messages published with pub get
// replay ids and are kept, sub --replay -2 prints them all, sub --replay ID
// those after ID, and a server without the log is reported.
func TestServeReplay(t *testing.T) {
	srv := start(t, "serve", "-addr", "127.0.0.1:0", "--replay=1h")
	srv.stdout.waitFor(t, "replay log on")
	first, _, _ := strings.Cut(srv.stdout.String(), "\n")
	u := first[strings.Index(first, "http://"):]
	if !strings.Contains(srv.stdout.String(), "kept for 1h;") {
		t.Errorf("serve --replay=1h printed:\n%s", srv.stdout)
	}
	publish := func(n int) {
		t.Helper()
		if code, out, errOut := runCLI(t, "pub", "-url", u, "/chat/general", fmt.Sprintf(`{"n":%d}`, n)); code != 0 {
			t.Fatalf("pub: exit %d: %s %s", code, out, errOut)
		}
	}
	// events returns the replay id and payload n of each line sub printed.
	events := func(out string) [][2]int {
		t.Helper()
		var got [][2]int
		for l := range strings.Lines(out) {
			var m struct {
				Data struct {
					Event   struct{ ReplayID int }
					Payload struct{ N int }
				}
			}
			if err := json.Unmarshal([]byte(l), &m); err != nil {
				t.Fatalf("sub printed %q: %v", l, err)
			}
			got = append(got, [2]int{m.Data.Event.ReplayID, m.Data.Payload.N})
		}
		return got
	}
	publish(1)
	publish(2)

	all := start(t, "sub", "-url", u, "--replay", "-2", "/chat/general", "-transport", "long-polling")
	from1 := start(t, "sub", "-url", u, "/chat/general", "--replay", "1")
	for _, p := range []*proc{all, from1} {
		p.stdout.waitFor(t, `"payload":{"n":2}}}`)
	}
	publish(3)
	for _, p := range []*proc{all, from1} {
		p.stdout.waitFor(t, `"payload":{"n":3}}}`)
		if code := p.signal(os.Interrupt); code != 0 {
			t.Errorf("sub exit %d: %s", code, p.stderr)
		}
	}
	if got := fmt.Sprint(events(all.stdout.String())); got != "[[1 1] [2 2] [3 3]]" {
		t.Errorf("sub --replay -2 printed (replay id, n) %s, want [[1 1] [2 2] [3 3]]", got)
	}
	if got := fmt.Sprint(events(from1.stdout.String())); got != "[[2 2] [3 3]]" {
		t.Errorf("sub --replay 1 printed (replay id, n) %s, want [[2 2] [3 3]]", got)
	}
	if code := srv.signal(os.Interrupt); code != 0 {
		t.Errorf("serve exit %d: %s", code, srv.stderr)
	}

	plain := newServer(t)
	p := start(t, "sub", "-url", plain.URL, "--replay", "-2", "/chat/general")
	p.stderr.waitFor(t, "the server did not agree to replay")
	if code := p.signal(os.Interrupt); code != 0 {
		t.Errorf("sub exit %d: %s", code, p.stderr)
	}
}

// Nothing listening: -connect-timeout is how long the command keeps
// trying (beyond the library's 5 s default), it says once that it
// retries, whatever the terminal, and the failure is one line with its
// cause and "bayeux:" once.
func TestConnectTimeoutIsHonoured(t *testing.T) {
	t.Parallel()
	start := time.Now()
	code, _, errOut := runCLI(t, "pub", "-url", "http://127.0.0.1:1/bayeux", "-connect-timeout", "6s", "/a", "1")
	took := time.Since(start)
	lines := strings.Split(strings.TrimSpace(errOut), "\n")
	if code != 1 || len(lines) != 2 {
		t.Fatalf("exit %d, stderr %q: want 1 and two lines", code, errOut)
	}
	if !strings.Contains(lines[0], "cannot reach http://127.0.0.1:1/bayeux yet") || !strings.Contains(lines[0], "retrying for up to 6s") {
		t.Errorf("first line %q: want the retry notice", lines[0])
	}
	if !strings.Contains(lines[1], "within 6s (-connect-timeout)") || !strings.Contains(lines[1], "connection refused") {
		t.Errorf("last line %q: want the timeout and the cause", lines[1])
	}
	for _, l := range lines {
		if !strings.HasPrefix(l, "bayeux: ") || strings.Contains(l[len("bayeux: "):], " bayeux: ") || strings.Contains(l, "bayeux: bayeux:") {
			t.Errorf("line %q: want one bayeux: prefix", l)
		}
	}
	if took < 5500*time.Millisecond {
		t.Errorf("gave up after %v, before -connect-timeout 6s", took)
	}
}

// An https:// URL on a plain HTTP server never heals: the command fails at
// once, saying why, in one line.
func TestTLSMismatchFailsAtOnce(t *testing.T) {
	srv := newServer(t)
	u := strings.Replace(srv.URL, "http://", "https://", 1)
	start := time.Now()
	code, _, errOut := runCLI(t, "pub", "-url", u, "/a", "1")
	lines := strings.Split(strings.TrimSpace(errOut), "\n")
	if code != 1 || len(lines) != 1 || time.Since(start) > 5*time.Second {
		t.Fatalf("exit %d after %v, stderr %q: want 1, at once, one line", code, time.Since(start), errOut)
	}
	if !strings.Contains(errOut, "HTTPS") && !strings.Contains(errOut, "TLS") {
		t.Errorf("stderr %q does not say it is a TLS mismatch", errOut)
	}
}

// With -v a lost session is told once: one progress line, not the line,
// the client's log record and the error again.
func TestSubVerboseTellsALossOnce(t *testing.T) {
	srv := newServer(t)
	sub := start(t, "sub", "-v", "-url", srv.URL, "/a")
	sub.stderr.waitFor(t, "bayeux: subscribed to /a")
	srv.ExpireAllSessions()
	sub.stderr.waitFor(t, "bayeux: reconnected over websocket")
	out := sub.stderr.String()
	if n := strings.Count(out, "402"); n != 1 {
		t.Errorf("the server's unknown-client answer is told %d times, want once:\n%s", n, out)
	}
	if strings.Contains(out, "bayeux: bayeux:") || strings.Contains(out, "request failed; retrying") {
		t.Errorf("duplicate report:\n%s", out)
	}
	if code := sub.signal(os.Interrupt); code != 0 {
		t.Errorf("exit %d", code)
	}
}

// version, -version and --version print the build's version.
func TestVersion(t *testing.T) {
	for _, arg := range []string{"version", "-version", "--version"} {
		code, out, errOut := runCLI(t, arg)
		if code != 0 || !strings.HasPrefix(out, "bayeux ") || !strings.Contains(out, "go1.") {
			t.Errorf("%s: exit %d, stdout %q, stderr %q", arg, code, out, errOut)
		}
	}
}

// Usage and input errors exit 2 with a message saying what is wanted;
// failures at run time exit 1.
func TestUsageErrorsExit2(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"pub", "/chat/*", "1"}, "cannot publish to the pattern /chat/*"},
		{[]string{"pub", "/meta/connect", "1"}, "cannot publish to /meta/connect"},
		{[]string{"pub", "-url", "notaurl", "/a", "1"}, `-url "notaurl": want an absolute http:// or https:// URL`},
		{[]string{"sub", "/meta/connect"}, "/meta/connect is a /meta/ channel"},
		{[]string{"serve", "--replay=banana"}, `invalid value "banana" for -replay`},
		{[]string{"serve", "extra-arg"}, "want no arguments"},
		{[]string{"bench", "-transport", "callback-polling"}, "bench supports websocket and long-polling"},
		{[]string{"sub", "--format", "yaml", "/a"}, "flag provided but not defined: -format"},
	} {
		code, _, errOut := runCLI(t, tt.args...)
		if code != 2 || !strings.Contains(errOut, tt.want) || strings.Contains(errOut, "boolean") {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", tt.args, code, errOut, tt.want)
		}
	}
	// A failure at run time: 1.
	if code, _, errOut := runCLI(t, "pub", "-url", "http://127.0.0.1:1/bayeux", "-connect-timeout", "300ms", "/a", "1"); code != 1 {
		t.Errorf("unreachable server: exit %d, stderr %q; want 1", code, errOut)
	}
}
