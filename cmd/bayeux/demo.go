package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/bayeux-go/sdk/bayeux"
	"github.com/bayeux-go/sdk/bayeux/bayeuxtest"
	"github.com/bayeux-go/sdk/transport/longpoll"
	"github.com/bayeux-go/sdk/transport/websocket"
)

func init() {
	register(&command{
		name:    "demo",
		summary: "run a demo: two clients exchange messages through the embedded server",
		about: `Start the embedded server and two clients (alice over websocket, bob over
long-polling): bob subscribes with a wildcard, alice publishes and makes a
remote call, then the server drops bob's session and bob recovers by
itself. Takes a few seconds and prints what happens.`,
		example: "bayeux demo",
		flags: func(*flag.FlagSet) func(context.Context, *env, []string) error {
			return func(ctx context.Context, e *env, _ []string) error { return demo(ctx, e.stdout) }
		},
	})
}

// demo runs two clients against the embedded server: one over websocket,
// one over long-polling. They subscribe, publish, make a remote call, and
// live through the server dropping a session.
func demo(ctx context.Context, w io.Writer) error {
	// State listeners print from the clients' goroutines.
	out := &lockedWriter{w: w}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()

	srv := bayeuxtest.NewServer(bayeuxtest.WithTimeout(2 * time.Second))
	defer srv.Close()
	srv.HandleService("/service/time", func(bayeux.Message) (any, error) {
		return map[string]string{"zone": "UTC", "note": "answered by the server"}, nil
	})
	fmt.Fprintf(out, "embedded Bayeux server at %s\n", srv.URL)

	newClient := func(name string, ts ...bayeux.Transport) (*bayeux.Client, error) {
		return bayeux.NewClient(srv.URL, bayeux.WithTransports(ts...),
			bayeux.WithStateListener(func(sc bayeux.StateChange) {
				fmt.Fprintf(out, "  [%s] %s -> %s\n", name, sc.From, sc.To)
			}))
	}
	alice, err := newClient("alice", websocket.New(), longpoll.New())
	if err != nil {
		return err
	}
	bob, err := newClient("bob", longpoll.New())
	if err != nil {
		return err
	}
	for _, c := range []*bayeux.Client{alice, bob} {
		if err := c.Connect(ctx); err != nil {
			return err
		}
		defer disconnect(c)
	}
	fmt.Fprintf(out, "alice uses %s, bob uses %s\n", alice.TransportName(), bob.TransportName())

	got := make(chan string, 16)
	if _, err := bob.Subscribe(ctx, "/chat/**", func(m bayeux.Message) {
		var text string
		_ = json.Unmarshal(m.Data, &text)
		got <- fmt.Sprintf("bob received on %s: %q", m.Channel, text)
	}); err != nil {
		return err
	}
	for _, ch := range []bayeux.Channel{"/chat/general", "/chat/go/generics"} {
		if err := alice.Publish(ctx, ch, "hello from alice on "+string(ch)); err != nil {
			return err
		}
		fmt.Fprintf(out, "alice published to %s (server acknowledged)\n", ch)
		if err := waitLine(ctx, out, got); err != nil {
			return err
		}
	}

	reply, err := alice.Call(ctx, "/service/time", nil)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "alice called /service/time: %s\n", reply.Data)

	fmt.Fprintln(out, "the server drops bob's session; bob re-handshakes and re-subscribes by itself")
	srv.ExpireSession(bob.ClientID())
	for i := 0; ; i++ {
		if err := alice.Publish(ctx, "/chat/general", fmt.Sprintf("are you back? (%d)", i)); err != nil {
			return err
		}
		select {
		case line := <-got:
			fmt.Fprintln(out, line)
			fmt.Fprintln(out, "done")
			return nil
		case <-time.After(300 * time.Millisecond):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func waitLine(ctx context.Context, out io.Writer, got <-chan string) error {
	select {
	case line := <-got:
		fmt.Fprintln(out, line)
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// lockedWriter serializes writes from several goroutines.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

// Write implements io.Writer.
func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
