package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bayeux-go/sdk/bayeux"
	bayeuxredis "github.com/bayeux-go/sdk/contrib/redis"
	"github.com/bayeux-go/sdk/ext/replay"
)

func init() {
	register(&command{
		name:    "sub",
		args:    "CHANNEL...",
		summary: "subscribe to channels and print each message as a JSON line",
		about: `Subscribe to each CHANNEL (a name, or a pattern ending in /* or /**) and
print every message received as one JSON line on stdout:
{"channel":"/chat/general","data":...}. Runs until interrupted (Ctrl-C or
SIGTERM), then disconnects from the server. The client re-handshakes and
subscribes again by itself when the server loses the session.

When stdout is slower than the messages arrive, each subscription queues up
to -queue messages; beyond that messages are dropped and each drop is
reported on stderr (with --replay, the client waits for stdout instead and
the server keeps the events: none is dropped).

With --replay ID, the client uses the replay extension (Salesforce's
Streaming API, or 'bayeux serve --replay'): each CHANNEL, which must be a
channel name, starts after the event with replay id ID, or with -1 at new
events, or with -2 at every event the server keeps; after a lost session it
resumes after the last event printed.

With -group NAME and -redis URL, sub is one member of a consumer group that
shares a replay position in Redis: of all the 'bayeux sub' processes with
the same -group on the same Redis, one holds the group's lease and prints
the events; the others wait. When it stops, or dies and its lease expires
(-lease), another takes over and resumes right after the last event the
group printed, so that together they print every event at least once (the
events the dead one printed in its last moments may be printed again).
Each CHANNEL must be a channel name; --replay ID then sets where a channel
starts when the group has no position for it yet (default -1, new events).
A member's full -queue slows its session down rather than dropping events:
a dropped event would let the group's position move past it. See
docs/ha.md.

With -metrics ADDR (:9464, say), sub serves the client's and each
subscription's counters, handler time and delivery lag in Prometheus text
at http://ADDR/metrics (see docs/observability.md). A -group member serves
its clients' counters added up over its tenures of the lease, handler time
and lag, but no per-subscription series.`,
		example: `bayeux sub '/chat/**'
bayeux sub -url https://example.com/cometd -transport long-polling -v /news /sports/*
bayeux sub --replay -2 /chat/general
bayeux sub -group orders -redis redis://127.0.0.1:6379/0 -lease 2s --replay -2 /event/Order__e`,
		minArgs: 1, maxArgs: -1,
		flags: func(fs *flag.FlagSet) func(context.Context, *env, []string) error {
			var cf clientFlags
			cf.define(fs)
			queue := fs.Int("queue", 4096, "messages queued per subscription before new ones are dropped")
			var from replayFromFlag
			fs.Var(&from, "replay", "start each CHANNEL after replay `ID` (-1: new events, -2: every event kept) with the replay extension")
			var g groupFlags
			fs.StringVar(&g.name, "group", "", "join the consumer group `NAME` (with -redis): one member prints, the others take over")
			fs.StringVar(&g.redis, "redis", "", "the Redis `URL` (redis://host:port/db) holding the group's lease and position")
			fs.DurationVar(&g.lease, "lease", bayeuxredis.DefaultLeaseTTL, "with -group, the lease's time to live: a dead member is replaced within it plus a third of it")
			metricsAddr := fs.String("metrics", "", metricsHelp)
			return func(ctx context.Context, e *env, args []string) error {
				if g.set() {
					return subGroup(ctx, e, &cf, g, *queue, from, *metricsAddr, args)
				}
				return sub(ctx, e, &cf, *queue, from, *metricsAddr, args)
			}
		},
	})
}

// replayFromFlag is sub's --replay ID.
type replayFromFlag struct {
	set bool
	id  int64
}

func (f *replayFromFlag) String() string {
	if f == nil || !f.set {
		return ""
	}
	return strconv.FormatInt(f.id, 10)
}

func (f *replayFromFlag) Set(v string) error {
	id, err := strconv.ParseInt(v, 10, 64)
	if err != nil || id < replay.StartAll || id == 0 {
		return fmt.Errorf("want a replay id, -1 (new events) or -2 (every event kept), got %q", v)
	}
	f.set, f.id = true, id
	return nil
}

func sub(ctx context.Context, e *env, cf *clientFlags, queue int, from replayFromFlag, metricsAddr string, channels []string) error {
	if queue < 1 {
		return &usageError{cmd: "sub", msg: "-queue must be at least 1"}
	}
	for _, ch := range channels {
		if err := bayeux.Channel(ch).Validate(); err != nil {
			return &usageError{cmd: "sub", msg: err.Error()}
		}
		if bayeux.Channel(ch).Type() == bayeux.MetaChannel {
			return &usageError{cmd: "sub", msg: ch + " is a /meta/ channel, which carries the protocol's own replies, not events (-v shows the session's progress)"}
		}
		if from.set && bayeux.Channel(ch).HasWildcard() {
			return &usageError{cmd: "sub", msg: "--replay applies to channel names, not patterns such as " + ch}
		}
	}
	s := newStatus(e, cf.verbose)
	drops := newDropReporter(s)
	defer drops.flush()
	ms, err := startMetrics(metricsAddr)
	if err != nil {
		return fmt.Errorf("-metrics: %w", err)
	}
	defer ms.close()
	more, err := ms.options()
	if err != nil {
		return err
	}
	if ms != nil {
		s.warnf("serving metrics at http://%s/metrics", ms.addr)
	}
	var rx *replay.Extension
	if from.set {
		rx = replay.New(replay.WithStart(from.id))
		more = append(more, bayeux.WithExtensions(rx))
	}
	c, err := cf.start(ctx, "sub", s, append(more,
		// Drops, or with replay backpressure (OverflowDefault).
		bayeux.WithDeliveryQueue(queue, bayeux.OverflowDefault),
		bayeux.WithErrorHandler(func(err error) {
			var de *bayeux.DroppedMessageError
			if errors.As(err, &de) {
				drops.add(de.Subscription)
				return
			}
			s.printf("%v", err)
		}))...)
	if err != nil {
		return err
	}
	defer disconnect(c)
	if err := ms.registerClient(c); err != nil {
		return err
	}
	if rx != nil && !rx.Enabled() {
		s.warnf("the server did not agree to replay (no ext.replay in its handshake reply): new events only")
	}

	if _, err := c.AddListener(bayeux.MetaSubscribe, func(m bayeux.Message) {
		if m.Successful {
			s.printf("subscribed to %s (Ctrl-C to stop)", joinChannels(m.Subscription))
		}
	}); err != nil {
		return err
	}
	out := &jsonLines{enc: json.NewEncoder(e.stdout), failed: make(chan struct{})}
	for _, ch := range channels {
		sub, err := c.Subscribe(ctx, bayeux.Channel(ch), out.write)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("subscribe to %s: %w", ch, err)
		}
		if err := ms.registerSubscription(sub); err != nil {
			return err
		}
	}
	select {
	case <-ctx.Done():
		s.printf("disconnecting")
		return nil
	case <-c.Done():
		return c.Err()
	case <-out.failed:
		return out.err
	}
}

func joinChannels(chs []bayeux.Channel) string {
	s := make([]string, len(chs))
	for i, c := range chs {
		s[i] = string(c)
	}
	return strings.Join(s, ", ")
}

// jsonLines writes messages as JSON lines; subscriptions call write from
// their own goroutines.
type jsonLines struct {
	mu     sync.Mutex
	enc    *json.Encoder
	err    error         // the first write error
	failed chan struct{} // closed on the first write error
}

// line is what sub prints for each message.
type line struct {
	Channel bayeux.Channel  `json:"channel"`
	Data    json.RawMessage `json:"data"`
}

func (j *jsonLines) write(m bayeux.Message) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.err != nil {
		return
	}
	if err := j.enc.Encode(line{Channel: m.Channel, Data: m.Data}); err != nil {
		j.err = fmt.Errorf("writing to stdout: %w", err)
		close(j.failed)
	}
}

// dropReporter reports dropped messages on stderr, at most once a second
// per subscription, and a total at the end.
type dropReporter struct {
	s     *status
	mu    sync.Mutex
	count map[bayeux.Channel]uint64
	last  map[bayeux.Channel]time.Time
	total atomic.Uint64
	now   func() time.Time
}

func newDropReporter(s *status) *dropReporter {
	return &dropReporter{s: s, count: map[bayeux.Channel]uint64{}, last: map[bayeux.Channel]time.Time{}, now: time.Now}
}

func (d *dropReporter) add(sub bayeux.Channel) {
	d.total.Add(1)
	d.mu.Lock()
	d.count[sub]++
	n, now := d.count[sub], d.now()
	report := now.Sub(d.last[sub]) >= time.Second
	if report {
		d.last[sub], d.count[sub] = now, 0
	}
	d.mu.Unlock()
	if report {
		d.s.warnf("dropped %d message(s) on %s: stdout is slower than the messages arrive (raise -queue)", n, sub)
	}
}

func (d *dropReporter) flush() {
	if n := d.total.Load(); n > 0 {
		d.s.warnf("%d message(s) dropped in all", n)
	}
}
