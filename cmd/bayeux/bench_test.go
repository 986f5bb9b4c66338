package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bayeux-go/sdk/bayeux/bayeuxtest"
	"github.com/bayeux-go/sdk/bench/loadgen"
)

// TestBenchAgainstURL runs `bayeux bench` against a server given by -url
// and checks its report and JSON result.
func TestBenchAgainstURL(t *testing.T) {
	srv := bayeuxtest.NewServer(bayeuxtest.WithReceivedLimit(-1))
	defer srv.Close()
	out := filepath.Join(t.TempDir(), "result.json")
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), &env{stdout: &stdout, stderr: &stderr}, []string{"bench", "-url", srv.URL, "-transport", "long-polling",
		"-clients", "6", "-rooms", "2", "-rate", "100", "-duration", "1s", "-o", out})
	if err != nil {
		t.Fatalf("bench: %v\n%s%s", err, stdout.String(), stderr.String())
	}
	for _, want := range []string{"6 clients (long-polling)", "lost 0", "latency ms p50"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, stdout.String())
		}
	}
	checkResult(t, out, 3)
}

// TestBenchStartsServer runs the built command without -url: it starts
// the bayeuxtest server as a child process of its own (`bayeux bench
// -serve`), passing it -push-interval, and reports the server's CPU time.
func TestBenchStartsServer(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the command")
	}
	dir := t.TempDir()
	exe := filepath.Join(dir, "bayeux")
	if out, err := exec.Command("go", "build", "-o", exe, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	out := filepath.Join(dir, "result.json")
	cmd := exec.Command(exe, "bench", "-clients", "4", "-rooms", "1", "-rate", "50", "-duration", "1s",
		"-push-interval", "5ms", "-o", out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("bayeux bench: %v\n%s", err, b)
	}
	res := checkResult(t, out, 4)
	if res.ServerCPUSeconds <= 0 {
		t.Errorf("server CPU time not reported: %v", res.ServerCPUSeconds)
	}
	if res.ServerPushInterval != 5*time.Millisecond {
		t.Errorf("server push interval %v, want 5ms", res.ServerPushInterval)
	}
}

func checkResult(t *testing.T, path string, perMessage int64) loadgen.Result {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var res loadgen.Result
	if err := json.Unmarshal(data, &res); err != nil {
		t.Fatal(err)
	}
	if res.Sent == 0 || res.Expected != perMessage*res.Sent || res.Received != res.Expected || !res.OK() ||
		res.Latency.Count != res.Received {
		t.Errorf("result does not add up: sent %d, expected %d, received %d, latency count %d",
			res.Sent, res.Expected, res.Received, res.Latency.Count)
	}
	return res
}

func TestBenchBadFlags(t *testing.T) {
	var stdout, stderr bytes.Buffer
	for _, args := range [][]string{{"bench", "-transport", "smoke-signals", "-url", "http://127.0.0.1:1/x"}, {"bench", "extra"}} {
		if err := run(context.Background(), &env{stdout: &stdout, stderr: &stderr}, args); err == nil {
			t.Errorf("%v: no error", args)
		}
	}
}

// An interrupted bench (Ctrl-C) prints what it measured and succeeds:
// messages in flight are not counted as lost.
func TestBenchInterrupted(t *testing.T) {
	srv := bayeuxtest.NewServer(bayeuxtest.WithReceivedLimit(-1))
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(1500*time.Millisecond, cancel)
	var stdout, stderr bytes.Buffer
	err := run(ctx, &env{stdout: &stdout, stderr: &stderr}, []string{"bench", "-url", srv.URL, "-transport", "long-polling",
		"-clients", "4", "-rooms", "1", "-rate", "200", "-duration", "30s"})
	if err != nil {
		t.Fatalf("interrupted bench: %v\n%s%s", err, stdout.String(), stderr.String())
	}
	if !strings.Contains(stdout.String(), "received") || strings.Contains(stderr.String(), "lost") {
		t.Errorf("stdout %q, stderr %q: want the summary and no loss", stdout.String(), stderr.String())
	}
}
