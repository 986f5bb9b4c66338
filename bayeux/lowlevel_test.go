package bayeux_test

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/bayeux-go/sdk/bayeux"
	"github.com/bayeux-go/sdk/bayeux/bayeuxtest"
	_ "github.com/bayeux-go/sdk/transport/longpoll"
)

// gobayeux's low-level client, on the registered default transport:
// handshake, connect, subscribe, unsubscribe, disconnect, and a handshake
// again after the session is lost (gobayeux's could not).
func TestBayeuxClientLowLevel(t *testing.T) {
	leakCheck(t)
	srv := newServer(t, bayeuxtest.WithTimeout(200*time.Millisecond))
	b, err := bayeux.NewBayeuxClient(nil, nil, srv.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	ctx := ctxT(t)
	if _, err := b.Connect(ctx); !errors.Is(err, bayeux.ErrBadState) {
		t.Errorf("Connect before Handshake = %v", err)
	}
	msgs, err := b.Handshake(ctx)
	if err != nil || len(msgs) != 1 || msgs[0].ClientID == "" {
		t.Fatalf("Handshake = %v, %v", msgs, err)
	}
	if _, err := b.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Subscribe(ctx, []bayeux.Channel{"/a", "/b/*"}); err != nil {
		t.Fatal(err)
	}
	if got := srv.Subscriptions(b.ClientID()); !slices.Contains(got, "/a") || !slices.Contains(got, "/b/*") {
		t.Errorf("server subscriptions %v", got)
	}
	if err := srv.Publish("/b/x", "hi"); err != nil {
		t.Fatal(err)
	}
	msgs, err = b.Connect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, m := range msgs {
		found = found || (m.Channel == "/b/x" && string(m.Data) == `"hi"`)
	}
	if !found {
		t.Errorf("event not returned by Connect: %v", msgs)
	}
	if _, err := b.Unsubscribe(ctx, []bayeux.Channel{"/a"}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Subscribe(ctx, []bayeux.Channel{"bad"}); !errors.Is(err, bayeux.ErrBadChannel) {
		t.Errorf("invalid channel = %v", err)
	}

	srv.ExpireSession(b.ClientID())
	_, err = b.Connect(ctx)
	if !errors.Is(err, bayeux.ErrUnknownClient) || !errors.Is(err, bayeux.ErrConnectFailed) {
		t.Fatalf("Connect on an expired session = %v", err)
	}
	if _, err := b.Handshake(ctx); err != nil {
		t.Fatalf("second Handshake: %v", err)
	}
	if _, err := b.Disconnect(ctx); err != nil {
		t.Fatal(err)
	}
	if len(srv.Sessions()) != 0 {
		t.Errorf("sessions left: %v", srv.Sessions())
	}
}
