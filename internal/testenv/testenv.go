// Package testenv holds the helpers the transports' tests share: a test
// context, an HTTP test server closed with the test, and a condition wait.
package testenv

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// Timeout bounds every wait of a test, so that a bug fails instead of
// hanging; it is never used to assert speed.
const Timeout = 20 * time.Second

// Context returns a context that ends after Timeout or with the test.
func Context(tb testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	tb.Cleanup(cancel)
	return ctx
}

// Server starts an HTTP test server with h, closed when the test ends.
func Server(tb testing.TB, h http.HandlerFunc) *httptest.Server {
	tb.Helper()
	srv := httptest.NewServer(h)
	tb.Cleanup(srv.Close)
	return srv
}

// Eventually polls cond until it holds, failing the test after Timeout.
func Eventually(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(Timeout)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}
