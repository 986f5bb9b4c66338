package main

import (
	"io"
	"net/http"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bayeux-go/sdk/bayeux/bayeuxtest"
)

var metricsURL = regexp.MustCompile(`serving metrics at (http://\S+/metrics)`)

// scrape waits for the command's "serving metrics at URL" line, then
// until the text served there contains every one of want.
func scrape(t *testing.T, stderr interface{ String() string }, want ...string) string {
	t.Helper()
	var url, text string
	for end := time.Now().Add(15 * time.Second); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		if url == "" {
			m := metricsURL.FindStringSubmatch(stderr.String())
			if m == nil {
				continue
			}
			url = m[1]
		}
		resp, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		if text = string(b); resp.StatusCode == http.StatusOK && containsAll(text, want) {
			return text
		}
	}
	t.Fatalf("metrics at %q (stderr %q) lack one of %q:\n%s", url, stderr.String(), want, text)
	return ""
}

func containsAll(s string, subs []string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}

// `bayeux sub -metrics 127.0.0.1:0` serves, on the port it was given,
// the client's and each subscription's counters in Prometheus text: the
// subscription counts the one event pub sent. (The client's delivered
// count also has sub's /meta/subscribe listener call.)
func TestSubMetrics(t *testing.T) {
	srv := newServer(t)
	sub := start(t, "sub", "-url", srv.URL, "-transport", "long-polling", "-metrics", "127.0.0.1:0", "/m/*")
	scrape(t, sub.stderr, `bayeux_subscription_consumed_messages_total{messaging_destination_name="/m/*"`)
	if code, _, errOut := runCLI(t, "pub", "/m/x", `{"n":1}`, "-url", srv.URL); code != 0 {
		t.Fatalf("pub: exit %d: %s", code, errOut)
	}
	sub.stdout.waitFor(t, `{"channel":"/m/x","data":{"n":1}}`+"\n")
	scrape(t, sub.stderr,
		`bayeux_subscription_consumed_messages_total{messaging_destination_name="/m/*",messaging_system="bayeux",otel_scope_name="github.com/bayeux-go/sdk/contrib/otel",otel_scope_schema_url="",otel_scope_version="",outcome="delivered"} 1`,
		`messaging_client_consumed_messages_total{messaging_system="bayeux",network_transport="long-polling"`,
		"# TYPE bayeux_client_handshakes_total counter",
		"# TYPE messaging_process_duration_seconds histogram")
	if code := sub.signal(syscall.SIGTERM); code != 0 {
		t.Errorf("sub exit %d: %s", code, sub.stderr)
	}
}

// `bayeux bench -metrics` serves the sum of its sessions' counters while
// it runs.
func TestBenchMetrics(t *testing.T) {
	srv := newServer(t)
	b := start(t, "bench", "-url", srv.URL, "-transport", "long-polling", "-clients", "2", "-rooms", "1",
		"-rate", "50", "-duration", "2s", "-drain", "1s", "-metrics", "127.0.0.1:0")
	scrape(t, b.stderr, "# TYPE messaging_client_sent_messages_total counter",
		"# TYPE messaging_client_consumed_messages_total counter", `outcome="delivered"`)
	if code := b.wait(); code != 0 {
		t.Errorf("bench exit %d: %s", code, b.stderr)
	}
}

// `bayeux sub -group -metrics` serves the counters of the member's clients
// and its handler time: the three events the group printed.
func TestSubGroupMetrics(t *testing.T) {
	srv := newServer(t, bayeuxtest.WithReplay(0))
	mr := startMiniredis(t)
	for n := range 3 {
		if _, err := srv.PublishEvent("/event/Order__e", map[string]int{"n": n}); err != nil {
			t.Fatal(err)
		}
	}
	sub := start(t, "sub", "-url", srv.URL, "-transport", "long-polling", "-group", "orders",
		"-redis", "redis://"+mr.Addr()+"/0", "--replay", "-2", "-metrics", "127.0.0.1:0", "/event/Order__e")
	text := scrape(t, sub.stderr,
		`network_transport="long-polling",otel_scope_name="github.com/bayeux-go/sdk/contrib/otel",otel_scope_schema_url="",otel_scope_version="",outcome="delivered"} 3`,
		"# TYPE messaging_process_duration_seconds histogram")
	if !regexp.MustCompile(`(?m)^bayeux_client_handshakes_total\{kind="first",.*\} 1$`).MatchString(text) {
		t.Errorf("want one handshake in:\n%s", text)
	}
	if got := strings.Count(sub.stdout.String(), "\n"); got != 3 {
		t.Errorf("printed %d lines, want 3: %q", got, sub.stdout.String())
	}
	if code := sub.signal(syscall.SIGTERM); code != 0 {
		t.Errorf("sub exit %d: %s", code, sub.stderr)
	}
}
