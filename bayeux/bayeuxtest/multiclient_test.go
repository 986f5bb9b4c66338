package bayeuxtest_test

import (
	"testing"
	"time"

	"github.com/bayeux-go/sdk/bayeux/bayeuxtest"
)

// Two sessions of one browser (one cookie jar) with cookie binding on: the
// second's connect is not held while the first's is, and is advised
// multiple-clients; without cookie binding both are held.
func TestMultipleClientsInOneBrowser(t *testing.T) {
	for _, binding := range []bool{true, false} {
		srv := newServer(t, bayeuxtest.WithTimeout(time.Second), bayeuxtest.WithCookieBinding(binding))
		first := newPeer(t, srv)
		first.handshake()
		second := newPeer(t, srv)
		second.c = first.c // the same browser
		second.handshake()
		held := first.asyncPost(testCtx(t), first.connectBody("h", ""))
		if err := srv.WaitHeld(testCtx(t), 1); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		r := second.connect("")
		elapsed := time.Since(start)
		a := r[0].Advice
		switch {
		case binding && (elapsed > 500*time.Millisecond || a == nil || !a.MultipleClients || a.Interval != 1000 || !r[0].Successful):
			t.Errorf("binding on: held %s, reply %+v advice %+v", elapsed, r[0], a)
		case !binding && (elapsed < 500*time.Millisecond || (a != nil && a.MultipleClients)):
			t.Errorf("binding off: held %s, advice %+v", elapsed, a)
		}
		first.await(held)
	}
}
