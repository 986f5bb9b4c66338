package main

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/bayeux-go/sdk/bayeux/bayeuxtest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestDemo(t *testing.T) {
	var out, errOut bytes.Buffer
	if err := run(context.Background(), []string{"demo"}, &out, &errOut); err != nil {
		t.Fatalf("demo: %v\n%s", err, out.String())
	}
	for _, want := range []string{
		"alice uses websocket, bob uses long-polling",
		`bob received on /chat/general: "hello from alice on /chat/general"`,
		`bob received on /chat/go/generics`,
		"alice called /service/time",
		"[bob] connected -> rehandshaking",
		"done",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("demo output lacks %q:\n%s", want, out.String())
		}
	}
}

// syncBuffer is a bytes.Buffer safe for a writer and a reader goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestSubPub(t *testing.T) {
	srv := bayeuxtest.NewServer()
	defer srv.Close()
	for _, tr := range []string{"websocket", "long-polling", "callback-polling"} {
		t.Run(tr, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			subCtx, stopSub := context.WithCancel(ctx)
			var subOut syncBuffer
			subDone := make(chan error, 1)
			go func() {
				subDone <- run(subCtx, []string{"sub", "-url", srv.URL, "-transport", tr, "/cli/*"}, &subOut, &bytes.Buffer{})
			}()
			if err := srv.WaitSubscribed(ctx, "/cli/*"); err != nil {
				t.Fatal(err)
			}
			var pubOut bytes.Buffer
			if err := run(ctx, []string{"pub", "-url", srv.URL, "-transport", tr, "/cli/x", `{"n":1}`}, &pubOut, &bytes.Buffer{}); err != nil {
				t.Fatalf("pub: %v", err)
			}
			if strings.TrimSpace(pubOut.String()) != "published" {
				t.Errorf("pub printed %q", pubOut.String())
			}
			want := `{"channel":"/cli/x","data":{"n":1}}`
			for !strings.Contains(subOut.String(), want) {
				select {
				case <-ctx.Done():
					t.Fatalf("sub printed %q, want %s", subOut.String(), want)
				case <-time.After(10 * time.Millisecond):
				}
			}
			stopSub()
			if err := <-subDone; err != nil {
				t.Errorf("sub: %v", err)
			}
		})
	}
}

func TestUsageErrors(t *testing.T) {
	ctx := context.Background()
	for _, args := range [][]string{{}, {"nope"}, {"sub"}, {"pub", "-url", "http://127.0.0.1:1/x", "/a", "not json"}, {"sub", "-url", "http://x/", "-transport", "carrier-pigeon", "/a"}} {
		if err := run(ctx, args, &bytes.Buffer{}, &bytes.Buffer{}); err == nil {
			t.Errorf("run(%q) succeeded, want an error", args)
		}
	}
}

func TestServe(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	srvCtx, stop := context.WithCancel(ctx)
	var out syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- run(srvCtx, []string{"serve", "-addr", "127.0.0.1:0", "-timeout", "200ms"}, &out, &bytes.Buffer{})
	}()
	var url string
	for url == "" {
		if i := strings.Index(out.String(), "http://"); i >= 0 {
			url = strings.TrimSpace(out.String()[i:])
			break
		}
		select {
		case <-ctx.Done():
			t.Fatal("serve printed no URL")
		case <-time.After(10 * time.Millisecond):
		}
	}
	var pubOut bytes.Buffer
	if err := run(ctx, []string{"pub", "-url", url, "-transport", "long-polling", "/served", `"hi"`}, &pubOut, &bytes.Buffer{}); err != nil {
		t.Fatalf("pub against serve: %v", err)
	}
	stop()
	if err := <-done; err != nil {
		t.Errorf("serve: %v", err)
	}
}
