package main

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/bayeux-go/sdk/bayeux"
	"github.com/bayeux-go/sdk/bayeux/bayeuxtest"
	"github.com/bayeux-go/sdk/examples/internal/runner"
	"github.com/bayeux-go/sdk/transport/longpoll"
)

// TestMain checks that no test leaves a goroutine behind: the clients'
// Disconnect and the server's Close stop all of theirs.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// setup starts a server and a greeter on it. Errors the greeter reports
// arrive on the returned channel.
func setup(t *testing.T, opts ...bayeuxtest.Option) (*bayeuxtest.Server, *bayeux.Client, <-chan error, context.Context) {
	t.Helper()
	srv := bayeuxtest.NewServer(opts...)
	t.Cleanup(srv.Close)
	c, err := bayeux.NewClient(srv.URL, bayeux.WithTransports(longpoll.New()))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	if err := c.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Disconnect(context.Background()) })
	errs := make(chan error, 4)
	if _, err := StartGreeter(ctx, c, func(err error) { errs <- err }); err != nil {
		t.Fatal(err)
	}
	return srv, c, errs, ctx
}

// ask publishes a request from the server itself and returns the greeting
// the greeter published.
func ask(t *testing.T, ctx context.Context, srv *bayeuxtest.Server, name string) string {
	t.Helper()
	before := srv.Count(Replies)
	if err := srv.Publish(Requests, Request{Name: name}); err != nil {
		t.Fatal(err)
	}
	if err := srv.WaitFor(ctx, func(s *bayeuxtest.Server) bool { return s.Count(Replies) > before }); err != nil {
		t.Fatalf("no reply to %s: %v", name, err)
	}
	var last bayeux.Message
	for _, m := range srv.Received() {
		if m.Channel == Replies {
			last = m
		}
	}
	var r Reply
	if err := last.Decode(&r); err != nil {
		t.Fatal(err)
	}
	return r.Greeting
}

func TestGreets(t *testing.T) {
	srv, _, _, ctx := setup(t)
	if got := ask(t, ctx, srv, "ada"); got != "hello, ada" {
		t.Errorf("got %q", got)
	}
}

// The server loses the greeter's session: the client handshakes and
// subscribes again by itself, and the greeter keeps answering.
func TestSurvivesLostSession(t *testing.T) {
	srv, c, _, ctx := setup(t)
	srv.ExpireSession(c.ClientID())
	if err := srv.WaitSubscribed(ctx, Requests); err != nil {
		t.Fatal(err)
	}
	if got := ask(t, ctx, srv, "grace"); got != "hello, grace" {
		t.Errorf("got %q", got)
	}
	if n := srv.HandshakeCount(); n != 2 {
		t.Errorf("%d handshakes, want 2", n)
	}
}

// The server denies the reply: the greeter reports it.
func TestReportsDeniedReply(t *testing.T) {
	srv, _, errs, ctx := setup(t, bayeuxtest.WithExtension(bayeuxtest.ExtensionFuncs{
		In: func(m *bayeux.Message) {
			if m.Channel == Replies {
				m.Error = "403::Publish denied"
			}
		},
	}))
	if err := srv.Publish(Requests, Request{Name: "linus"}); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-errs:
		if !errors.Is(err, bayeux.ErrPublishDenied) {
			t.Errorf("got %v, want ErrPublishDenied", err)
		}
	case <-ctx.Done():
		t.Fatal("no error reported")
	}
}

func TestReportsBadRequest(t *testing.T) {
	srv, _, errs, ctx := setup(t)
	if err := srv.Publish(Requests, "not a request"); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-errs:
		if !strings.Contains(err.Error(), "bad request") {
			t.Errorf("got %v", err)
		}
	case <-ctx.Done():
		t.Fatal("no error reported")
	}
	if n := srv.Count(Replies); n != 0 {
		t.Errorf("%d replies to a bad request", n)
	}
}

// TestRun runs the program as "go run" does.
func TestRun(t *testing.T) {
	var out bytes.Buffer
	if err := runner.Run(context.Background(), "", &out, run); err != nil {
		t.Fatal(err)
	}
	if out.String() != "hello, gopher\n" {
		t.Errorf("output %q", out.String())
	}
}
