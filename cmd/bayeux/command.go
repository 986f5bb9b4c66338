package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
)

// command is one subcommand. Each lives in its own file and adds itself to
// the table with register, from an init function.
type command struct {
	name    string
	args    string // synopsis of the arguments, e.g. "CHANNEL..."
	summary string // one line, for the list of commands
	about   string // what the command does, for its -h
	example string // one or more example command lines
	// minArgs and maxArgs bound the number of arguments (maxArgs < 0: no
	// bound).
	minArgs, maxArgs int
	// flags defines the command's flags on fs and returns the function that
	// runs it with the arguments once the flags are parsed.
	flags func(fs *flag.FlagSet) func(ctx context.Context, e *env, args []string) error
}

// commands is the table of subcommands, sorted by name.
var commands []*command

func register(c *command) {
	commands = append(commands, c)
	slices.SortFunc(commands, func(a, b *command) int { return strings.Compare(a.name, b.name) })
}

func lookup(name string) *command {
	for _, c := range commands {
		if c.name == name {
			return c
		}
	}
	return nil
}

func printUsage(w io.Writer) {
	fmt.Fprint(w, "usage: bayeux <command> [flags] [arguments]\n\ncommands:\n")
	for _, c := range commands {
		fmt.Fprintf(w, "  %-12s %s\n", c.name, c.summary)
	}
	fmt.Fprint(w, "\nRun 'bayeux <command> -h' for a command's arguments, flags and an example.\n")
	fmt.Fprint(w, "Exit status: 0 success, 1 a failure at run time, 2 a usage or input error\n(bayeux conformance has its own; see its -h).\n")
}

// help writes the command's usage to w.
func (c *command) help(w io.Writer) error {
	fs := flag.NewFlagSet(c.name, flag.ContinueOnError)
	c.flags(fs)
	c.writeHelp(w, fs)
	return nil
}

func (c *command) writeHelp(w io.Writer, fs *flag.FlagSet) {
	fmt.Fprintf(w, "usage: bayeux %s [flags]", c.name)
	if c.args != "" {
		fmt.Fprint(w, " "+c.args)
	}
	fmt.Fprintf(w, "\n\n%s\n", strings.TrimSpace(c.about))
	if c.example != "" {
		fmt.Fprintf(w, "\nexample:\n")
		for _, l := range strings.Split(strings.TrimSpace(c.example), "\n") {
			fmt.Fprintf(w, "  %s\n", l)
		}
	}
	n := 0
	fs.VisitAll(func(*flag.Flag) { n++ })
	if n > 0 {
		fmt.Fprint(w, "\nflags (before or after the arguments; -- ends them):\n")
		fs.SetOutput(w)
		fs.PrintDefaults()
		fs.SetOutput(io.Discard)
	}
}

// run parses the command's flags and arguments and runs it.
func (c *command) run(ctx context.Context, e *env, args []string) error {
	fs := flag.NewFlagSet(c.name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	exec := c.flags(fs)
	pos, err := parseInterspersed(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		c.writeHelp(e.stdout, fs)
		return nil
	}
	if err != nil {
		// The flag package calls any flag that may stand alone (-replay)
		// boolean in its messages.
		msg := strings.Replace(err.Error(), "invalid boolean value", "invalid value", 1)
		return &usageError{cmd: c.name, msg: msg}
	}
	want := c.args
	if want == "" {
		want = "no arguments"
	}
	switch {
	case len(pos) < c.minArgs:
		return &usageError{cmd: c.name, msg: "missing arguments: want " + want}
	case c.maxArgs >= 0 && len(pos) > c.maxArgs:
		return &usageError{cmd: c.name, msg: fmt.Sprintf("too many arguments %q: want %s", pos, want)}
	}
	return exec(ctx, e, pos)
}

// parseInterspersed parses flags wherever they are among the arguments
// (the flag package stops at the first argument) and returns the
// arguments. Everything after "--" is an argument.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if consumed := len(args) - len(rest); consumed > 0 && args[consumed-1] == "--" {
			return append(pos, rest...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}
