package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"go.uber.org/goleak"

	"github.com/bayeux-go/sdk/contrib/salesforce"
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

// The environment chooses the token source: the JWT bearer flow, the
// refresh token flow, a bare access token, or none (the embedded demo).
func TestCredentials(t *testing.T) {
	for _, v := range []string{"SF_JWT_KEY_FILE", "SF_REFRESH_TOKEN", "SF_ACCESS_TOKEN", "SF_CLIENT_ID", "SF_USERNAME", "SF_LOGIN_URL"} {
		t.Setenv(v, "")
	}
	ctx := context.Background()
	if ts, err := credentials(ctx); ts != nil || err != nil {
		t.Errorf("no credentials: %v, %v; want the demo", ts, err)
	}
	t.Setenv("SF_ACCESS_TOKEN", "00Dxx!session")
	if ts, err := credentials(ctx); err != nil || ts == nil {
		t.Fatalf("SF_ACCESS_TOKEN: %v, %v", ts, err)
	} else if tok, err := ts.Token(); err != nil || tok.AccessToken != "00Dxx!session" {
		t.Errorf("SF_ACCESS_TOKEN: token %v, %v", tok, err)
	}
	t.Setenv("SF_CLIENT_ID", "3MVG9consumer")
	t.Setenv("SF_REFRESH_TOKEN", "5Aep861refresh")
	if ts, err := credentials(ctx); err != nil {
		t.Errorf("SF_REFRESH_TOKEN: %v", err)
	} else if _, ok := ts.(*salesforce.TokenSource); !ok {
		t.Errorf("SF_REFRESH_TOKEN: %T, want the refresh token flow's *salesforce.TokenSource", ts)
	}
	t.Setenv("SF_JWT_KEY_FILE", filepath.Join(t.TempDir(), "missing.key"))
	if _, err := credentials(ctx); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("SF_JWT_KEY_FILE missing: %v", err)
	}
	t.Setenv("SF_LOGIN_URL", "login.salesforce.com")
	t.Setenv("SF_JWT_KEY_FILE", "")
	if _, err := credentials(ctx); !errors.Is(err, salesforce.ErrConfig) {
		t.Errorf("SF_LOGIN_URL without a scheme: %v, want ErrConfig", err)
	}
}
