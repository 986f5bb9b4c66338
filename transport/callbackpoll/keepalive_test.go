package callbackpoll_test

import (
	"context"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/bayeux-go/sdk/bayeux"
	"github.com/bayeux-go/sdk/internal/closingserver"
	"github.com/bayeux-go/sdk/transport/callbackpoll"
)

// A server that closes kept-alive connections right after a response
// (without "Connection: close", as Ruby Faye under puma does): 2,000
// back-to-back publishes all succeed, each processed once, with publishes
// at-most-once. One that closes a connection when the next request
// arrives: with at-least-once publishes, all succeed, each processed once;
// at-most-once, those whose fate is unknown fail, none is processed twice.
func TestBackToBackPublishesToClosingServer(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err := closingserver.BackToBack(ctx, 2000, func(c *http.Client, resend bool) (bayeux.Transport, error) {
		tr := callbackpoll.New()
		return tr, tr.Init(bayeux.TransportConfig{HTTPClient: c, Logger: slog.New(slog.DiscardHandler), ResendPublishes: resend})
	})
	if err != nil {
		t.Fatal(err)
	}
}
