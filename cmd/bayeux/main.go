// Command bayeux is the command line of the Go Bayeux SDK.
//
//	bayeux demo                      run a demo against the embedded server
//	bayeux serve [-addr host:port]   run the embedded bayeuxtest server
//	bayeux sub  -url URL CHANNEL...  print the messages of channels
//	bayeux pub  -url URL CHANNEL JSON publish one message
//
// The sub and pub commands take -transport (websocket, long-polling or
// callback-polling; default websocket with long-polling fallback).
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"time"

	"github.com/bayeux-go/sdk/bayeux"
	"github.com/bayeux-go/sdk/transport/callbackpoll"
	"github.com/bayeux-go/sdk/transport/longpoll"
	"github.com/bayeux-go/sdk/transport/websocket"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "bayeux:", err)
		os.Exit(1)
	}
}

const usage = `usage: bayeux <command> [flags]

commands:
  demo    run a demo: two clients exchange messages through the embedded server
  serve   run the embedded Bayeux server (long-polling, callback-polling, websocket)
  sub     subscribe to channels and print each message as a JSON line
  pub     publish one message and wait for the server's reply
`

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errors.New("no command")
	}
	switch args[0] {
	case "demo":
		return demo(ctx, stdout)
	case "serve":
		return serve(ctx, args[1:], stdout)
	case "sub":
		return sub(ctx, args[1:], stdout, stderr)
	case "pub":
		return pub(ctx, args[1:], stdout)
	case "conformance":
		return runConformance(ctx, args[1:], stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown command %q", args[0])
}

// transports returns the transports named by the -transport flag.
func transports(name string) ([]bayeux.Transport, error) {
	switch name {
	case "", "websocket":
		return []bayeux.Transport{websocket.New(), longpoll.New()}, nil
	case "long-polling":
		return []bayeux.Transport{longpoll.New()}, nil
	case "callback-polling":
		return []bayeux.Transport{callbackpoll.New()}, nil
	}
	return nil, fmt.Errorf("unknown transport %q", name)
}

func clientFlags(name string, args []string) (*flag.FlagSet, *string, *string, *bool) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	url := fs.String("url", "", "Bayeux server URL, e.g. http://localhost:8080/cometd")
	tr := fs.String("transport", "websocket", "websocket (falls back to long-polling), long-polling or callback-polling")
	verbose := fs.Bool("v", false, "log the session's progress to stderr")
	return fs, url, tr, verbose
}

func newClient(url, tr string, verbose bool, stderr io.Writer) (*bayeux.Client, error) {
	if url == "" {
		return nil, errors.New("-url is required")
	}
	ts, err := transports(tr)
	if err != nil {
		return nil, err
	}
	opts := []bayeux.Option{bayeux.WithTransports(ts...)}
	if verbose {
		opts = append(opts, bayeux.WithLogger(slog.New(slog.NewTextHandler(stderr, nil))),
			bayeux.WithStateListener(func(sc bayeux.StateChange) {
				fmt.Fprintf(stderr, "state %s -> %s %s\n", sc.From, sc.To, errText(sc.Err))
			}))
	}
	return bayeux.NewClient(url, opts...)
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return "(" + err.Error() + ")"
}

func sub(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, url, tr, verbose := clientFlags("sub", args)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return errors.New("sub: name at least one channel")
	}
	c, err := newClient(*url, *tr, *verbose, stderr)
	if err != nil {
		return err
	}
	if err := c.Connect(ctx); err != nil {
		return err
	}
	defer disconnect(c)
	enc := json.NewEncoder(stdout)
	lines := make(chan bayeux.Message, 1024)
	for _, ch := range fs.Args() {
		if _, err := c.Subscribe(ctx, bayeux.Channel(ch), func(m bayeux.Message) { lines <- m }); err != nil {
			return err
		}
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-c.Done():
			return c.Err()
		case m := <-lines:
			if err := enc.Encode(map[string]any{"channel": m.Channel, "data": m.Data}); err != nil {
				return err
			}
		}
	}
}

func pub(ctx context.Context, args []string, stdout io.Writer) error {
	fs, url, tr, verbose := clientFlags("pub", args)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 2 {
		return errors.New("pub: want CHANNEL JSON")
	}
	data := json.RawMessage(fs.Arg(1))
	if !json.Valid(data) {
		return fmt.Errorf("pub: %q is not JSON (quote strings: '\"text\"')", fs.Arg(1))
	}
	c, err := newClient(*url, *tr, *verbose, os.Stderr)
	if err != nil {
		return err
	}
	if err := c.Connect(ctx); err != nil {
		return err
	}
	defer disconnect(c)
	if err := c.Publish(ctx, bayeux.Channel(fs.Arg(0)), data); err != nil {
		return err
	}
	fmt.Fprintln(stdout, "published")
	return nil
}

func disconnect(c *bayeux.Client) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = c.Disconnect(ctx)
}
