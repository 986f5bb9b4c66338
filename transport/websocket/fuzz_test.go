package websocket

import (
	"errors"
	"strings"
	"testing"

	"github.com/bayeux-go/sdk/bayeux"
)

// FuzzHandleFrame feeds arbitrary frames to the reader's dispatch: it must
// never panic, must reject what DecodeMessages rejects with a
// *bayeux.TransportError wrapping the *bayeux.DecodeError, and must account
// for every decoded message exactly once (a reply to a pending request or
// a message for Receive).
func FuzzHandleFrame(f *testing.F) {
	seeds := []string{
		`[{"id":"1","channel":"/meta/connect","successful":true}]`,
		`[{"channel":"/foo","data":{"a":1}},{"id":"2","channel":"/foo","successful":true},{"channel":"/foo","data":2}]`,
		`[{"id":"1","channel":"/foo","data":"event reusing a pending id"}]`,
		`{"id":"3","channel":"/meta/subscribe","successful":false,"error":"403::denied"}`,
		`[{"id":1,"channel":"/meta/connect","successful":true}]`,
		`[{"id":"1","channel":"/meta/connect","successful":true},{"id":"1","channel":"/meta/connect","successful":true}]`,
		`[]`, ``, `[{"channel":`, `"str"`, `[{"data":1}]`, `[null]`, `[[]]`,
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, frame []byte) {
		var received int
		tr := New()
		tr.receive = func(msgs []bayeux.Message) {
			if len(msgs) == 0 {
				t.Fatal("Receive called with no message")
			}
			if cap(msgs) != len(msgs) {
				t.Fatal("Receive given a slice it could append into the frame's messages")
			}
			received += len(msgs)
		}
		c := &conn{t: tr, pending: make(map[string]*call), done: make(chan struct{})}
		calls := map[string]*call{}
		for _, id := range []string{"1", "2", "3"} {
			cl := &call{remaining: 1, done: make(chan struct{})}
			c.pending[id], calls[id] = cl, cl
		}
		// Copy: decoded messages alias the frame.
		in := append([]byte(nil), frame...)
		err := c.handleFrame(in)
		want, derr := bayeux.DecodeMessages(frame)
		if derr != nil {
			var te *bayeux.TransportError
			var de *bayeux.DecodeError
			if !errors.As(err, &te) || !errors.As(err, &de) {
				t.Fatalf("malformed frame: err = %v (decode: %v)", err, derr)
			}
			return
		}
		if err != nil {
			t.Fatalf("valid frame rejected: %v", err)
		}
		replies := 0
		for id, cl := range calls {
			if cl.finished {
				replies += len(cl.replies)
				if len(cl.replies) != 1 || cl.replies[0].ID != id {
					t.Fatalf("call %s got %+v", id, cl.replies)
				}
				if _, still := c.pending[id]; still {
					t.Fatalf("answered id %s still pending", id)
				}
				select {
				case <-cl.done:
				default:
					t.Fatalf("call %s finished but not woken", id)
				}
			}
		}
		if replies+received != len(want) {
			t.Fatalf("%d replies + %d received != %d messages", replies, received, len(want))
		}
	})
}

// FuzzToWebSocketURL checks that any URL maps to a ws or wss URL without
// user information, or to an error, and never panics.
func FuzzToWebSocketURL(f *testing.F) {
	for _, s := range []string{"http://h/x", "https://u:p@h:1/x?q#f", "ws://h", "wss://[::1]:8/", "ftp://h", "", "%zz", "http://"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		u, auth, err := toWebSocketURL(raw)
		if err != nil {
			return
		}
		if !strings.HasPrefix(u, "ws://") && !strings.HasPrefix(u, "wss://") {
			t.Fatalf("%q -> %q", raw, u)
		}
		if auth != "" && !strings.HasPrefix(auth, "Basic ") {
			t.Fatalf("auth %q", auth)
		}
		if _, _, err := toWebSocketURL(u); err != nil {
			t.Fatalf("mapped URL %q rejected: %v", u, err)
		}
	})
}
