package loadgen

import (
	"context"
	"encoding/json"
	"runtime"
	"strings"
	"testing"
	"time"
)

// TestRunTinyLoad runs a tiny load (10 clients, 2 s) against bayeuxtest
// in a child process, over each transport, and checks that the JSON
// result adds up: every expected delivery arrived, nothing was lost,
// dropped or failed, and the latencies are ordered.
func TestRunTinyLoad(t *testing.T) {
	for _, tr := range []string{LongPolling, WebSocket} {
		t.Run(tr, func(t *testing.T) {
			srv := serverProcess(t, "bayeuxtest")
			var progress strings.Builder
			res, err := Run(context.Background(), Config{
				URL: srv.URL, Transport: tr, Clients: 10, Publishers: 2, Rooms: 4, RoomsPerClient: 2,
				Rate: 200, Duration: 2 * time.Second, Progress: &progress,
			})
			if err != nil {
				t.Fatal(err)
			}
			raw, err := json.Marshal(res)
			if err != nil {
				t.Fatal(err)
			}
			var got Result
			if err := json.Unmarshal(raw, &got); err != nil {
				t.Fatal(err)
			}
			t.Logf("%s", raw)
			// 10 clients in 2 of 4 rooms each: 5 subscribers per room.
			if got.Subscriptions != 20 {
				t.Errorf("subscriptions = %d, want 20", got.Subscriptions)
			}
			// 200 messages/s for 2 s, give or take the pacing at the ends.
			if got.Sent < 300 || got.Sent > 420 {
				t.Errorf("sent = %d, want about 400", got.Sent)
			}
			if got.Expected != 5*got.Sent {
				t.Errorf("expected = %d, want 5 × sent = %d", got.Expected, 5*got.Sent)
			}
			if got.Received != got.Expected || got.Lost != 0 || got.Unexpected != 0 || got.Dropped != 0 ||
				got.SendFailures != 0 || got.ClientErrors != 0 || !got.OK() {
				t.Errorf("received %d of %d: lost %d, unexpected %d, dropped %d, send failures %d, errors %d %q",
					got.Received, got.Expected, got.Lost, got.Unexpected, got.Dropped, got.SendFailures, got.ClientErrors, got.Errors)
			}
			l := got.Latency
			if l.Count != got.Received || !(0 < l.P50 && l.P50 <= l.P90 && l.P90 <= l.P99 && l.P99 <= l.P999 && l.P999 <= l.Max) {
				t.Errorf("latency %+v for %d deliveries", l, got.Received)
			}
			if got.SendRate < 150 || got.SendRate > 250 || got.ReceiveRate <= 0 {
				t.Errorf("send rate %.0f/s (want about 200), receive rate %.0f/s", got.SendRate, got.ReceiveRate)
			}
			if got.Config.Clients != 10 || got.Config.Transport != tr || got.Host.CPUs == 0 {
				t.Errorf("config or host not recorded: %+v %+v", got.Config, got.Host)
			}
			if runtime.GOOS == "linux" && (got.MachineCPUSeconds <= 0 || got.MachineBusyCPUSeconds <= 0) {
				t.Errorf("machine CPU not measured: busy %v of %v", got.MachineBusyCPUSeconds, got.MachineCPUSeconds)
			}
			if !strings.Contains(progress.String(), "received") {
				t.Errorf("no progress line: %q", progress.String())
			}
		})
	}
}

func TestRunBatches(t *testing.T) {
	srv := serverProcess(t, "bayeuxtest")
	res, err := Run(context.Background(), Config{
		URL: srv.URL, Transport: WebSocket, Clients: 3, Rooms: 1, BatchSize: 5,
		BatchPause: 50 * time.Millisecond, MessageSize: 300, Duration: 500 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Sent == 0 || res.Sent%5 != 0 || res.Expected != 3*res.Sent || !res.OK() {
		t.Errorf("sent %d (want a positive multiple of 5), expected %d, received %d, ok %v",
			res.Sent, res.Expected, res.Received, res.OK())
	}
}

func TestConfigErrors(t *testing.T) {
	for _, c := range []Config{
		{},
		{URL: "http://x", Transport: "carrier-pigeon"},
		{URL: "http://x", Rooms: 2, RoomsPerClient: 3},
		{URL: "http://x", Rate: -1},
	} {
		if _, err := Run(context.Background(), c); err == nil {
			t.Errorf("Run(%+v): no error", c)
		}
	}
}

func TestRoomMembers(t *testing.T) {
	c := Config{URL: "http://x", Clients: 7, Rooms: 3, RoomsPerClient: 2}
	if err := c.defaults(); err != nil {
		t.Fatal(err)
	}
	var total int64
	for _, m := range c.members() {
		total += m
	}
	if total != 14 {
		t.Errorf("members add up to %d, want 7 clients × 2 rooms", total)
	}
	if r := c.rooms(2); r[0] != 1 || r[1] != 2 {
		t.Errorf("rooms of client 2 = %v, want [1 2]", r)
	}
}

func TestPayload(t *testing.T) {
	sent := time.Unix(1764320000, 123456789)
	for _, size := range []int{1, 40, 300} {
		p := payload(nil, sent, 42, size)
		if !json.Valid(p) {
			t.Fatalf("payload %q is not JSON", p)
		}
		if size >= 40 && len(p) != size {
			t.Errorf("payload of size %d is %d bytes", size, len(p))
		}
		got, ok := sentAt(p)
		if !ok || !got.Equal(sent) {
			t.Errorf("sentAt(%q) = %v %v, want %v", p, got, ok, sent)
		}
	}
	for _, bad := range []string{``, `{}`, `{"t":"x"}`, `{"t":12345678901234567890}`, `[1]`} {
		if _, ok := sentAt([]byte(bad)); ok {
			t.Errorf("sentAt(%q) reports a time", bad)
		}
	}
}

func FuzzSentAt(f *testing.F) {
	f.Add([]byte(`{"t":1764320000123456789,"s":1,"p":""}`))
	f.Add([]byte(`{"t":`))
	f.Fuzz(func(t *testing.T, data []byte) {
		sentAt(data) // must not panic
	})
}
