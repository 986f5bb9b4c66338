package main

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bayeux-go/sdk/bayeux/bayeuxtest"
)

// buildBayeux builds the command into a temporary directory.
func buildBayeux(t *testing.T) string {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		goTool = "/usr/local/go/bin/go"
	}
	bin := filepath.Join(t.TempDir(), "bayeux")
	if out, err := exec.Command(goTool, "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// TestConformanceCommand runs the built command against bayeuxtest in each
// format, and against a server breaking a MUST rule.
func TestConformanceCommand(t *testing.T) {
	bin := buildBayeux(t)
	srv := bayeuxtest.NewServer(bayeuxtest.WithTimeout(time.Second), bayeuxtest.WithCookieBinding(true))
	defer srv.Close()
	run := func(args ...string) (string, string, error) {
		var out, errOut bytes.Buffer
		cmd := exec.Command(bin, append([]string{"conformance"}, args...)...)
		cmd.Stdout, cmd.Stderr = &out, &errOut
		err := cmd.Run()
		return out.String(), errOut.String(), err
	}
	cases := "--case=subscribe.*,publish.no-clientid-leak"

	t.Run("text", func(t *testing.T) {
		out, errOut, err := run(srv.URL, cases)
		if err != nil {
			t.Fatalf("%v\n%s%s", err, out, errOut)
		}
		for _, want := range []string{"Bayeux conformance of " + srv.URL, "PASS  MUST        subscribe.echo", "Summary by level", "RESULT: no MUST rule broken"} {
			if !strings.Contains(out, want) {
				t.Errorf("output lacks %q:\n%s", want, out)
			}
		}
		if errOut != "" {
			t.Errorf("stderr is not a terminal, yet it got %q", errOut)
		}
	})
	t.Run("json", func(t *testing.T) {
		out, _, err := run("--format", "json", srv.URL, cases, "--transport", "long-polling")
		if err != nil {
			t.Fatal(err)
		}
		var rep struct {
			Results []struct{ ID, Status string }
		}
		if err := json.Unmarshal([]byte(out), &rep); err != nil || len(rep.Results) < 80 {
			t.Fatalf("%v: %d results\n%s", err, len(rep.Results), out)
		}
		passed := 0
		for _, r := range rep.Results {
			if r.Status == "pass" {
				passed++
			}
		}
		if passed != 6 {
			t.Errorf("%d passed, want the 6 selected", passed)
		}
	})
	t.Run("junit", func(t *testing.T) {
		out, _, err := run(srv.URL, "--format=junit", cases)
		if err != nil {
			t.Fatal(err)
		}
		var suites struct {
			Tests  int `xml:"tests,attr"`
			Fails  int `xml:"failures,attr"`
			Suites []struct {
				Name string `xml:"name,attr"`
			} `xml:"testsuite"`
		}
		if err := xml.Unmarshal([]byte(out), &suites); err != nil || suites.Tests < 80 || suites.Fails != 0 || len(suites.Suites) < 10 {
			t.Fatalf("%v %+v", err, suites)
		}
	})
	t.Run("must-fails", func(t *testing.T) {
		bad := bayeuxtest.NewServer(bayeuxtest.WithMisbehaviour(bayeuxtest.Misbehaviour{LaxChannels: true}))
		defer bad.Close()
		out, errOut, err := run(bad.URL, "--case", "channels.wildcard-publish")
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() != 1 {
			t.Fatalf("exit %v, want status 1\n%s%s", err, out, errOut)
		}
		if !strings.Contains(out, "FAIL  MUST        channels.wildcard-publish") || !strings.Contains(errOut, "MUST rules") {
			t.Errorf("stdout:\n%s\nstderr:\n%s", out, errOut)
		}
	})
	t.Run("usage", func(t *testing.T) {
		if _, errOut, err := run(); err == nil || !strings.Contains(errOut, "missing arguments: want URL") {
			t.Errorf("%v %s", err, errOut)
		}
		if _, _, err := run(srv.URL, "--format", "yaml"); err == nil {
			t.Error("an unknown format was accepted")
		}
	})
}
