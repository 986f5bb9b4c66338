// Command bayeux is the command line of the Go Bayeux SDK: a demo, an
// embedded server to try things against, and a client that subscribes and
// publishes.
//
//	bayeux serve                                      serve on http://127.0.0.1:8080/bayeux
//	bayeux sub -url http://127.0.0.1:8080/bayeux '/chat/**'
//	bayeux pub -url http://127.0.0.1:8080/bayeux /chat/general '"hello"'
//
// "bayeux help" lists the commands and "bayeux <command> -h" explains one,
// with its arguments and an example. Flags may come before or after the
// arguments; "--" ends the flags (for a JSON argument such as -1).
//
// sub prints each message as a JSON line on stdout; pub prints the server's
// reply as a JSON line. Progress (the status line) goes to stderr when it
// is a terminal, or always with -v. SIGINT and SIGTERM end a command
// cleanly: the client sends /meta/disconnect before exiting.
//
// Exit status: 0 on success, 1 on a failure at run time (the server
// cannot be reached, refuses a request, ...), 2 on a usage or input error
// (an unknown command or flag, a bad flag value, an invalid channel or
// JSON argument). "bayeux version" prints the build's version.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	env := &env{stdout: os.Stdout, stderr: os.Stderr, stderrTTY: isTerminal(os.Stderr)}
	err := run(ctx, env, os.Args[1:])
	stop()
	os.Exit(exitCode(env.stderr, err))
}

// env is what a command writes to.
type env struct {
	stdout, stderr io.Writer
	// stderrTTY reports whether stderr is a terminal: the status line is
	// written there only then (or with -v).
	stderrTTY bool
}

// exitCode prints err, if any, with one "bayeux:" prefix and returns the
// exit status.
func exitCode(stderr io.Writer, err error) int {
	if err == nil {
		return 0
	}
	fmt.Fprintln(stderr, errorLine(err))
	var ue *usageError
	if errors.As(err, &ue) {
		return 2
	}
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	return 1
}

// errorLine formats err for the terminal: the library's errors start with
// "bayeux: " and wrap one another, so the prefix is kept once.
func errorLine(err error) string {
	s := strings.ReplaceAll(err.Error(), ": bayeux: ", ": ")
	s = strings.TrimPrefix(s, "bayeux: ")
	return "bayeux: " + s
}

// usageError is a mistake in the command line.
type usageError struct {
	cmd string // the command, "" for the top level
	msg string
}

func (e *usageError) Error() string {
	if e.cmd == "" {
		return e.msg + " (run 'bayeux help')"
	}
	return e.cmd + ": " + e.msg + " (run 'bayeux " + e.cmd + " -h')"
}

func run(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 {
		printUsage(e.stderr)
		return &usageError{msg: "no command"}
	}
	name := args[0]
	switch name {
	case "-version", "--version":
		name = "version"
	case "help", "-h", "-help", "--help":
		if len(args) > 1 {
			if c := lookup(args[1]); c != nil {
				return c.help(e.stdout)
			}
			return &usageError{msg: fmt.Sprintf("unknown command %q", args[1])}
		}
		printUsage(e.stdout)
		return nil
	}
	c := lookup(name)
	if c == nil {
		printUsage(e.stderr)
		return &usageError{msg: fmt.Sprintf("unknown command %q", name)}
	}
	return c.run(ctx, e, args[1:])
}
