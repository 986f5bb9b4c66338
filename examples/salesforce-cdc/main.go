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
	"github.com/bayeux-go/sdk/contrib/salesforce"
	"github.com/bayeux-go/sdk/ext/auth"
	"github.com/bayeux-go/sdk/ext/replay"
)

// config is what a run needs.
type config struct {
	instance string // the org's instance URL ("": the token response's)
	version  string // the API version ("": salesforce.DefaultAPIVersion)
	channel  bayeux.Channel
	store    string // the replay id file
	events   int    // events to handle before returning (0: until ctx ends)
	tokens   auth.TokenSource
	// handled, when set, is called with the replay id of each event once
	// it was printed (the embedded simulator follows along).
	handled func(int64)
}

func main() {
	instance := flag.String("instance", "", "the org's instance URL, https://<my-domain>.my.salesforce.com (default: the instance_url of the token response; required with SF_ACCESS_TOKEN)")
	version := flag.String("api-version", salesforce.DefaultAPIVersion, "the API version of the streaming endpoint")
	channel := flag.String("channel", "/data/ChangeEvents", "the channel: /data/ChangeEvents, /data/<Object>ChangeEvent, /event/<Name>__e or /topic/<PushTopic>")
	store := flag.String("store", "", "the replay id file (default: salesforce-cdc-replay.json; a temporary file for the embedded demo)")
	events := flag.Int("n", 0, "events to handle before exiting (0: until interrupted; the embedded demo stops by itself)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	tokens, err := credentials(ctx)
	if err != nil {
		log.Fatal(err)
	}
	if *store == "" {
		if tokens != nil {
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
	cfg := config{instance: *instance, version: *version, channel: bayeux.Channel(*channel), store: *store, events: *events, tokens: tokens}
	if tokens == nil {
		err = demo(ctx, cfg, os.Stdout)
	} else {
		err = run(ctx, cfg, os.Stdout)
	}
	if err != nil && !errors.Is(err, context.Canceled) {
		log.Print(err)
		stop()
		os.Exit(1)
	}
}

// credentials returns the token source the environment describes, or nil
// when it describes none (the embedded demo then runs):
//
//   - SF_CLIENT_ID, SF_USERNAME and SF_JWT_KEY_FILE (the PEM private key
//     of the connected app's certificate): the JWT bearer flow;
//   - SF_CLIENT_ID, SF_CLIENT_SECRET and SF_REFRESH_TOKEN: the refresh
//     token flow;
//   - SF_ACCESS_TOKEN (sf org display --json | jq -r .result.accessToken):
//     that token, which cannot be refreshed; give -instance too.
//
// SF_LOGIN_URL sets the login server (default https://login.salesforce.com;
// https://test.salesforce.com for a sandbox, or the org's My Domain).
func credentials(ctx context.Context) (auth.TokenSource, error) {
	login := os.Getenv("SF_LOGIN_URL")
	switch {
	case os.Getenv("SF_JWT_KEY_FILE") != "":
		key, err := os.ReadFile(os.Getenv("SF_JWT_KEY_FILE"))
		if err != nil {
			return nil, err
		}
		return salesforce.NewJWTSource(ctx, salesforce.JWTConfig{
			ClientID: os.Getenv("SF_CLIENT_ID"), Username: os.Getenv("SF_USERNAME"), PrivateKey: key, LoginURL: login,
		})
	case os.Getenv("SF_REFRESH_TOKEN") != "":
		return salesforce.NewRefreshTokenSource(ctx, salesforce.RefreshTokenConfig{
			ClientID: os.Getenv("SF_CLIENT_ID"), ClientSecret: os.Getenv("SF_CLIENT_SECRET"),
			RefreshToken: os.Getenv("SF_REFRESH_TOKEN"), LoginURL: login,
		})
	case os.Getenv("SF_ACCESS_TOKEN") != "":
		return auth.StaticToken(os.Getenv("SF_ACCESS_TOKEN")), nil
	}
	return nil, nil
}

// run follows cfg.channel and prints each change event.
func run(ctx context.Context, cfg config, out io.Writer) error {
	store, err := replay.OpenFileStore(cfg.store)
	if err != nil {
		return err
	}
	// Close writes the last replay id handled.
	defer store.Close()
	// The preset: the endpoint <instance>/cometd/<version>, long-polling,
	// ext/auth with cfg.tokens, ext/replay with the file, backpressure
	// rather than drops.
	opts := []salesforce.Option{
		salesforce.WithInstanceURL(cfg.instance), // "": the token response's
		salesforce.WithReplayStore(store),
		// A first run starts from every retained event; later ones from
		// the last event handled.
		salesforce.WithReplayStart(replay.StartAll),
		salesforce.WithClientOptions(
			bayeux.WithBackoff(100*time.Millisecond, 5*time.Second),
			bayeux.WithErrorHandler(func(err error) { log.Print(err) }),
		),
	}
	if cfg.version != "" {
		opts = append(opts, salesforce.WithAPIVersion(cfg.version))
	}
	c, err := salesforce.NewClient(ctx, cfg.tokens, opts...)
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
		// Done with the event: its replay id may be stored. (The next
		// call of Next would say so too; a program that dies before
		// either gets the event again after its restart.)
		sub.Commit()
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
