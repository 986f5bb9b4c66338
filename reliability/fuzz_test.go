package reliability

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bayeux-go/sdk/bayeux"
)

// fuzzTransport answers every request with a scripted body: parts[0]
// answers /meta/handshake, parts[1] /meta/connect, parts[2] subscribe and
// unsubscribe, parts[3] publishes, parts[4] /meta/disconnect; a missing
// part is a plain successful reply. In a part, $ID, $CH and $CID stand for
// the request's id, channel and the session's clientId.
type fuzzTransport struct {
	parts []string
	cfg   bayeux.TransportConfig
	once  sync.Once
	done  chan struct{}
}

const okReply = `[{"id":"$ID","channel":"$CH","successful":true,"clientId":"$CID"}]`

func (t *fuzzTransport) Name() string { return bayeux.ConnectionTypeLongPolling }

func (t *fuzzTransport) Init(cfg bayeux.TransportConfig) error { t.cfg = cfg; return nil }

func (t *fuzzTransport) RoundTrip(ctx context.Context, _ string, msgs []bayeux.Message) ([]bayeux.Message, error) {
	m := msgs[0]
	k := 3
	switch m.Channel {
	case bayeux.MetaHandshake:
		k = 0
	case bayeux.MetaConnect:
		k = 1
		if m.Advice == nil {
			// A held connect: wait a little, so that the loop does not spin.
			select {
			case <-time.After(2 * time.Millisecond):
			case <-ctx.Done():
				return nil, &bayeux.TransportError{ConnectionType: t.Name(), Err: ctx.Err()}
			case <-t.done:
				return nil, bayeux.ErrClosed
			}
		}
	case bayeux.MetaSubscribe, bayeux.MetaUnsubscribe:
		k = 2
	case bayeux.MetaDisconnect:
		k = 4
	}
	body := okReply
	if k < len(t.parts) {
		body = t.parts[k]
	}
	body = strings.NewReplacer("$ID", m.ID, "$CH", string(m.Channel), "$CID", "c1").Replace(body)
	replies, err := bayeux.DecodeMessages([]byte(body))
	if err != nil {
		return nil, &bayeux.TransportError{ConnectionType: t.Name(), Err: err}
	}
	return replies, nil
}

func (t *fuzzTransport) Close() error {
	t.once.Do(func() { close(t.done) })
	return nil
}

// FuzzClientReplies drives a whole client (connect, subscribe, publish,
// disconnect) against arbitrary server replies: whatever they hold, no
// call panics or hangs, every failure is an error value, a subscriber
// only gets messages on channels its pattern matches, and Disconnect
// returns promptly.
func FuzzClientReplies(f *testing.F) {
	hs := `[{"id":"$ID","channel":"/meta/handshake","successful":true,"clientId":"c1","version":"1.0","supportedConnectionTypes":["long-polling"]}]`
	for _, parts := range [][]string{
		{hs},
		{hs, `[{"id":"$ID","channel":"/meta/connect","successful":true,"advice":{"reconnect":"retry","interval":0,"timeout":100}},{"channel":"/a/b","data":1}]`},
		{hs, okReply, `[{"id":"$ID","channel":"/meta/subscribe","successful":true,"subscription":"/a/*"},{"channel":"/a/x","data":{"n":1}},{"channel":"/a/**","data":2}]`},
		{hs, `[{"id":"$ID","channel":"/meta/connect","successful":false,"error":"402::Unknown client","advice":{"reconnect":"handshake"}}]`},
		{hs, `[{"id":"$ID","channel":"/meta/connect","successful":false,"advice":{"reconnect":"none"}}]`},
		{hs, `[{"id":"$ID","channel":"/meta/connect","successful":true,"advice":{"interval":2147483647}}]`},
		{hs, okReply, `[{"id":"$ID","channel":"/meta/subscribe","successful":false,"error":"403:/a/*:denied"}]`},
		{hs, okReply, okReply, `[{"id":"$ID","channel":"$CH","successful":false,"error":"bogus"},{"id":"$ID","channel":"$CH","successful":true}]`},
		{`[{"id":"$ID","channel":"/meta/handshake","successful":false,"error":"401::auth","advice":{"reconnect":"none"}}]`},
		{`[{"id":"$ID","channel":"/meta/handshake","successful":true}]`},
		{`[{"channel":"/meta/handshake"`},
		{hs, `[]`, `[{"id":"other","channel":"/meta/subscribe","successful":true}]`, `{}`},
		{hs, `[{"channel":"/a/y","data":"pushed","id":"$ID"},{"id":"$ID","channel":"/meta/connect","successful":true}]`},
	} {
		f.Add(strings.Join(parts, "\x1e"))
	}
	f.Fuzz(func(t *testing.T, script string) {
		watchdog := time.AfterFunc(8*time.Second, func() {
			buf := make([]byte, 1<<20)
			n := runtime.Stack(buf, true)
			panic(fmt.Sprintf("iteration hung on %q; goroutines:\n%s", script, buf[:n]))
		})
		defer watchdog.Stop()
		tr := &fuzzTransport{parts: strings.Split(script, "\x1e"), done: make(chan struct{})}
		c, err := bayeux.NewClient("http://fuzz.invalid/bayeux", bayeux.WithTransports(tr),
			bayeux.WithMaxNetworkDelay(30*time.Millisecond), bayeux.WithBackoff(time.Millisecond, 5*time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		check := func(what string, err error) {
			if err != nil && err.Error() == "" {
				t.Fatalf("%s: error %T with no text", what, err)
			}
		}
		check("Connect", c.Connect(ctx))
		pattern := bayeux.Channel("/a/*")
		var wrong []bayeux.Channel
		var mu sync.Mutex
		_, err = c.Subscribe(ctx, pattern, func(m bayeux.Message) {
			if !pattern.Match(m.Channel) {
				mu.Lock()
				wrong = append(wrong, m.Channel)
				mu.Unlock()
			}
		})
		check("Subscribe", err)
		check("Publish", c.Publish(ctx, "/a/b", map[string]int{"n": 1}))
		start := time.Now()
		dctx, dcancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer dcancel()
		check("Disconnect", c.Disconnect(dctx))
		if d := time.Since(start); d > 1500*time.Millisecond {
			t.Fatalf("Disconnect took %v", d)
		}
		select {
		case <-c.Done():
		case <-time.After(2 * time.Second):
			t.Fatal("Done not closed 2 s after Disconnect")
		}
		mu.Lock()
		defer mu.Unlock()
		if len(wrong) > 0 {
			t.Fatalf("a subscriber of %s got messages on %v", pattern, wrong)
		}
	})
}
