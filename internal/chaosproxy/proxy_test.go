package chaosproxy

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// backend is an HTTP server behind a proxy; /hold blocks until the client
// goes away; other paths answer body.
type backend struct {
	*httptest.Server
	proxy    *Proxy
	requests atomic.Int32
	conns    atomic.Int32
}

const body = "0123456789abcdefghijklmnopqrstuvwxyz"

func newBackend(t *testing.T) *backend {
	t.Helper()
	b := &backend{}
	b.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b.requests.Add(1)
		if r.URL.Path == "/hold" {
			<-r.Context().Done()
			return
		}
		_, _ = io.WriteString(w, body)
	}))
	b.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			b.conns.Add(1)
		}
	}
	b.Start()
	p, err := New(b.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	b.proxy = p
	t.Cleanup(func() {
		p.Close()
		b.Close()
	})
	return b
}

func (b *backend) get(t *testing.T, hc *http.Client, path string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+b.proxy.Addr()+path, nil)
	resp, err := hc.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return string(data), errors.New(resp.Status)
	}
	return string(data), err
}

// client returns an http.Client that never retries on its own: a fresh
// connection per request and no keep-alive.
func client() *http.Client {
	return &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
}

func TestForwards(t *testing.T) {
	b := newBackend(t)
	hc := client()
	for range 3 {
		if got, err := b.get(t, hc, "/"); err != nil || got != body {
			t.Fatalf("got %q, %v", got, err)
		}
	}
	if n := len(b.proxy.Counts()); n != 0 {
		t.Fatalf("faults counted without injection: %v", b.proxy.Counts())
	}
}

func TestChunkFaults(t *testing.T) {
	for _, tc := range []struct {
		kind    Kind
		reached bool // the request reaches the server
		check   func(got string, err error) bool
	}{
		{Status5xx, false, func(got string, err error) bool {
			return err != nil && strings.Contains(err.Error(), "503") && strings.Contains(got, "chaos")
		}},
		{Truncate, true, func(got string, err error) bool { return err != nil || got != body }},
		{Garbage, true, func(_ string, err error) bool { return err != nil }},
		{CloseAfterResponse, true, func(got string, err error) bool { return err == nil && got == body }},
	} {
		t.Run(tc.kind.String(), func(t *testing.T) {
			b := newBackend(t)
			b.proxy.Inject(tc.kind, 0)
			if n := b.proxy.Pending(); n != 1 {
				t.Fatalf("%d faults pending, want 1", n)
			}
			got, err := b.get(t, client(), "/")
			if n := b.proxy.Pending(); n != 0 {
				t.Fatalf("%d faults pending after a request, want 0", n)
			}
			if !tc.check(got, err) {
				t.Fatalf("got %q, %v", got, err)
			}
			if reached := b.requests.Load() == 1; reached != tc.reached {
				t.Fatalf("request reached the server: %v, want %v", reached, tc.reached)
			}
			if c := b.proxy.Counts(); c[tc.kind] != 1 || len(c) != 1 {
				t.Fatalf("counts %v", c)
			}
			// Applied once: the next request goes through.
			if got, err := b.get(t, client(), "/"); err != nil || got != body {
				t.Fatalf("after the fault: %q, %v", got, err)
			}
		})
	}
}

func TestCloseAfterResponseClosesKeptAliveConnection(t *testing.T) {
	b := newBackend(t)
	hc := &http.Client{Transport: &http.Transport{}}
	defer hc.CloseIdleConnections()
	if _, err := b.get(t, hc, "/"); err != nil {
		t.Fatal(err)
	}
	b.proxy.Inject(CloseAfterResponse, 0)
	if _, err := b.get(t, hc, "/"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	if _, err := b.get(t, hc, "/"); err != nil {
		t.Fatal(err)
	}
	if n := b.conns.Load(); n != 2 {
		t.Fatalf("%d server connections, want 2 (the kept-alive one was closed)", n)
	}
}

func TestDropAndResetFailHeldRequests(t *testing.T) {
	for _, k := range []Kind{Drop, Reset} {
		t.Run(k.String(), func(t *testing.T) {
			b := newBackend(t)
			errc := make(chan error, 1)
			go func() {
				_, err := b.get(t, client(), "/hold")
				errc <- err
			}()
			deadline := time.Now().Add(5 * time.Second)
			for b.requests.Load() == 0 && time.Now().Before(deadline) {
				time.Sleep(time.Millisecond)
			}
			b.proxy.Inject(k, 0)
			select {
			case err := <-errc:
				if err == nil {
					t.Fatal("held request succeeded")
				}
			case <-time.After(4 * time.Second):
				t.Fatal("held request not failed")
			}
			if b.proxy.Counts()[k] != 1 {
				t.Fatalf("counts %v", b.proxy.Counts())
			}
		})
	}
}

func TestStallAndSlowRead(t *testing.T) {
	b := newBackend(t)
	b.proxy.Inject(Stall, 200*time.Millisecond)
	start := time.Now()
	if got, err := b.get(t, client(), "/"); err != nil || got != body {
		t.Fatalf("got %q, %v", got, err)
	}
	if d := time.Since(start); d < 150*time.Millisecond {
		t.Fatalf("stalled request took %v", d)
	}
	b.proxy.Clear()
	// Slow reads on a kept-alive connection still deliver everything.
	hc := &http.Client{Transport: &http.Transport{}}
	defer hc.CloseIdleConnections()
	if _, err := b.get(t, hc, "/"); err != nil {
		t.Fatal(err)
	}
	b.proxy.Inject(SlowRead, time.Second)
	if got, err := b.get(t, hc, "/"); err != nil || got != body {
		t.Fatalf("slow read: %q, %v", got, err)
	}
	if c := b.proxy.Counts(); c[Stall] != 1 || c[SlowRead] != 1 {
		t.Fatalf("counts %v", c)
	}
}

func TestKindNames(t *testing.T) {
	seen := map[string]bool{}
	for _, k := range Kinds {
		s := k.String()
		if s == "" || seen[s] || strings.HasPrefix(s, "Kind(") {
			t.Fatalf("bad name %q for %d", s, k)
		}
		seen[s] = true
	}
	if Kind(99).String() != "Kind(99)" {
		t.Fatal(Kind(99).String())
	}
}
