package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"os/signal"
	"path/filepath"
	"time"

	"github.com/bayeux-go/sdk/bayeux"
	"github.com/bayeux-go/sdk/ext/auth"
	"github.com/bayeux-go/sdk/ext/replay"
	"github.com/bayeux-go/sdk/transport/longpoll"
)

// config is what a run needs.
type config struct {
	url     string
	channel bayeux.Channel
	store   string // the replay id file
	events  int    // events to handle before returning (0: until ctx ends)
	tokens  auth.TokenSource
	// handled, when set, is called with the replay id of each event once
	// it was printed (the embedded simulator follows along).
	handled func(int64)
}

func main() {
	url := flag.String("url", "", "Salesforce's streaming endpoint, https://<my-domain>.my.salesforce.com/cometd/<API version> (empty: an embedded server)")
	channel := flag.String("channel", "/data/ChangeEvents", "the channel: /data/ChangeEvents, /data/<Object>ChangeEvent, /event/<Name>__e or /topic/<PushTopic>")
	store := flag.String("store", "", "the replay id file (default: salesforce-cdc-replay.json; a temporary file for the embedded demo)")
	events := flag.Int("n", 0, "events to handle before exiting (0: until interrupted; the embedded demo stops by itself)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if *store == "" {
		if *url != "" {
			*store = "salesforce-cdc-replay.json"
		} else {
			// The embedded server starts empty: so does the demo's file.
			dir, err := os.MkdirTemp("", "salesforce-cdc")
			if err != nil {
				log.Fatal(err)
			}
			defer os.RemoveAll(dir)
			*store = filepath.Join(dir, "replay.json")
		}
	}
	cfg := config{url: *url, channel: bayeux.Channel(*channel), store: *store, events: *events}
	var err error
	if *url == "" {
		err = demo(ctx, cfg, os.Stdout)
	} else {
		tok := os.Getenv("SF_ACCESS_TOKEN")
		if tok == "" {
			log.Fatal("set SF_ACCESS_TOKEN to an access token (sf org display --json | jq -r .result.accessToken)")
		}
		cfg.tokens = auth.StaticToken(tok)
		err = run(ctx, cfg, os.Stdout)
	}
	if err != nil && !errors.Is(err, context.Canceled) {
		log.Print(err)
		stop()
		os.Exit(1)
	}
}

// run follows cfg.channel and prints each change event.
func run(ctx context.Context, cfg config, out io.Writer) error {
	store, err := replay.OpenFileStore(cfg.store)
	if err != nil {
		return err
	}
	// Close writes the last replay id handled.
	defer store.Close()
	c, err := bayeux.NewClient(cfg.url,
		// Salesforce's Streaming API serves long-polling only.
		bayeux.WithTransports(longpoll.New()),
		bayeux.WithBackoff(100*time.Millisecond, 5*time.Second),
		bayeux.WithErrorHandler(func(err error) { log.Print(err) }),
		bayeux.WithExtensions(
			auth.New(cfg.tokens),
			// A first run starts from every retained event; later ones
			// from the last event handled.
			replay.New(replay.WithStore(store), replay.WithStart(replay.StartAll)),
		))
	if err != nil {
		return err
	}
	if err := c.Connect(ctx); err != nil {
		return err
	}
	defer c.Disconnect(context.WithoutCancel(ctx))

	sub, err := c.Subscribe(ctx, cfg.channel, nil) // pull mode: Next
	if err != nil {
		return err
	}
	for n := 0; cfg.events == 0 || n < cfg.events; n++ {
		m, err := sub.Next(ctx)
		if err != nil {
			return err
		}
		id := printEvent(out, m)
		if cfg.handled != nil {
			cfg.handled(id)
		}
	}
	return nil
}

// changeEvent is what this program reads of a change event.
type changeEvent struct {
	Payload struct {
		Header struct {
			EntityName    string   `json:"entityName"`
			ChangeType    string   `json:"changeType"`
			RecordIDs     []string `json:"recordIds"`
			ChangedFields []string `json:"changedFields"`
		} `json:"ChangeEventHeader"`
	} `json:"payload"`
	Event struct {
		ReplayID int64 `json:"replayId"`
	} `json:"event"`
}

// printEvent writes one line about m and returns its replay id.
func printEvent(out io.Writer, m bayeux.Message) int64 {
	var ev changeEvent
	if err := m.Decode(&ev); err != nil {
		fmt.Fprintf(out, "%s: undecodable event: %v\n", m.Channel, err)
		return 0
	}
	h := ev.Payload.Header
	fmt.Fprintf(out, "replay id %d: %s %s %v %v\n", ev.Event.ReplayID, h.EntityName, h.ChangeType, h.RecordIDs, h.ChangedFields)
	return ev.Event.ReplayID
}
