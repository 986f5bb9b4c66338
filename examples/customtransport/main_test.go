package main

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/bayeux-go/sdk/bayeux"
	"github.com/bayeux-go/sdk/bayeux/bayeuxtest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestRun(t *testing.T) {
	srv := bayeuxtest.NewServer()
	defer srv.Close()
	var out bytes.Buffer
	if err := run(context.Background(), srv.URL, &out); err != nil {
		t.Fatal(err)
	}
	want := "sent [/meta/handshake]\nsent [/meta/subscribe]\nsent [/custom]\nreceived \"carried by plainPoll\" on /custom over long-polling\nsent [/meta/disconnect]\n"
	if out.String() != want {
		t.Errorf("output:\n%s\nwant:\n%s", out.String(), want)
	}
}

// TestFailures checks the transport's side of the contract: HTTP errors are
// *bayeux.TransportError with the status, and the client recovers from them.
func TestFailures(t *testing.T) {
	srv := bayeuxtest.NewServer(bayeuxtest.WithTimeout(100 * time.Millisecond))
	defer srv.Close()
	errs := make(chan error, 16)
	c, err := bayeux.NewClient(srv.URL, bayeux.WithTransports(&plainPoll{}),
		bayeux.WithBackoff(10*time.Millisecond, 50*time.Millisecond),
		bayeux.WithErrorHandler(func(err error) {
			select {
			case errs <- err:
			default:
			}
		}))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	defer c.Disconnect(ctx)

	srv.InjectFault(bayeuxtest.Fault{Channel: bayeux.MetaConnect, Status: 503})
	var te *bayeux.TransportError
	if err := <-errs; !errors.As(err, &te) || te.StatusCode != 503 {
		t.Fatalf("error handler got %v, want a TransportError with status 503", err)
	}
	srv.InjectFault(bayeuxtest.Fault{Channel: "/custom", Status: 500})
	if err := c.Publish(ctx, "/custom", 1); !errors.As(err, &te) || te.StatusCode != 500 {
		t.Errorf("publish: %v, want a TransportError with status 500", err)
	}
	if err := c.Publish(ctx, "/custom", 2); err != nil {
		t.Errorf("publish after the failure: %v", err)
	}
	srv.ExpireSession(c.ClientID())
	if err := c.Publish(ctx, "/custom", 3); err != nil {
		t.Errorf("publish after the session expired: %v", err)
	}
	if n := srv.HandshakeCount(); n != 2 {
		t.Errorf("%d handshakes, want 2", n)
	}
}

func TestClosed(t *testing.T) {
	tr := &plainPoll{}
	_ = tr.Close()
	if _, err := tr.RoundTrip(context.Background(), "http://127.0.0.1:1/", []bayeux.Message{{Channel: "/a"}}); !errors.Is(err, bayeux.ErrClosed) {
		t.Errorf("RoundTrip after Close: %v", err)
	}
}
