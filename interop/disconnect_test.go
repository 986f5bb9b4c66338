package interop

import (
	"context"
	"testing"
	"time"

	"github.com/bayeux-go/sdk/bayeux"
)

// TestFayeStockCallbackPollingDisconnect runs a clean Disconnect over
// callback-polling against a stock Faye 1.4.3 server (without the crash fix
// of server_faye.js). Faye crashes when a JSONP client closes a held
// /meta/connect before the server answers it (docs/interop.md), so a client
// must say goodbye the way Faye's and CometD's own clients do: send
// /meta/disconnect while the connect is held, and let the server release the
// connect, instead of aborting the connect first.
func TestFayeStockCallbackPollingDisconnect(t *testing.T) {
	srv := startPeer(t, "faye", "FAYE_UNPATCHED=1")
	c := newClient(t, "a", srv.URL(), []string{cp})
	c.connect(t)
	base := uniqueChannel(t)
	c.subscribe(t, base)
	// Wait until the server holds the client's long poll: it logged
	// receiving the last /meta/connect, which has no reply yet.
	eventually(t, "a /meta/connect held by the server", func() bool {
		id, ok := lastConnect(c)
		return ok && c.State() == bayeux.StateConnected && srv.received(bayeux.MetaConnect, id, c.ClientID())
	})
	if err := c.Disconnect(ctxLong(t)); err != nil {
		t.Fatalf("Disconnect: %v", err)
	}
	// A full round trip of another client: the server must still be there.
	other := newClient(t, "b", srv.URL(), []string{lp})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := other.Connect(ctx); err != nil {
		srv.checkAlive(t) // the usual failure: the server crashed
		t.Fatalf("another client: Connect: %v", err)
	}
	_, in := other.subscribe(t, base)
	other.publish(t, base, payload{N: 1})
	expect(t, "after the disconnect", in, base+"#1")
	srv.checkAlive(t)
}
