package main

import (
	"bytes"
	"context"
	"testing"

	"go.uber.org/goleak"

	"github.com/bayeux-go/sdk/bayeux/bayeuxtest"
	"github.com/bayeux-go/sdk/examples/internal/runner"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestChat(t *testing.T) {
	srv := bayeuxtest.NewServer()
	defer srv.Close()
	var out bytes.Buffer
	if err := run(context.Background(), srv.URL, &out); err != nil {
		t.Fatal(err)
	}
	want := "alice is on websocket, bob on long-polling\nbob hears alice: hi bob\nalice hears bob: hello alice\n"
	if out.String() != want {
		t.Errorf("output:\n%s\nwant:\n%s", out.String(), want)
	}
	if n := srv.HandshakeCount(); n != 2 {
		t.Errorf("%d sessions, want 2", n)
	}
}

// TestChatEmbedded runs the example as "go run" does, with no -url.
func TestChatEmbedded(t *testing.T) {
	var out bytes.Buffer
	if err := runner.Run(context.Background(), "", &out, run); err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(out.Bytes(), []byte("alice hears bob: hello alice")) {
		t.Errorf("output:\n%s", out.String())
	}
}
