package interop

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/bayeux-go/sdk/bayeux"
	"github.com/bayeux-go/sdk/ext/ack"
)

// serverPublish publishes {"n": n} on ch from the server (test hook).
func (p *peer) serverPublish(t *testing.T, ch string, n int) {
	t.Helper()
	var r struct{ Published bool }
	p.hook(t, http.MethodPost, "/control/publish", url.Values{"channel": {ch}}, strings.NewReader(`{"n":`+strconv.Itoa(n)+`}`), &r)
	if !r.Published {
		t.Fatalf("server publish on %s failed", ch)
	}
}

// tear arms the server to tear the next count responses carrying a
// delivery and returns how many tears are armed.
func (p *peer) tear(t *testing.T, count int) int {
	t.Helper()
	var r struct{ Tears int }
	p.hook(t, http.MethodPost, "/control/tear", url.Values{"count": {strconv.Itoa(count)}}, nil, &r)
	return r.Tears
}

// tornRun publishes 1..total from the CometD server, tearing the response
// that delivers every fifth number (with whatever else it carries), then a
// last number, and returns the numbers received before that last one.
func tornRun(t *testing.T, srv *peer, exts []bayeux.MessageExtender, total int) []int {
	t.Helper()
	ch := uniqueChannel(t)
	c := newClient(t, "subscriber", srv.URL(), []string{lp}, bayeux.WithExtensions(exts...))
	c.connect(t)
	_, in := c.subscribe(t, ch)
	for i := 1; i <= total; i++ {
		if i%5 != 0 {
			srv.serverPublish(t, ch, i)
			continue
		}
		srv.tear(t, 1)
		srv.serverPublish(t, ch, i)
		eventually(t, "the tear used", func() bool { return srv.tear(t, 0) == 0 })
	}
	srv.serverPublish(t, ch, total+1)
	var got []int
	for {
		n := decode(t, in.next(t, "numbers")).N
		if n == total+1 {
			return got
		}
		got = append(got, n)
	}
}

// TestAckCometD runs the acknowledgement extension against
// cometd-nodejs-server's ack-extension: with it every number arrives once,
// in order, across the torn responses; without it the torn ones are lost.
func TestAckCometD(t *testing.T) {
	srv := startPeer(t, "cometd", "ACK=1", "COMETD_MAX_INTERVAL=30000")
	const total = 20
	t.Run("WithAck", func(t *testing.T) {
		ext := ack.New()
		got := tornRun(t, srv, []bayeux.MessageExtender{ext}, total)
		if len(got) != total {
			t.Fatalf("received %d of %d: %v", len(got), total, got)
		}
		for i, n := range got {
			if n != i+1 {
				t.Fatalf("received %v: want 1..%d once each, in order", got, total)
			}
		}
		if !ext.Enabled() {
			t.Fatal("the server did not enable the extension")
		}
		t.Logf("with ack: %d duplicates dropped", ext.Dropped())
	})
	t.Run("WithoutAck", func(t *testing.T) {
		got := tornRun(t, srv, nil, total)
		if len(got) >= total {
			t.Fatalf("nothing lost without the extension: %v", got)
		}
		t.Logf("without ack: %d of %d received: %v", len(got), total, got)
	})
}
