package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/bayeux-go/sdk/conformance"
)

// errMustFailed is returned when the server broke a MUST rule.
var errMustFailed = errors.New("the server broke MUST rules")

// The exit statuses of bayeux conformance (2 is a usage error, as for
// every command).
const (
	exitMustBroken  = 1
	exitUnreachable = 3
	exitSecurity    = 4
)

// exitError is an error with an exit status of its own.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// listFlag collects a repeatable, comma-separated flag.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }

func (l *listFlag) Set(v string) error {
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			*l = append(*l, s)
		}
	}
	return nil
}

func init() {
	register(&command{
		name:    "conformance",
		args:    "URL",
		summary: "check a Bayeux server against the specification, case by case",
		about: `Run the Bayeux server conformance suite against URL (http:// or https://;
websocket cases use ws:// or wss:// on the same path) and print, per case,
pass, fail, warn or skip, the rule, and what the server did, then a summary
by level. A broken MUST or security rule fails; a broken SHOULD, MAY or
convention rule warns. A request that fails on a reused kept-alive
connection before any byte of its answer is sent again once on a fresh
connection (the evidence says so); -keepalive=false uses a connection per
request. When the server stops answering during the run, the report names
the case after which it did, and the cases that could not run are skipped.
With -list, print the cases and exit (no URL needed).

Exit status: 0 no MUST or security rule broken; 1 a MUST rule broken;
2 a usage error (an unknown flag, -case, -transport or -format); 3 the
server cannot be reached, or died during the run; 4 a security finding
(such as a JSONP callback echoed unescaped), whatever the MUST count.`,
		example: `bayeux conformance http://127.0.0.1:8080/bayeux
bayeux conformance -transport websocket -format junit http://127.0.0.1:8000/faye > report.xml
bayeux conformance -list`,
		minArgs: 0, maxArgs: 1,
		flags: func(fs *flag.FlagSet) func(context.Context, *env, []string) error {
			var o conformanceFlags
			fs.Var(&o.transports, "transport", "connection types to test (long-polling, callback-polling, websocket; repeatable or comma-separated; default all)")
			fs.Var(&o.cases, "case", "cases to run: an id, a prefix such as connect.* or a section name (repeatable or comma-separated; default all)")
			fs.StringVar(&o.format, "format", "text", "output format: text, json or junit")
			fs.IntVar(&o.parallel, "parallel", 8, "how many cases run at once")
			fs.DurationVar(&o.maxWait, "max-wait", 15*time.Second, "longest wait for a server-paced event (a held connect, a session expiry)")
			fs.BoolVar(&o.list, "list", false, "list the cases and exit")
			fs.BoolVar(&o.keepAlive, "keepalive", true, "reuse kept-alive HTTP connections (false: one connection per request)")
			return func(ctx context.Context, e *env, args []string) error {
				if len(args) == 1 {
					o.url = args[0]
				}
				return runConformance(ctx, e, o)
			}
		},
	})
}

// conformanceFlags are the flags and argument of the conformance command.
type conformanceFlags struct {
	transports, cases listFlag
	format            string
	parallel          int
	maxWait           time.Duration
	list              bool
	keepAlive         bool
	url               string
}

// runConformance is the conformance command.
func runConformance(ctx context.Context, e *env, o conformanceFlags) error {
	stdout, stderr := e.stdout, e.stderr
	transports, cases, format, parallel, maxWait, list, url := o.transports, o.cases, &o.format, &o.parallel, &o.maxWait, &o.list, o.url
	if *list {
		for _, c := range conformance.Cases() {
			fmt.Fprintf(stdout, "%-34s %-10s %s\n", c.ID, c.Level, c.Rule)
		}
		return nil
	}
	if url == "" {
		return &usageError{cmd: "conformance", msg: "missing arguments: want URL"}
	}
	write := map[string]func(*conformance.Report, io.Writer) error{
		"text": (*conformance.Report).WriteText, "json": (*conformance.Report).WriteJSON, "junit": (*conformance.Report).WriteJUnit,
	}[*format]
	if write == nil {
		return &usageError{cmd: "conformance", msg: fmt.Sprintf("unknown format %q: want text, json or junit", *format)}
	}
	for _, p := range cases {
		if !conformance.Selects(p) {
			return &usageError{cmd: "conformance", msg: fmt.Sprintf("-case %q selects no case (see bayeux conformance -list)", p)}
		}
	}
	for _, tr := range transports {
		if tr != conformance.LongPolling && tr != conformance.CallbackPolling && tr != conformance.WebSocket {
			return &usageError{cmd: "conformance", msg: fmt.Sprintf("unknown transport %q: want long-polling, callback-polling or websocket", tr)}
		}
	}
	opts := []conformance.Option{conformance.WithParallel(*parallel), conformance.WithMaxWait(*maxWait),
		conformance.WithKeepAlive(o.keepAlive)}
	if len(transports) > 0 {
		opts = append(opts, conformance.WithTransports(transports...))
	}
	if len(cases) > 0 {
		opts = append(opts, conformance.WithCases(cases...))
	}
	if e.stderrTTY {
		opts = append(opts, conformance.WithProgress(func(done, total int, r conformance.Result) {
			fmt.Fprintf(stderr, "\r\033[K[%3d/%d] %-4s %s", done, total, r.Status, r.ID)
		}))
	}
	rep, err := conformance.Run(ctx, url, opts...)
	if e.stderrTTY {
		// The report starts on a line of its own.
		fmt.Fprint(stderr, "\r\033[K")
	}
	if err != nil {
		return &exitError{code: exitUnreachable, err: err}
	}
	if err := write(rep, stdout); err != nil {
		return err
	}
	switch {
	case rep.DiedAfter != "":
		return &exitError{code: exitUnreachable, err: fmt.Errorf("the server stopped answering after case %s", rep.DiedAfter)}
	case !rep.Secure():
		return &exitError{code: exitSecurity, err: errors.New("security findings: see the report")}
	case !rep.Passed():
		return &exitError{code: exitMustBroken, err: fmt.Errorf("%w: %s", errMustFailed, strings.Join(rep.With(conformance.Fail), ", "))}
	}
	return nil
}
