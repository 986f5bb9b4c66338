package replay_test

import (
	"slices"
	"testing"
	"time"

	"github.com/bayeux-go/sdk/bayeux"
	"github.com/bayeux-go/sdk/bayeux/bayeuxtest"
	"github.com/bayeux-go/sdk/ext/replay"
	"github.com/bayeux-go/sdk/internal/chaosproxy"
	"github.com/bayeux-go/sdk/internal/testenv"
)

// brokenPush connects a websocket client through a proxy, and has the
// proxy break the connection in the middle of an event the server pushed
// while no request was waiting (between a /meta/connect answer and the
// next /meta/connect, which the long advised interval makes wide). The
// server took the event as delivered; the client's next /meta/connect, on
// a new socket, succeeds in the same session. It returns the events
// published before the break, the broken one, and one published after.
func brokenPush(t *testing.T, exts ...bayeux.MessageExtender) (before, broken, after int64, got *handledIDs) {
	t.Helper()
	srv := bayeuxtest.NewServer(bayeuxtest.WithReplay(0), bayeuxtest.WithOneChannelSubscriptions(true),
		bayeuxtest.WithTimeout(100*time.Millisecond), bayeuxtest.WithInterval(time.Second))
	t.Cleanup(srv.Close)
	proxy, proxied, err := chaosproxy.Front(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = proxy.Close() })
	c := connectURL(t, proxied, bayeux.WithTransports(newTransport("websocket")),
		bayeux.WithBackoff(10*time.Millisecond, 100*time.Millisecond), bayeux.WithExtensions(exts...))
	got = &handledIDs{}
	if _, err := c.Subscribe(testCtx(t), orders, got.handle); err != nil {
		t.Fatal(err)
	}
	before = publish(t, srv, orders, 1)[0]
	testenv.Eventually(t, "the first event", func() bool { return got.has(before) })
	// Right after a /meta/connect answer: a second before the next one.
	last := c.Stats().LastConnect
	testenv.Eventually(t, "a /meta/connect answer", func() bool { return c.Stats().LastConnect.After(last) })
	proxy.Inject(chaosproxy.Truncate, 0)
	broken = publish(t, srv, orders, 1)[0]
	testenv.Eventually(t, "the broken connection", func() bool { return proxy.Counts()[chaosproxy.Truncate] == 1 })
	if n := srv.HeldConnects(); n != 0 {
		t.Logf("%d /meta/connect held when the event was pushed: not the case under test", n)
	}
	testenv.Eventually(t, "a new connection", func() bool { return c.Stats().WebSocketRedials > 0 })
	after = publish(t, srv, orders, 1)[0]
	testenv.Eventually(t, "the event published after the break", func() bool { return got.has(after) })
	return before, broken, after, got
}

// An event lost with a broken websocket while no request was waiting is
// recovered by replay: the client resumes from the last event handled
// rather than go on in a session whose server thinks it delivered the
// event. Without replay (the control), that event is lost, which shows the
// break took it.
func TestBrokenWebSocketLosesNothing(t *testing.T) {
	t.Run("replay", func(t *testing.T) {
		ext := replay.New()
		before, broken, after, got := brokenPush(t, ext)
		if all := got.ids(); !slices.Equal(all, []int64{before, broken, after}) {
			t.Fatalf("handled %v, want %v (each event once, in order)", all, []int64{before, broken, after})
		}
		if ext.Resumes() != 1 {
			t.Fatalf("%d resumes, want 1", ext.Resumes())
		}
	})
	t.Run("control without replay", func(t *testing.T) {
		before, broken, after, got := brokenPush(t)
		if all := got.ids(); !slices.Equal(all, []int64{before, after}) {
			t.Fatalf("handled %v, want %v: the broken connection took event %d", all, []int64{before, after}, broken)
		}
	})
}
