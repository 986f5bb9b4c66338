package reliability

import (
	"context"
	"encoding/json"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/bayeux-go/sdk/bayeux"
	"github.com/bayeux-go/sdk/bayeux/bayeuxtest"
	"github.com/bayeux-go/sdk/ext/ack"
	"github.com/bayeux-go/sdk/transport/longpoll"
)

// knownBugsEnv runs the tests of known limits instead of skipping them.
const knownBugsEnv = "BAYEUX_KNOWN_BUGS"

// skipKnownBug skips a test that shows a known limit, unless
// BAYEUX_KNOWN_BUGS=1.
func skipKnownBug(t *testing.T, reason string) {
	t.Helper()
	if os.Getenv(knownBugsEnv) != "1" {
		t.Skipf("known limit (run with %s=1 to see it fail): %s", knownBugsEnv, reason)
	}
}

// reorderReason is why events can be delivered out of order without the
// ack extension.
const reorderReason = "events that a server queued while no /meta/connect was held ride on the " +
	"response of another request of the session (a publish, a subscribe); when that response is slower " +
	"than the next /meta/connect's, the connect's later events arrive first. Bayeux gives no order " +
	"across concurrent responses (no sequence numbers), so no client can restore it; servers keep " +
	"events for /meta/connect replies with the ack extension (CometD's metaConnectDeliveryOnly)."

// concurrentResponses plays the scenario: the server advises an interval,
// so events queue between connects; a publish in that gap takes the
// queued event in its response, which is slow; the next connect brings a
// later event at once. It returns the order of delivery. connectOnly
// makes the server keep events for /meta/connect replies.
func concurrentResponses(t *testing.T, withAck, connectOnly bool) []int {
	opts := []bayeuxtest.Option{bayeuxtest.WithTimeout(2 * time.Second), bayeuxtest.WithInterval(300 * time.Millisecond),
		bayeuxtest.WithMetaConnectDeliveryOnly(connectOnly)}
	copts := []bayeux.Option{bayeux.WithTransports(longpoll.New())}
	if withAck {
		opts = append(opts, bayeuxtest.WithAckExtension(true))
		copts = append(copts, bayeux.WithExtensions(ack.New()))
	}
	srv := bayeuxtest.NewServer(opts...)
	defer srv.Close()
	c, err := bayeux.NewClient(srv.URL, copts...)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := c.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	defer c.Disconnect(context.Background())
	var mu sync.Mutex
	var got []int
	three := make(chan struct{})
	if _, err := c.Subscribe(ctx, "/x", func(m bayeux.Message) {
		var n int
		_ = json.Unmarshal(m.Data, &n)
		mu.Lock()
		got = append(got, n)
		mu.Unlock()
		if len(got) == 3 {
			close(three)
		}
	}); err != nil {
		t.Fatal(err)
	}
	if err := srv.WaitHeld(ctx, 1); err != nil {
		t.Fatal(err)
	}
	_ = srv.Publish("/x", 1) // answers the held connect; the next waits the interval
	for n := 0; n == 0; time.Sleep(time.Millisecond) {
		mu.Lock()
		n = len(got)
		mu.Unlock()
	}
	_ = srv.Publish("/x", 2) // queued: no connect is held
	srv.InjectFault(bayeuxtest.Fault{Channel: "/y", Delay: 800 * time.Millisecond})
	go func() { _ = c.Publish(ctx, "/y", "may take event 2 along, slowly") }()
	if err := srv.WaitFor(ctx, func(s *bayeuxtest.Server) bool { return s.PendingFaults() == 0 && s.HeldConnects() == 1 }); err != nil {
		t.Fatal(err)
	}
	_ = srv.Publish("/x", 3) // answers the next connect at once
	select {
	case <-three:
	case <-ctx.Done():
		t.Fatal("events not delivered")
	}
	mu.Lock()
	defer mu.Unlock()
	return append([]int(nil), got...)
}

// With the ack extension, events travel in /meta/connect replies only, so
// they arrive in the server's order even when another response is slow.
func TestEventsOfConcurrentResponsesKeepOrderWithAck(t *testing.T) {
	if got := concurrentResponses(t, true, false); got[0] != 1 || got[1] != 2 || got[2] != 3 {
		t.Fatalf("delivered %v, want [1 2 3]", got)
	}
}

// Without it, a server that keeps events for /meta/connect replies
// (CometD's metaConnectDeliveryOnly, Faye) keeps the order too.
func TestEventsOfConcurrentResponsesKeepOrderWithConnectDeliveryOnly(t *testing.T) {
	if got := concurrentResponses(t, false, true); got[0] != 1 || got[1] != 2 || got[2] != 3 {
		t.Fatalf("delivered %v, want [1 2 3]", got)
	}
}

// Without either, the order across concurrent responses is the network's: the
// known limit, shown when BAYEUX_KNOWN_BUGS=1.
func TestEventsOfConcurrentResponsesWithoutAck(t *testing.T) {
	skipKnownBug(t, reorderReason)
	if got := concurrentResponses(t, false, false); got[0] != 1 || got[1] != 2 || got[2] != 3 {
		t.Fatalf("delivered %v, want [1 2 3]", got)
	}
}
