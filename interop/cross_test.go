package interop

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bayeux-go/sdk/bayeux/bayeuxtest"
)

// Cross-implementation: Faye's own Node client against the SDK's bayeuxtest
// server, and the Go client exchanging messages with Faye's client through
// the real servers.

// fayeEvent is one JSON line printed by faye_client.js.
type fayeEvent struct {
	Event     string          `json:"event"`
	Ref       string          `json:"ref"`
	Channel   string          `json:"channel"`
	Data      json.RawMessage `json:"data"`
	Error     string          `json:"error"`
	ClientID  string          `json:"clientId"`
	Transport string          `json:"transport"`
	State     string          `json:"state"`
	N         int             `json:"n"`
	Received  int             `json:"received"`
}

// fayeClient drives faye_client.js --stdin.
type fayeClient struct {
	proc *Process
	name string
	refs atomic.Int64
	msgs chan fayeEvent
	read chan struct{} // closed when the reader has seen the end of stdout

	mu         sync.Mutex
	waiting    map[string]chan fayeEvent
	transcript []string
}

// startFayeClient starts Faye's Node client for url over transport tr
// ("long-polling" or "websocket") and ends it when the test ends.
func startFayeClient(t *testing.T, name, url, tr string) *fayeClient {
	t.Helper()
	node := requireInterop(t)
	proc, err := Start(Command{Node: node, Script: "faye_client.js", Args: []string{url, "--stdin", "--transport", tr}, Stdin: true})
	if err != nil {
		t.Fatalf("start faye_client.js: %v", err)
	}
	f := &fayeClient{proc: proc, name: name, msgs: make(chan fayeEvent, 10000), read: make(chan struct{}),
		waiting: make(map[string]chan fayeEvent)}
	go f.readLoop()
	t.Cleanup(func() {
		_ = proc.CloseStdin() // the script disconnects and exits
		select {
		case <-proc.Done():
		case <-time.After(5 * time.Second):
		}
		proc.Stop()
		<-f.read
		if t.Failed() {
			f.mu.Lock()
			t.Logf("faye client %s (%s) transcript:\n%s\nstderr:\n%s", name, tr, strings.Join(f.transcript, "\n"), proc.Stderr())
			f.mu.Unlock()
		}
	})
	return f
}

func (f *fayeClient) readLoop() {
	defer close(f.read)
	for line := range f.proc.Lines() {
		f.mu.Lock()
		f.transcript = append(f.transcript, line)
		f.mu.Unlock()
		var ev fayeEvent
		if json.Unmarshal([]byte(line), &ev) != nil {
			continue
		}
		if ev.Event == "message" {
			f.msgs <- ev
			continue
		}
		if ev.Ref != "" {
			f.mu.Lock()
			ch := f.waiting[ev.Ref]
			delete(f.waiting, ev.Ref)
			f.mu.Unlock()
			if ch != nil {
				ch <- ev
			}
		}
	}
}

// do sends a command and returns its answer; an "error" answer fails the
// test unless allowErr.
func (f *fayeClient) do(t *testing.T, cmd map[string]any, allowErr bool) fayeEvent {
	t.Helper()
	ref := strconv.FormatInt(f.refs.Add(1), 10)
	cmd["ref"] = ref
	b, err := json.Marshal(cmd)
	if err != nil {
		t.Fatal(err)
	}
	ch := make(chan fayeEvent, 1)
	f.mu.Lock()
	f.waiting[ref] = ch
	f.mu.Unlock()
	if err := f.proc.Send(string(b)); err != nil {
		t.Fatalf("faye client %s: send %s: %v", f.name, b, err)
	}
	select {
	case ev := <-ch:
		if ev.Event == "error" && !allowErr {
			t.Fatalf("faye client %s: %s failed: %s", f.name, cmd["op"], ev.Error)
		}
		return ev
	case <-f.proc.Done():
		t.Fatalf("faye client %s exited (%v) during %s", f.name, f.proc.ExitErr(), b)
	case <-time.After(waitLong):
		t.Fatalf("faye client %s: no answer to %s within %v", f.name, b, waitLong)
	}
	return fayeEvent{}
}

func (f *fayeClient) subscribe(t *testing.T, ch string) {
	t.Helper()
	f.do(t, map[string]any{"op": "subscribe", "channel": ch}, false)
}

func (f *fayeClient) publish(t *testing.T, ch string, data any) {
	t.Helper()
	f.do(t, map[string]any{"op": "publish", "channel": ch, "data": data}, false)
}

func (f *fayeClient) info(t *testing.T) fayeEvent {
	t.Helper()
	return f.do(t, map[string]any{"op": "info"}, false)
}

// expect reads the client's next messages, checks channel and n, and
// returns their payloads.
func (f *fayeClient) expect(t *testing.T, want ...string) []payload {
	t.Helper()
	var ps []payload
	for i, w := range want {
		select {
		case ev := <-f.msgs:
			var p payload
			if err := json.Unmarshal(ev.Data, &p); err != nil {
				t.Fatalf("faye client %s: message data %s: %v", f.name, ev.Data, err)
			}
			if got := fmt.Sprintf("%s#%d", ev.Channel, p.N); got != w {
				t.Fatalf("faye client %s: message %d is %s (data %s), want %s", f.name, i+1, got, ev.Data, w)
			}
			ps = append(ps, p)
		case <-time.After(waitLong):
			t.Fatalf("faye client %s: message %d (%s) not received within %v", f.name, i+1, w, waitLong)
		}
	}
	return ps
}

// TestFayeClientWithBayeuxtest runs Faye's own client against the SDK's test
// server, in one-shot mode (subscribe, publish 5, receive its own 5) and
// exchanging messages with a Go client.
func TestFayeClientWithBayeuxtest(t *testing.T) {
	node := requireInterop(t)
	srv := bayeuxtest.NewServer()
	t.Cleanup(srv.Close)
	for _, tr := range []string{lp, ws} {
		t.Run(tr, func(t *testing.T) {
			t.Run("OneShot", func(t *testing.T) {
				base := uniqueChannel(t)
				proc, err := Start(Command{Node: node, Script: "faye_client.js", Args: []string{srv.URL, "--transport", tr,
					"--subscribe", base + "/*", "--publish", base + "/x", "--count", "5", "--timeout-ms", "20000"}})
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(proc.Stop)
				var lines []string
				var got []string
				var done fayeEvent
				for line := range proc.Lines() {
					lines = append(lines, line)
					var ev fayeEvent
					if json.Unmarshal([]byte(line), &ev) != nil {
						continue
					}
					switch ev.Event {
					case "message":
						var p payload
						_ = json.Unmarshal(ev.Data, &p)
						got = append(got, fmt.Sprintf("%s#%d", ev.Channel, p.N))
					case "done":
						if done.Event == "" {
							done = ev
						}
					}
				}
				<-proc.Done()
				if err := proc.ExitErr(); err != nil {
					t.Fatalf("faye_client.js: %v\n%s\nstderr:\n%s", err, strings.Join(lines, "\n"), proc.Stderr())
				}
				want := []string{base + "/x#1", base + "/x#2", base + "/x#3", base + "/x#4", base + "/x#5"}
				if strings.Join(got, " ") != strings.Join(want, " ") {
					t.Errorf("faye client received %v, want %v", got, want)
				}
				if done.Transport != tr {
					t.Errorf("faye client used transport %q, want %q\n%s", done.Transport, tr, strings.Join(lines, "\n"))
				}
			})
			t.Run("WithGoClient", func(t *testing.T) { exchangeWithFaye(t, srv.URL, tr, tr) })
		})
	}
}

// TestGoWithFayeClient exchanges messages between the Go client and Faye's
// Node client through the Faye server (every pair of transports) and the
// CometD server.
func TestGoWithFayeClient(t *testing.T) {
	faye := startPeer(t, "faye")
	for _, goTr := range []string{lp, cp, ws} {
		for _, fayeTr := range []string{lp, ws} {
			t.Run("Faye/go-"+goTr+"/faye-"+fayeTr, func(t *testing.T) { exchangeWithFaye(t, faye.URL(), goTr, fayeTr) })
		}
	}
	cometd := startPeer(t, "cometd")
	t.Run("CometD/go-"+lp+"/faye-"+lp, func(t *testing.T) { exchangeWithFaye(t, cometd.URL(), lp, lp) })
}

// exchangeWithFaye has a Go client and Faye's client publish to each other.
func exchangeWithFaye(t *testing.T, url, goTr, fayeTr string) {
	base := uniqueChannel(t)
	f := startFayeClient(t, "faye", url, fayeTr)
	g := newClient(t, "go", url, []string{goTr})
	g.connect(t)
	f.subscribe(t, base+"/to-faye")
	_, in := g.subscribe(t, base+"/to-go/*")

	// Non-ASCII text must survive both ways (JSONP and websocket included).
	const text = "héllo ✓ 𝄞 \u2028 \"quoted\" </script>"
	for n := 1; n <= 3; n++ {
		g.publish(t, base+"/to-faye", payload{N: n, From: "go", Text: text})
	}
	for _, p := range f.expect(t, base+"/to-faye#1", base+"/to-faye#2", base+"/to-faye#3") {
		if p.From != "go" || p.Text != text {
			t.Errorf("faye client got %+v, want from go with text %q", p, text)
		}
	}
	for n := 4; n <= 6; n++ {
		f.publish(t, base+"/to-go/x", payload{N: n, From: "faye", Text: text})
	}
	for n := 4; n <= 6; n++ {
		m := in.next(t, "go from faye")
		if p := decode(t, m); string(m.Channel) != base+"/to-go/x" || p.N != n || p.From != "faye" || p.Text != text {
			t.Fatalf("go client got %s %s, want %s/to-go/x n=%d from faye with text %q", m.Channel, m.Data, base, n, text)
		}
	}

	if info := f.info(t); info.Transport != fayeTr || info.State != "connected" {
		t.Errorf("faye client: transport %q state %q, want %q connected", info.Transport, info.State, fayeTr)
	}
	checkConnectionType(t, g, goTr)
}
