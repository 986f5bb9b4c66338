package interop

import (
	"context"
	"maps"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bayeux-go/sdk/conformance"
)

// rubyDeviations are the results (by Result.Name, as knownDeviations) Ruby
// Faye (the Debian package ruby-faye, 1.4) does not pass, with the status
// they get: the same under thin and under puma, but that thin dies on the
// POST of [1,2] and does not run the robustness cases after it.
// docs/conformance.md shows the evidence of each.
var rubyDeviations = map[string]conformance.Status{
	"fields.channel": conformance.Fail,
	"meta.service-not-broadcast [long-polling]":     conformance.Fail,
	"meta.service-not-broadcast [callback-polling]": conformance.Fail,
	"meta.service-not-broadcast [websocket]":        conformance.Fail,
	"handshake.batch-ignored":                       conformance.Fail,
	"websocket.handshake-batch-ignored [websocket]": conformance.Fail,
	"connect.superseded-reply":                      conformance.Fail,
	"robust.jsonp-injection [callback-polling]":     conformance.Fail,
	"connect.one-outstanding":                       conformance.Warn,
	"fields.message-id-grammar [long-polling]":      conformance.Warn,
	"fields.message-id-grammar [callback-polling]":  conformance.Warn,
	"fields.message-id-grammar [websocket]":         conformance.Warn,
	"handshake.browser-cookie":                      conformance.Warn,
	"connect.first-immediate":                       conformance.Warn,
	"connect.piggyback":                             conformance.Warn,
	"connect.batched-not-held":                      conformance.Warn,
	"session.unknown-publish [long-polling]":        conformance.Warn,
	"session.unknown-publish [callback-polling]":    conformance.Warn,
	"session.unknown-publish [websocket]":           conformance.Warn,
	"robust.jsonp-callback [callback-polling]":      conformance.Warn,
	"robust.oversized":                              conformance.Warn,
	"robust.not-messages":                           conformance.Warn,
}

// rubyDiedAfter is the case after which each server stops answering ("":
// it never does). Under thin, the POST of [1,2] raises in Faye's
// EventMachine reactor and ends the process; under puma it ends only
// Faye's reactor thread, which the next request starts again (the POST of
// [1,2] itself is never answered).
var rubyDiedAfter = map[string]string{"thin": "robust.not-messages", "puma": ""}

// abandonedConnect is the evidence of a held /meta/connect that Ruby Faye
// drops when a second connect of the session arrives: it forgets the
// first one's response callback, and under puma the hijacked socket it
// held is closed, without an answer, when Ruby collects it (an EOF of
// the server's making, on the first connect's own connection).
const abandonedConnect = "the first connect ended without an answer"

var (
	rubyOnce sync.Once
	rubyPath string
	rubyErr  string
)

// requireRuby skips the test unless BAYEUX_INTEROP=1, and when ruby or the
// faye, thin and puma gems are missing (Ruby Faye is optional: `make test`
// passes without it). It returns ruby's path.
func requireRuby(t *testing.T) string {
	t.Helper()
	if os.Getenv(interopEnv) != "1" {
		t.Skipf("interop tests are off; enable them with `make test` or %s=1 go test ./interop/", interopEnv)
	}
	rubyOnce.Do(func() {
		p, err := exec.LookPath("ruby")
		if err != nil {
			rubyErr = "Ruby Faye is not run: ruby is not on PATH; to run it under thin and puma install them (Debian: apt-get install ruby-faye thin puma)"
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), waitLong)
		defer cancel()
		out, err := exec.CommandContext(ctx, p, "-e", `require "faye"; require "thin"; require "puma"`).CombinedOutput()
		if err != nil {
			rubyErr = "Ruby Faye is not run: the faye, thin or puma gem is missing (" + strings.TrimSpace(string(out)) +
				"); install them (Debian: apt-get install ruby-faye thin puma)"
			return
		}
		rubyPath = p
	})
	if rubyErr != "" {
		t.Skip(rubyErr)
	}
	return rubyPath
}

// startRubyFaye runs server_faye.rb under server (thin or puma) on a free
// port of 127.0.0.1 and stops it when the test ends; it returns the
// Bayeux URL and the process.
func startRubyFaye(t *testing.T, server string) (string, *Process) {
	t.Helper()
	ruby := requireRuby(t)
	ctx, cancel := context.WithTimeout(context.Background(), waitLong)
	defer cancel()
	proc, err := StartServer(ctx, Command{Node: ruby, Script: "server_faye.rb", Args: []string{server, "0"},
		Env: []string{"FAYE_TIMEOUT=" + fayeTimeoutSeconds}})
	if err != nil {
		t.Fatalf("start Ruby Faye under %s: %v", server, err)
	}
	t.Cleanup(func() {
		proc.Stop()
		if t.Failed() || verbose {
			t.Logf("Ruby Faye (%s) stderr tail:\n%s", server, proc.Stderr())
		}
	})
	return "http://127.0.0.1:" + strconv.Itoa(proc.Port) + "/bayeux", proc
}

// TestRubyFayeConformance runs the conformance suite, keep-alive on,
// against Ruby Faye under thin and under puma, and compares what they do
// not pass, and whether and after which case they die, with the known
// deviations. No result may blame the server for the suite's own
// connection handling (puma closes each connection after its answer).
func TestRubyFayeConformance(t *testing.T) {
	for _, server := range []string{"thin", "puma"} {
		t.Run(server, func(t *testing.T) {
			t.Parallel()
			u, proc := startRubyFaye(t, server)
			// Under puma the POST of [1,2] is never answered: it runs out
			// the case's time, 15 s rather than the default 40 s.
			rep, err := conformance.Run(context.Background(), u, conformance.WithKeepAlive(true), conformance.WithCaseTimeout(15*time.Second))
			if err != nil {
				t.Fatal(err)
			}
			got := checkDeviations(t, rep, rubyDeviations, rubyIntermittentDeviations)
			for _, r := range rep.Results {
				if r.Status != conformance.Fail && r.Status != conformance.Warn {
					continue
				}
				// A closed kept-alive connection is the suite's to handle
				// (sent again once on a fresh one); an EOF is only the
				// server's when it died or dropped a held connect.
				if strings.Contains(r.Seen, "server closed idle connection") ||
					(strings.Contains(r.Seen, "EOF") && r.ID != rep.DiedAfter && !strings.Contains(r.Seen, abandonedConnect)) {
					t.Errorf("%s %s on the suite's connection handling: %s", r.Name(), r.Status, r.Seen)
				}
			}
			checkDeath(t, rep, rubyDiedAfter[server])
			if rubyDiedAfter[server] != "" {
				select {
				case <-proc.Done():
				case <-time.After(5 * time.Second):
					t.Errorf("Ruby Faye under %s was reported dead after %s but its process still runs", server, rep.DiedAfter)
				}
			} else {
				select {
				case <-proc.Done():
					t.Errorf("Ruby Faye under %s exited (%v)", server, proc.ExitErr())
				default:
				}
			}
			logReport(t, rep)
			t.Logf("Ruby Faye under %s: %d results in %s; died after %q; deviations %v",
				server, len(rep.Results), rep.Duration, rep.DiedAfter, slices.Sorted(maps.Keys(got)))
		})
	}
}

// checkDeath checks that the report names diedAfter as the case after
// which the server stopped answering ("": it answered to the end), and
// that every case that did not run then is reported "not run", not as a
// failure.
func checkDeath(t *testing.T, rep *conformance.Report, diedAfter string) {
	t.Helper()
	if rep.DiedAfter != diedAfter {
		t.Errorf("the server died after %q, want %q", rep.DiedAfter, diedAfter)
	}
	if diedAfter == "" {
		return
	}
	notRun := 0
	for _, r := range rep.Results {
		if r.Status == conformance.Skip && strings.HasPrefix(r.Seen, "not run: the server stopped answering after "+diedAfter) {
			notRun++
		}
		if r.ID != diedAfter && (r.Status == conformance.Fail || r.Status == conformance.Warn) && strings.Contains(r.Seen, "connection refused") {
			t.Errorf("%s %s because the dead server refused it, not reported as not run: %s", r.Name(), r.Status, r.Seen)
		}
	}
	if notRun == 0 {
		t.Errorf("the server died after %s but no case is reported not run", diedAfter)
	}
}
