package main

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"net/http"
	"net/http/httptest"
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
			Summary map[string]map[string]int
		}
		// A selection lists only what it selected.
		if err := json.Unmarshal([]byte(out), &rep); err != nil || len(rep.Results) < 5 || len(rep.Results) > 30 {
			t.Fatalf("%v: %d results\n%s", err, len(rep.Results), out)
		}
		passed := 0
		for _, r := range rep.Results {
			if r.Status == "pass" {
				passed++
			}
		}
		if rep.Summary["all"]["pass"] != passed || rep.Summary["MUST"] == nil {
			t.Errorf("summary %v, want the counts (%d passed)", rep.Summary, passed)
		}
		if passed != len(rep.Results) {
			t.Errorf("%d passed, want every one of the %d selected", passed, len(rep.Results))
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
		// Each case carries its level and status, so that a warning (a
		// passing test case to JUnit) is visible.
		if !strings.Contains(out, `<property name="status" value="pass"></property>`) || !strings.Contains(out, `<property name="level" value="MUST"></property>`) {
			t.Errorf("no level and status properties:\n%s", out)
		}
		if err := xml.Unmarshal([]byte(out), &suites); err != nil || suites.Tests < 5 || suites.Tests > 30 || suites.Fails != 0 || len(suites.Suites) != 2 {
			t.Fatalf("%v %+v", err, suites)
		}
	})
	t.Run("must-fails", func(t *testing.T) {
		bad := bayeuxtest.NewServer(bayeuxtest.WithMisbehaviour(bayeuxtest.Misbehaviour{IgnoreUnsubscribe: true}))
		defer bad.Close()
		out, errOut, err := run(bad.URL, "--case", "unsubscribe.stops")
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() != 1 {
			t.Fatalf("exit %v, want status 1\n%s%s", err, out, errOut)
		}
		if !strings.Contains(out, "FAIL  MUST        unsubscribe.stops") || !strings.Contains(errOut, "MUST rules") {
			t.Errorf("stdout:\n%s\nstderr:\n%s", out, errOut)
		}
	})
	t.Run("usage", func(t *testing.T) {
		status := func(err error) int {
			var exit *exec.ExitError
			if errors.As(err, &exit) {
				return exit.ExitCode()
			}
			return 0
		}
		if _, errOut, err := run(); status(err) != 2 || !strings.Contains(errOut, "missing arguments: want URL") {
			t.Errorf("%v %s", err, errOut)
		}
		for _, args := range [][]string{{"--format", "yaml"}, {"--case", "nosuch"}, {"--case", "No such section"}, {"--transport", "pigeon"}} {
			out, errOut, err := run(append([]string{srv.URL}, args...)...)
			if status(err) != 2 || out != "" {
				t.Errorf("%v: exit %v, stdout %q, stderr %q: want a usage error (2) and no report", args, err, out, errOut)
			}
		}
	})
	t.Run("unreachable", func(t *testing.T) {
		_, errOut, err := run("http://127.0.0.1:1/bayeux")
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() != 3 {
			t.Errorf("exit %v, stderr %q: want status 3", err, errOut)
		}
	})
	t.Run("security", func(t *testing.T) {
		// A JSONP callback echoed unescaped: a security finding, exit 4,
		// though no MUST rule is broken.
		inner := bayeuxtest.NewServer()
		defer inner.Close()
		// A server that echoes a hostile callback name as it got it.
		bad := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			q := r.URL.Query()
			cb := q.Get("jsonp")
			if r.Method != http.MethodGet || cb == "" || bayeuxtest.ValidCallback(cb) {
				inner.Handler().ServeHTTP(w, r)
				return
			}
			q.Set("jsonp", "x")
			r.URL.RawQuery = q.Encode()
			rec := httptest.NewRecorder()
			inner.Handler().ServeHTTP(rec, r)
			w.WriteHeader(rec.Code)
			_, _ = w.Write(bytes.Replace(rec.Body.Bytes(), []byte("x("), []byte(cb+"("), 1))
		}))
		defer bad.Close()
		out, errOut, err := run(bad.URL+"/bayeux", "--case", "robust.jsonp-injection")
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() != 4 || !strings.Contains(out, "SECURITY: 1 finding") {
			t.Errorf("exit %v\nstdout:\n%s\nstderr:\n%s", err, out, errOut)
		}
	})
	t.Run("selection", func(t *testing.T) {
		out, _, err := run(srv.URL, "--case", "handshake.success")
		if err != nil {
			t.Fatal(err)
		}
		if strings.Count(out, "  PASS  ") != 1 || strings.Contains(out, "not selected") {
			t.Errorf("a selection of one case printed:\n%s", out)
		}
	})
}
