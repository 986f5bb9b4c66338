package conformance_test

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"slices"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/bayeux-go/sdk/bayeux/bayeuxtest"
	"github.com/bayeux-go/sdk/conformance"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// profiles bayeuxtest does not offer (ack, replay, timesync; cross-origin
// requests): their cases are skipped.
var bayeuxtestSkips = []string{"ack.connect-ids", "ack.negotiate", "ack.redelivery", "long-polling.cors-headers", "long-polling.cors-preflight",
	"replay.ids", "replay.negotiate", "timesync.reply"}

// TestBayeuxtestPasses runs the whole suite against bayeuxtest (sessions
// bound to their cookie, as CometD does): every case passes except those
// of the profiles it lacks.
func TestBayeuxtestPasses(t *testing.T) {
	srv := bayeuxtest.NewServer(baseOptions()...)
	defer srv.Close()
	rep, err := conformance.Run(context.Background(), srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Results) < 80 {
		t.Errorf("%d cases, want at least 80", len(rep.Results))
	}
	for _, r := range rep.Results {
		if r.Status != conformance.Pass && !(r.Status == conformance.Skip && slices.Contains(bayeuxtestSkips, r.ID)) {
			t.Errorf("%s: %s: %s", r.ID, r.Status, r.Seen)
		}
	}
	if got := rep.With(conformance.Skip); !slices.Equal(got, bayeuxtestSkips) {
		t.Errorf("skipped %v, want %v", got, bayeuxtestSkips)
	}
	if !rep.Passed() {
		t.Error("Passed() is false")
	}
	t.Logf("%d cases in %s", len(rep.Results), rep.Duration)
}

func TestCatalogue(t *testing.T) {
	seen := map[string]bool{}
	for _, c := range conformance.Cases() {
		if seen[c.ID] {
			t.Errorf("duplicate id %s", c.ID)
		}
		seen[c.ID] = true
		if c.Section == "" || c.Rule == "" || !strings.HasPrefix(c.Source, "https://") || !slices.Contains(conformance.Levels, c.Level) {
			t.Errorf("case %s is incomplete: %+v", c.ID, c)
		}
	}
}

func TestOptions(t *testing.T) {
	srv := bayeuxtest.NewServer(bayeuxtest.WithConnectionTypes("long-polling"))
	defer srv.Close()
	rep, err := conformance.Run(context.Background(), srv.URL, conformance.WithCases("websocket.*", "Handshake and negotiation"))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rep.Results {
		switch {
		case r.ID == "websocket.refused-upgrade":
			if r.Status != conformance.Pass {
				t.Errorf("%s: %s %s", r.ID, r.Status, r.Seen)
			}
		case strings.HasPrefix(r.ID, "websocket."):
			if r.Status != conformance.Skip || !strings.Contains(r.Seen, "does not offer websocket") {
				t.Errorf("%s: %s %s", r.ID, r.Status, r.Seen)
			}
		case r.Section == "Handshake and negotiation":
			if r.Status == conformance.Skip {
				t.Errorf("%s skipped: %s", r.ID, r.Seen)
			}
		default:
			if r.Status != conformance.Skip || r.Seen != "not selected" {
				t.Errorf("%s: %s %s", r.ID, r.Status, r.Seen)
			}
		}
	}
	if _, err := conformance.Run(context.Background(), "ftp://x"); err == nil {
		t.Error("Run accepted an ftp URL")
	}
	if _, err := conformance.Run(context.Background(), "http://127.0.0.1:1/bayeux"); err == nil {
		t.Error("Run succeeded without a server")
	}
}

func TestFormats(t *testing.T) {
	srv := bayeuxtest.NewServer()
	defer srv.Close()
	rep, err := conformance.Run(context.Background(), srv.URL, conformance.WithCases("subscribe.echo", "session.hijack"))
	if err != nil {
		t.Fatal(err)
	}
	var text, js, ju bytes.Buffer
	if err := rep.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"PASS  MUST", "subscribe.echo", "WARN  convention  session.hijack", "Summary by level", "RESULT: no MUST rule broken"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("text lacks %q:\n%s", want, text.String())
		}
	}
	if err := rep.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	var back conformance.Report
	if err := json.Unmarshal(js.Bytes(), &back); err != nil || len(back.Results) != len(rep.Results) {
		t.Errorf("JSON round trip: %v", err)
	}
	if err := rep.WriteJUnit(&ju); err != nil {
		t.Fatal(err)
	}
	var suites struct {
		Tests int `xml:"tests,attr"`
		Skips int `xml:"skipped,attr"`
	}
	if err := xml.Unmarshal(ju.Bytes(), &suites); err != nil || suites.Tests != len(rep.Results) || suites.Skips != 0 || len(rep.Results) != 4 { // subscribe.echo on three transports, session.hijack
		t.Errorf("JUnit: %v %+v", err, suites)
	}
}
