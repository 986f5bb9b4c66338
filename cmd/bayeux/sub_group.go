package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/bayeux-go/sdk/bayeux"
	bayeuxredis "github.com/bayeux-go/sdk/contrib/redis"
)

// groupFlags are sub's flags for joining a consumer group on Redis.
type groupFlags struct {
	name  string        // -group
	redis string        // -redis
	lease time.Duration // -lease
}

// set reports whether sub runs as a member of a group.
func (g *groupFlags) set() bool { return g.name != "" || g.redis != "" }

// subGroup is sub as a member of a consumer group: it waits for the
// group's lease, subscribes from the group's shared position, prints each
// event as sub does, and moves the position once the line is written.
func subGroup(ctx context.Context, e *env, cf *clientFlags, g groupFlags, queue int, from replayFromFlag, metricsAddr string, channels []string) error {
	switch {
	case g.name == "":
		return &usageError{cmd: "sub", msg: "-redis needs -group NAME"}
	case g.redis == "":
		return &usageError{cmd: "sub", msg: "-group needs -redis URL (redis://host:port/db)"}
	case g.lease < 30*time.Millisecond:
		return &usageError{cmd: "sub", msg: fmt.Sprintf("-lease %v: want at least 30ms", g.lease)}
	}
	for _, ch := range channels {
		if bayeux.Channel(ch).HasWildcard() {
			return &usageError{cmd: "sub", msg: "-group applies to channel names, not patterns such as " + ch}
		}
	}
	if u, err := url.Parse(cf.url); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return &usageError{cmd: "sub", msg: fmt.Sprintf("-url %q: want an absolute http:// or https:// URL", cf.url)}
	}
	if _, err := cf.transports(); err != nil {
		return &usageError{cmd: "sub", msg: err.Error()}
	}
	ropt, err := redis.ParseURL(g.redis)
	if err != nil {
		return &usageError{cmd: "sub", msg: fmt.Sprintf("-redis %q: %v", g.redis, err)}
	}
	rdb := redis.NewClient(ropt)
	defer rdb.Close()

	s := newStatus(e, cf.verbose)
	ms, err := startMetrics(metricsAddr)
	if err != nil {
		return fmt.Errorf("-metrics: %w", err)
	}
	defer ms.close()
	if ms != nil {
		s.warnf("serving metrics at http://%s/metrics", ms.addr)
	}
	out := &jsonLines{enc: json.NewEncoder(e.stdout), failed: make(chan struct{})}
	opts := []bayeuxredis.Option{
		bayeuxredis.WithLease(g.lease, 0, 0),
		bayeuxredis.WithQueue(queue),
		bayeuxredis.WithConnectTimeout(cf.connectTimeout),
		bayeuxredis.WithClientOptions(func() []bayeux.Option {
			// Each tenure's client times its handlers and lag.
			more, err := ms.options()
			if err != nil {
				s.printf("-metrics: %v", err)
			}
			return append(cf.groupClientOptions(s), more...)
		}),
		bayeuxredis.WithHoldingListener(func(holding bool) {
			if holding {
				s.printf("took the lease of group %s; subscribing from its position (Ctrl-C to stop)", g.name)
			} else {
				s.printf("stopped delivering: gave up the lease of group %s", g.name)
			}
		}),
	}
	if from.set {
		opts = append(opts, bayeuxredis.WithStart(from.id))
	}
	if cf.verbose {
		opts = append(opts, bayeuxredis.WithLogger(slog.New(slog.NewTextHandler(s.w, nil))))
	}
	c, err := bayeuxredis.NewConsumer(rdb, g.name, cf.url, opts...)
	if err != nil {
		return &usageError{cmd: "sub", msg: err.Error()}
	}
	for _, ch := range channels {
		if err := c.Handle(bayeux.Channel(ch), func(_ context.Context, ev *bayeuxredis.Event) { out.write(ev.Message) }); err != nil {
			return &usageError{cmd: "sub", msg: err.Error()}
		}
	}
	if err := ms.registerStats(c.ClientStats); err != nil {
		return err
	}
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	s.printf("joining group %s on %s; waiting for its lease", g.name, g.redis)
	go func() { done <- c.Run(rctx) }()
	select {
	case err := <-done:
		return err
	case <-out.failed:
		cancel()
		<-done
		return out.err
	case <-ctx.Done():
		s.printf("leaving group %s", g.name)
		return <-done
	}
}

// groupClientOptions are the options of each client a group member
// creates (one per tenure of the lease): the flags' transports, new for
// each client, headers, ext and logs.
func (f *clientFlags) groupClientOptions(s *status) []bayeux.Option {
	ts, _ := f.transports() // checked before
	opts := []bayeux.Option{bayeux.WithTransports(ts...), bayeux.WithStateListener(s.stateChanged)}
	if f.ext.m != nil {
		opts = append(opts, bayeux.WithExtensions(&extExtension{ext: f.ext.m}))
	}
	if f.verbose {
		opts = append(opts, bayeux.WithLogger(slog.New(toldOnce{slog.NewTextHandler(s.w, nil)})))
	}
	opts = append(opts, bayeux.WithErrorHandler(func(err error) {
		if sessionError(err) || errors.Is(err, context.Canceled) {
			return
		}
		s.printf("%v", err)
	}))
	return opts
}
