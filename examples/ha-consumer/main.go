package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"log/slog"
	"os"
	"os/signal"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/bayeux-go/sdk/bayeux"
	bayeuxredis "github.com/bayeux-go/sdk/contrib/redis"
	"github.com/bayeux-go/sdk/ext/replay"
	_ "github.com/bayeux-go/sdk/transport/longpoll" // the publisher's transport
)

// config is what a member needs.
type config struct {
	url      string
	redisURL string
	group    string
	channel  bayeux.Channel
	name     string
	opts     []bayeuxredis.Option // more Consumer options (tests: short leases)
	// rdb, when set, is used instead of a client of redisURL.
	rdb redis.UniversalClient
}

func main() {
	var cfg config
	flag.StringVar(&cfg.url, "url", "http://127.0.0.1:8080/bayeux", "the Bayeux server (the default is where 'bayeux serve' listens)")
	flag.StringVar(&cfg.redisURL, "redis", "redis://127.0.0.1:6379/0", "the Redis holding the group's lease and position")
	flag.StringVar(&cfg.group, "group", "ha-consumer", "the group's name: members with the same name share the position")
	channel := flag.String("channel", "/event/Order__e", "the channel to consume (a channel name)")
	flag.StringVar(&cfg.name, "name", strconv.Itoa(os.Getpid()), "this member's name in the output")
	rate := flag.Int("publish", 0, "publish {\"n\":N} on -channel this many times a second instead of consuming (the load of the walkthrough)")
	flag.Parse()
	cfg.channel = bayeux.Channel(*channel)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	if *rate > 0 {
		err = publish(ctx, cfg, *rate, os.Stdout)
	} else {
		err = run(ctx, cfg, os.Stdout, os.Stderr)
	}
	if err != nil {
		log.Print(err)
		stop()
		os.Exit(1)
	}
}

// run is one member of the group until ctx ends.
func run(ctx context.Context, cfg config, out, logs io.Writer) error {
	rdb := cfg.rdb
	if rdb == nil {
		opt, err := redis.ParseURL(cfg.redisURL)
		if err != nil {
			return fmt.Errorf("-redis: %w", err)
		}
		c := redis.NewClient(opt)
		defer c.Close()
		rdb = c
	}
	logger := slog.New(slog.NewTextHandler(logs, nil)).With("member", cfg.name)
	opts := append([]bayeuxredis.Option{bayeuxredis.WithStart(replay.StartAll), bayeuxredis.WithLogger(logger)}, cfg.opts...)
	c, err := bayeuxredis.NewConsumer(rdb, cfg.group, cfg.url, opts...)
	if err != nil {
		return err
	}
	var mu sync.Mutex
	err = c.Handle(cfg.channel, func(ctx context.Context, e *bayeuxredis.Event) {
		first, err := markDone(ctx, rdb, cfg.group, e)
		mu.Lock()
		defer mu.Unlock()
		switch {
		case err != nil:
			// Redis is unreachable: handle the event anyway (at least
			// once beats not at all).
			fmt.Fprintf(out, "%s: replay id %d: %s (not marked done: %v)\n", cfg.name, e.ReplayID, payload(e), err)
		case first:
			fmt.Fprintf(out, "%s: replay id %d: %s\n", cfg.name, e.ReplayID, payload(e))
		default:
			fmt.Fprintf(out, "%s: replay id %d: already done, skipped\n", cfg.name, e.ReplayID)
		}
	})
	if err != nil {
		return err
	}
	return c.Run(ctx)
}

// markDone is what makes the handler idempotent: it records the event's
// replay id as done in Redis, and reports whether it was the first to. The
// mark lives as long as Salesforce retains events (72 hours), after which
// no replay can bring the event back.
func markDone(ctx context.Context, rdb redis.UniversalClient, group string, e *bayeuxredis.Event) (bool, error) {
	if !e.HasReplayID {
		return true, nil
	}
	key := "ha-consumer:{" + group + "}:done:" + string(e.Message.Channel) + ":" + strconv.FormatInt(e.ReplayID, 10)
	return rdb.SetNX(ctx, key, 1, 72*time.Hour).Result()
}

// publish publishes {"n":N} on cfg.channel, rate events per second, until
// ctx ends: the load of the three-terminal walkthrough.
func publish(ctx context.Context, cfg config, rate int, out io.Writer) error {
	c, err := bayeux.NewClient(cfg.url)
	if err != nil {
		return err
	}
	if err := c.Connect(ctx); err != nil {
		return err
	}
	defer func() {
		dctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = c.Disconnect(dctx)
	}()
	tick := time.NewTicker(time.Second / time.Duration(rate))
	defer tick.Stop()
	confirmed := 0
	for n := 1; ; n++ {
		select {
		case <-ctx.Done():
			fmt.Fprintf(out, "published %d events\n", confirmed)
			return nil
		case <-tick.C:
		}
		err := c.Publish(ctx, cfg.channel, map[string]int{"n": n})
		switch {
		case err == nil:
			confirmed = n
		case ctx.Err() != nil:
			// Stopped while the server had not yet answered: it may or
			// may not have taken {"n":N}, so it is not counted.
			fmt.Fprintf(out, "published %d events (and maybe {\"n\":%d}, not confirmed)\n", confirmed, n)
			return nil
		default:
			return err
		}
	}
}

func payload(e *bayeuxredis.Event) string {
	if p, ok := bayeux.RawField(e.Message.Data, "payload"); ok {
		return string(p)
	}
	return string(e.Message.Data)
}
