package main

import (
	"context"
	"flag"
	"fmt"
	"runtime/debug"
)

func init() {
	register(&command{
		name:    "version",
		summary: "print the SDK's module version and the VCS revision it was built from",
		about: "version prints the module version of github.com/bayeux-go/sdk this command was built\n" +
			"from (\"(devel)\" in a clone), the VCS revision and time when the build recorded them,\n" +
			"and the Go version. 'bayeux -version' and 'bayeux --version' do the same.",
		example: "bayeux version",
		maxArgs: 0,
		flags: func(*flag.FlagSet) func(ctx context.Context, e *env, args []string) error {
			return func(_ context.Context, e *env, _ []string) error {
				fmt.Fprintln(e.stdout, versionLine())
				return nil
			}
		},
	})
}

// versionLine describes the build: "bayeux <module version> (<revision>[,
// modified], <time>) <go version>".
func versionLine() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "bayeux (no build information)"
	}
	var rev, at, modified string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.time":
			at = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				modified = ", modified"
			}
		}
	}
	line := "bayeux " + bi.Main.Version
	if rev != "" {
		line += " (" + rev + modified
		if at != "" {
			line += ", " + at
		}
		line += ")"
	}
	return line + " " + bi.GoVersion
}
