package main

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// The demo loses no event across a revoked token, a dropped session and a
// restart, and handles none twice.
func TestDemo(t *testing.T) {
	var out bytes.Buffer
	cfg := config{channel: "/data/ChangeEvents", store: filepath.Join(t.TempDir(), "replay.json")}
	if err := demo(context.Background(), cfg, &out); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	want := `-- first run
replay id 1: Account UPDATE [001xx000003DGb2AAG] [Name]
replay id 2: Account UPDATE [001xx000003DGb3AAG] [Name]
replay id 3: Account UPDATE [001xx000003DGb4AAG] [Name]
replay id 4: Account UPDATE [001xx000003DGb2AAG] [BillingCity]
replay id 5: Account UPDATE [001xx000003DGb5AAG] [Phone Website]
-- second run, after a restart
replay id 6: Account UPDATE [001xx000003DGb6AAG] [Industry]
`
	got := out.String()
	if len(got) < len(want) || got[:len(want)] != want {
		t.Fatalf("output:\n%s\nwant:\n%s", got, want)
	}
	// Two tokens at least: the first one was revoked.
	if !bytes.Contains(out.Bytes(), []byte("tokens issued")) || bytes.Contains(out.Bytes(), []byte("-- 1 tokens")) {
		t.Errorf("the token was not refreshed:\n%s", got)
	}
}
