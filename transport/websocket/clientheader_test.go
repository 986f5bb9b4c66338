package websocket

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/bayeux-go/sdk/bayeux"
	"github.com/bayeux-go/sdk/bayeux/bayeuxtest"
)

// A handshake goes on a new connection when the client's headers changed
// since the open one was dialed: a server that checks the token of the
// upgrade accepts the new session only there.
func TestHandshakeRedialsWhenHeadersChanged(t *testing.T) {
	var mu sync.Mutex
	token := "first"
	srv := newBayeuxServer(t, bayeuxtest.WithBearerAuth(func(tok string) bool {
		mu.Lock()
		defer mu.Unlock()
		return tok == token
	}, bayeuxtest.AuthBayeuxError))
	tr, _ := newTransport(t, bayeux.TransportConfig{Header: func(h http.Header) {
		mu.Lock()
		h.Set("Authorization", "Bearer "+token)
		mu.Unlock()
	}})
	wsHandshake(t, tr, srv.URL)
	mu.Lock()
	token = "second" // the first token is no longer valid
	mu.Unlock()
	wsHandshake(t, tr, srv.URL)
	// Unchanged headers keep the connection.
	before := tr.current(srv.URL)
	wsHandshake(t, tr, srv.URL)
	if tr.current(srv.URL) != before {
		t.Error("redialed although the headers did not change")
	}
}

// An upgrade refused with 401 asks for credentials: a TransportError with
// the status, not Refused (the client does not give up on websocket).
func TestUpgradeRefusedForCredentials(t *testing.T) {
	srv := newBayeuxServer(t, bayeuxtest.WithBearerAuth(func(string) bool { return false }, bayeuxtest.AuthHTTPStatus))
	tr, _ := newTransport(t, bayeux.TransportConfig{})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := tr.RoundTrip(ctx, srv.URL, []bayeux.Message{handshake("h1")})
	var te *bayeux.TransportError
	if !errors.As(err, &te) || te.StatusCode != http.StatusUnauthorized || te.Refused {
		t.Fatalf("RoundTrip = %v, want a TransportError with status 401, not Refused", err)
	}
}
