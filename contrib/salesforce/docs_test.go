package salesforce_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/bayeux-go/sdk/contrib/salesforce"
	"github.com/bayeux-go/sdk/ext/replay"
)

// salesforceDoc is the page of the SDK's docs about Salesforce.
const salesforceDoc = "../../docs/salesforce.md"

// The defaults and values docs/salesforce.md states about this package
// are its own (the SDK's docs test, in a module that cannot import this
// one, leaves them to this test).
func TestSalesforceDocsClaims(t *testing.T) {
	b, err := os.ReadFile(salesforceDoc)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	find := func(re string) []string {
		t.Helper()
		m := regexp.MustCompile(re).FindStringSubmatch(doc)
		if m == nil {
			t.Fatalf("docs/salesforce.md no longer states %s; update this test with the text", re)
		}
		return m[1:]
	}
	dur := func(s string) time.Duration {
		t.Helper()
		s = strings.NewReplacer(" minutes", "m", " s", "s").Replace(s)
		d, err := time.ParseDuration(s)
		if err != nil {
			t.Fatalf("%q: %v", s, err)
		}
		return d
	}
	if got := find("the API version of `salesforce.WithAPIVersion`,\\s+([\\d.]+) unless given \\(`salesforce.DefaultAPIVersion`\\)")[0]; got != salesforce.DefaultAPIVersion {
		t.Errorf("docs/salesforce.md: API version %s, code %s", got, salesforce.DefaultAPIVersion)
	}
	m := find("`salesforce.WithReplayStart` \\(`replay.StartNew`, (-?\\d+), unless given\\)[\\s\\S]*?`salesforce.WithReplayFallback` \\(`replay.StartAll`, (-?\\d+),\\s+unless given\\)")
	if m[0] != "-1" || replay.StartNew != -1 || m[1] != "-2" || replay.StartAll != -2 {
		t.Errorf("docs/salesforce.md: start %s, fallback %s; code %d, %d", m[0], m[1], replay.StartNew, replay.StartAll)
	}
	if got := dur(find("A request to the token endpoint gives up after (\\d+ s)\\s+\\(`salesforce.WithTokenTimeout`\\)")[0]); got != salesforce.DefaultTokenTimeout {
		t.Errorf("docs/salesforce.md: token timeout %v, code %v", got, salesforce.DefaultTokenTimeout)
	}
	if got := dur(find("`exp` (\\d+ minutes) ahead \\(`salesforce.JWTLifetime`")[0]); got != salesforce.JWTLifetime {
		t.Errorf("docs/salesforce.md: JWT lifetime %v, code %v", got, salesforce.JWTLifetime)
	}
	m = find("`salesforce.LoginURL` \\((https://[a-z.]+)\\)[\\s\\S]*?`salesforce.TestLoginURL`\\s+\\((https://[a-z.]+)\\)")
	if m[0] != salesforce.LoginURL || m[1] != salesforce.TestLoginURL {
		t.Errorf("docs/salesforce.md: login URLs %v; code %s, %s", m, salesforce.LoginURL, salesforce.TestLoginURL)
	}
}

// TestSalesforceDocsCodeBlocks compiles (go vet) every Go block of
// docs/salesforce.md that imports this package, as programs of a user's
// module that requires it. The SDK's docs test only parses them.
func TestSalesforceDocsCodeBlocks(t *testing.T) {
	if testing.Short() {
		t.Skip("builds programs")
	}
	b, err := os.ReadFile(salesforceDoc)
	if err != nil {
		t.Fatal(err)
	}
	const path = `"github.com/bayeux-go/sdk/contrib/salesforce"`
	fence := regexp.MustCompile("(?s)```go\n(.*?)```")
	var blocks []string
	for _, m := range fence.FindAllStringSubmatch(string(b), -1) {
		if strings.Contains(m[1], path) {
			blocks = append(blocks, m[1])
		}
	}
	if len(blocks) < 2 {
		t.Fatalf("docs/salesforce.md has %d blocks using contrib/salesforce; it shows the preset and the JWT source", len(blocks))
	}
	here, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	root := filepath.Join(here, "..", "..")
	mod := t.TempDir()
	goMod := "module example.com/sfdocs\n\ngo 1.26\n\n" +
		"require (\n\tgithub.com/bayeux-go/sdk v0.0.0\n\tgithub.com/bayeux-go/sdk/contrib/salesforce v0.0.0\n)\n\n" +
		"replace (\n\tgithub.com/bayeux-go/sdk => " + root + "\n\tgithub.com/bayeux-go/sdk/contrib/salesforce => " + here + "\n)\n"
	write := func(name, text string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(name, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(filepath.Join(mod, "go.mod"), goMod)
	sum, err := os.ReadFile("go.sum")
	if err != nil {
		t.Fatal(err)
	}
	write(filepath.Join(mod, "go.sum"), string(sum))
	for i, code := range blocks {
		if !strings.HasPrefix(code, "package main\n") {
			t.Errorf("block %d using contrib/salesforce is not a whole program (package main)", i+1)
		}
		write(filepath.Join(mod, "block"+string(rune('a'+i)), "main.go"), code)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "vet", "./...")
	cmd.Dir = mod
	// The module cache has every module go.sum names: no network.
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod", "GOPROXY=off")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("go vet of docs/salesforce.md's blocks: %v\n%s", err, out)
	}
}
