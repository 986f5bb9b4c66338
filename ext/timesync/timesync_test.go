package timesync_test

import (
	"context"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/bayeux-go/sdk/bayeux"
	"github.com/bayeux-go/sdk/bayeux/bayeuxtest"
	"github.com/bayeux-go/sdk/ext/timesync"
	"github.com/bayeux-go/sdk/transport/longpoll"
	"github.com/bayeux-go/sdk/transport/websocket"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// connected returns a client with ext connected to srv over tr; it
// disconnects when the test ends.
func connected(t *testing.T, srv *bayeuxtest.Server, tr bayeux.Transport, ext *timesync.Extension) *bayeux.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := bayeux.NewClient(srv.URL, bayeux.WithHTTPClient(srv.Client()), bayeux.WithTransports(tr), bayeux.WithExtensions(ext))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = c.Disconnect(ctx)
	})
	return c
}

func waitSamples(t *testing.T, ext *timesync.Extension, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for ext.Samples() < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d samples after 10 s, want %d", ext.Samples(), n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// near reports whether d is within tol of want.
func near(d, want, tol time.Duration) bool { return d >= want-tol && d <= want+tol }

// The in-process server answers within milliseconds, so the estimates must
// land close to the server's artificial offset whatever the transport.
func TestOffsetAgainstShiftedServer(t *testing.T) {
	const tol = 250 * time.Millisecond
	for _, offset := range []time.Duration{5 * time.Second, -3*time.Second - 250*time.Millisecond} {
		for name, tr := range map[string]func() bayeux.Transport{
			"long-polling": func() bayeux.Transport { return longpoll.New() },
			"websocket":    func() bayeux.Transport { return websocket.New() },
		} {
			t.Run(name+"/"+offset.String(), func(t *testing.T) {
				srv := bayeuxtest.NewServer(bayeuxtest.WithExtension(bayeuxtest.NewTimesync(offset)),
					bayeuxtest.WithTimeout(50*time.Millisecond))
				defer srv.Close()
				ext := timesync.New()
				connected(t, srv, tr(), ext)
				waitSamples(t, ext, 4)
				if got := ext.Offset(); !near(got, offset, tol) {
					t.Fatalf("Offset() = %v, want %v ± %v", got, offset, tol)
				}
				if lag := ext.Lag(); lag < 0 || lag > tol {
					t.Fatalf("Lag() = %v on a local server", lag)
				}
				if d := time.Until(ext.ServerTime()); !near(d, offset, tol) {
					t.Fatalf("ServerTime() is %v from now, want %v", d, offset)
				}
				// The client sent its estimates back: the server's record
				// of the last connect carries them.
				var sawEstimate bool
				for _, m := range srv.Received() {
					if ts, ok := m.Ext["timesync"].(map[string]any); ok && ts["o"] != float64(0) {
						sawEstimate = true
					}
				}
				if !sawEstimate {
					t.Fatal("no message carried the client's offset estimate")
				}
			})
		}
	}
}

func TestNoServerSupport(t *testing.T) {
	srv := bayeuxtest.NewServer(bayeuxtest.WithTimeout(50 * time.Millisecond))
	defer srv.Close()
	ext := timesync.New()
	connected(t, srv, longpoll.New(), ext)
	if err := srv.WaitFor(context.Background(), func(s *bayeuxtest.Server) bool { return s.Count(bayeux.MetaConnect) >= 3 }); err != nil {
		t.Fatal(err)
	}
	if ext.Samples() != 0 || ext.Offset() != 0 || ext.Lag() != 0 {
		t.Fatalf("estimates without a timesync server: %d samples, offset %v, lag %v", ext.Samples(), ext.Offset(), ext.Lag())
	}
	if m := srv.Received()[0]; m.Ext["timesync"] == nil {
		t.Fatalf("handshake without ext.timesync: %+v", m)
	}
}

// TestAlgorithm checks CometD's formulas and the sliding average with a
// scripted clock: lag = (now - tc - p) / 2 and offset = ts - tc - lag.
func TestAlgorithm(t *testing.T) {
	now := time.UnixMilli(1_000_000)
	ext := timesync.New(timesync.WithSamples(2), timesync.WithClock(func() time.Time { return now }))
	answer := func(tc, ts, p int64) {
		m := bayeux.Message{Channel: bayeux.MetaConnect, Ext: map[string]any{
			"timesync": map[string]any{"tc": float64(tc), "ts": float64(ts), "p": float64(p), "a": float64(0)}}}
		ext.Incoming(&m)
	}
	// Sent at 1 000 000, received by the server at 1 005 040 (its clock),
	// held 100 ms, back at 1 000 180: lag 40, offset 5 000.
	now = time.UnixMilli(1_000_180)
	answer(1_000_000, 1_005_040, 100)
	if ext.Lag() != 40*time.Millisecond || ext.Offset() != 5*time.Second {
		t.Fatalf("lag %v offset %v, want 40ms 5s", ext.Lag(), ext.Offset())
	}
	now = time.UnixMilli(1_000_300)
	answer(1_000_280, 1_005_300, 0) // lag 10, offset 5 010
	if ext.Lag() != 25*time.Millisecond || ext.Offset() != 5005*time.Millisecond {
		t.Fatalf("average of two: lag %v offset %v", ext.Lag(), ext.Offset())
	}
	now = time.UnixMilli(1_000_400)
	answer(1_000_380, 1_005_390, 0) // lag 10, offset 5 000; the first sample leaves the window
	if ext.Lag() != 10*time.Millisecond || ext.Offset() != 5005*time.Millisecond {
		t.Fatalf("window of two: lag %v offset %v", ext.Lag(), ext.Offset())
	}
	answer(1_000_500, 0, 0) // a negative lag: ignored
	if ext.Samples() != 2 {
		t.Fatalf("samples %d", ext.Samples())
	}
	out := bayeux.Message{Channel: bayeux.MetaConnect}
	ext.Outgoing(&out)
	ts := out.Ext["timesync"].(map[string]any)
	if ts["tc"] != now.UnixMilli() || ts["l"] != int64(10) || ts["o"] != int64(5005) {
		t.Fatalf("outgoing ext.timesync %v", ts)
	}
	pub := bayeux.Message{Channel: "/a"}
	if ext.Outgoing(&pub); pub.Ext != nil {
		t.Fatalf("a publish got ext %v", pub.Ext)
	}
}
