package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/bayeux-go/sdk/conformance"
)

const conformanceUsage = `usage: bayeux conformance URL [--transport T]... [--case ID]... [--format text|json|junit]

Runs the Bayeux server conformance suite against URL (http:// or https://;
websocket cases use ws:// or wss:// on the same path) and prints, per case,
pass, fail, warn or skip, the rule, and what the server did, then a summary
by level. A broken MUST rule fails; a broken SHOULD, MAY or convention rule
warns. The exit status is 1 when a MUST rule is broken.

flags:
`

// errMustFailed is returned when the server broke a MUST rule.
var errMustFailed = errors.New("the server broke MUST rules")

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

// runConformance is the conformance command.
func runConformance(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("conformance", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, conformanceUsage)
		fs.PrintDefaults()
	}
	var transports, cases listFlag
	fs.Var(&transports, "transport", "connection types to test (long-polling, callback-polling, websocket; repeatable or comma-separated; default all)")
	fs.Var(&cases, "case", "cases to run: an id, a prefix such as connect.* or a section name (repeatable or comma-separated; default all)")
	format := fs.String("format", "text", "output format: text, json or junit")
	parallel := fs.Int("parallel", 8, "how many cases run at once")
	maxWait := fs.Duration("max-wait", 15*time.Second, "longest wait for a server-paced event (a held connect, a session expiry)")
	list := fs.Bool("list", false, "list the cases and exit")
	var url string
	for len(args) > 0 {
		if err := fs.Parse(args); err != nil {
			return err
		}
		args = fs.Args()
		if len(args) > 0 {
			if url != "" {
				return fmt.Errorf("conformance: one URL only (got %q and %q)", url, args[0])
			}
			url, args = args[0], args[1:]
		}
	}
	if *list {
		for _, c := range conformance.Cases() {
			fmt.Fprintf(stdout, "%-34s %-10s %s\n", c.ID, c.Level, c.Rule)
		}
		return nil
	}
	if url == "" {
		fs.Usage()
		return errors.New("conformance: no URL")
	}
	write := map[string]func(*conformance.Report, io.Writer) error{
		"text": (*conformance.Report).WriteText, "json": (*conformance.Report).WriteJSON, "junit": (*conformance.Report).WriteJUnit,
	}[*format]
	if write == nil {
		return fmt.Errorf("conformance: unknown format %q (text, json or junit)", *format)
	}
	opts := []conformance.Option{conformance.WithParallel(*parallel), conformance.WithMaxWait(*maxWait)}
	if len(transports) > 0 {
		opts = append(opts, conformance.WithTransports(transports...))
	}
	if len(cases) > 0 {
		opts = append(opts, conformance.WithCases(cases...))
	}
	if isTerminal(stderr) {
		opts = append(opts, conformance.WithProgress(func(done, total int, r conformance.Result) {
			fmt.Fprintf(stderr, "\r\033[K[%3d/%d] %-4s %s", done, total, r.Status, r.ID)
		}))
		defer fmt.Fprint(stderr, "\r\033[K")
	}
	rep, err := conformance.Run(ctx, url, opts...)
	if err != nil {
		return err
	}
	if err := write(rep, stdout); err != nil {
		return err
	}
	if !rep.Passed() {
		return fmt.Errorf("%w: %s", errMustFailed, strings.Join(rep.With(conformance.Fail), ", "))
	}
	return nil
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
