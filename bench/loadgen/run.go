package loadgen

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bayeux-go/sdk/bayeux"
	"github.com/bayeux-go/sdk/transport/longpoll"
	"github.com/bayeux-go/sdk/transport/websocket"
)

// maxErrors is how many error texts a Result keeps.
const maxErrors = 10

// roomChannel is the channel of room r.
func roomChannel(r int) bayeux.Channel { return bayeux.Channel("/bench/room/" + strconv.Itoa(r)) }

// run is the state of one load run.
type run struct {
	cfg     Config
	members []int64
	lat     *latencies

	sent         atomic.Int64
	sendFailures atomic.Int64
	expected     atomic.Int64
	seq          atomic.Int64

	errMu     sync.Mutex
	errCount  int64
	errTexts  []string
	clients   []*bayeux.Client
	subs      []*bayeux.Subscription
	publisher []*bayeux.Client
}

// Run carries out the load described by cfg: it connects the clients,
// subscribes them, publishes for cfg.Duration, waits up to cfg.Drain for
// the deliveries still expected, disconnects everyone and returns the
// figures. It returns an error when the run could not be set up (a client
// that cannot connect or subscribe); failures during the run are counted
// in the Result. ctx ends the run early.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	r := &run{cfg: cfg, members: cfg.members(), lat: newLatencies(64)}
	res := &Result{Config: cfg, Start: time.Now(), Host: thisHost()}
	defer r.disconnectAll()

	t0 := time.Now()
	if err := r.setup(ctx); err != nil {
		return nil, err
	}
	res.Subscriptions = len(r.subs)
	res.SetupSeconds = time.Since(t0).Seconds()

	cpu0 := processCPU()
	busy0, busyOK := machineBusy()
	stopProgress := r.progress()
	start := time.Now()
	r.publish(ctx)
	res.PublishSeconds = time.Since(start).Seconds()
	if ctx.Err() != nil {
		// Interrupted: publishing stopped; what is in flight still
		// arrives (it is not lost), within a short grace.
		res.Interrupted = true
		grace, cancel := context.WithTimeout(context.Background(), interruptGrace)
		r.drain(grace)
		cancel()
	} else {
		r.drain(ctx)
	}
	stopProgress()
	res.ClientCPUSeconds = (processCPU() - cpu0).Seconds()
	if busy1, ok := machineBusy(); ok && busyOK {
		res.MachineBusyCPUSeconds = (busy1 - busy0).Seconds()
		res.MachineCPUSeconds = time.Since(start).Seconds() * float64(runtime.NumCPU())
	}

	res.Sent, res.SendFailures = r.sent.Load(), r.sendFailures.Load()
	received, last := r.lat.delivered()
	res.Expected, res.Received = r.expected.Load(), received
	res.Lost = max(res.Expected-res.Received, 0)
	res.Unexpected = max(res.Received-res.Expected, 0)
	for _, s := range r.subs {
		res.Dropped += s.Dropped()
	}
	r.errMu.Lock()
	res.ClientErrors, res.Errors = r.errCount, append([]string(nil), r.errTexts...)
	r.errMu.Unlock()
	if res.PublishSeconds > 0 {
		res.SendRate = float64(res.Sent) / res.PublishSeconds
	}
	if last > start.UnixNano() {
		res.ReceiveRate = float64(res.Received) / time.Duration(last-start.UnixNano()).Seconds()
	}
	res.Latency = percentiles(r.lat.merged())
	return res, nil
}

// newClient makes one session of the run.
func (r *run) newClient() (*bayeux.Client, error) {
	var t bayeux.Transport = longpoll.New()
	if r.cfg.Transport == WebSocket {
		t = websocket.New()
	}
	opts := append([]bayeux.Option{bayeux.WithTransports(t), bayeux.WithErrorHandler(r.clientError)}, r.cfg.ClientOptions...)
	c, err := bayeux.NewClient(r.cfg.URL, opts...)
	if err == nil && r.cfg.OnClient != nil {
		r.cfg.OnClient(c)
	}
	return c, err
}

func (r *run) clientError(err error) {
	r.errMu.Lock()
	defer r.errMu.Unlock()
	r.errCount++
	if len(r.errTexts) < maxErrors {
		r.errTexts = append(r.errTexts, err.Error())
	}
}

// setup connects and subscribes the clients, then connects the
// publishers, cfg.ConnectParallel at a time.
func (r *run) setup(ctx context.Context) error {
	r.clients = make([]*bayeux.Client, r.cfg.Clients)
	subs := make([][]*bayeux.Subscription, r.cfg.Clients)
	r.publisher = make([]*bayeux.Client, r.cfg.Publishers)
	err := parallel(ctx, r.cfg.ConnectParallel, r.cfg.Clients+r.cfg.Publishers, func(ctx context.Context, i int) error {
		c, err := r.newClient()
		if err != nil {
			return err
		}
		if i >= r.cfg.Clients {
			r.publisher[i-r.cfg.Clients] = c
			return c.Connect(ctx)
		}
		r.clients[i] = c
		if err := c.Connect(ctx); err != nil {
			return fmt.Errorf("client %d: %w", i, err)
		}
		for _, room := range r.cfg.rooms(i) {
			s, err := c.Subscribe(ctx, roomChannel(room), r.handler(i))
			if err != nil {
				return fmt.Errorf("client %d: subscribe: %w", i, err)
			}
			subs[i] = append(subs[i], s)
		}
		return nil
	})
	for _, s := range subs {
		r.subs = append(r.subs, s...)
	}
	return err
}

// handler returns the message handler of subscriber i.
func (r *run) handler(i int) func(bayeux.Message) {
	return func(m bayeux.Message) {
		now := time.Now()
		sent, ok := sentAt(m.Data)
		r.lat.deliver(i, now, now.Sub(sent), ok)
	}
}

// receivedCount returns the number of deliveries so far.
func (r *run) receivedCount() int64 {
	n, _ := r.lat.delivered()
	return n
}

// publish runs the publishers for cfg.Duration.
func (r *run) publish(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, r.cfg.Duration)
	defer cancel()
	var wg sync.WaitGroup
	for p, c := range r.publisher {
		wg.Go(func() {
			if r.cfg.Rate > 0 {
				r.publishPaced(ctx, c, r.cfg.Rate/float64(len(r.publisher)), time.Duration(p)*time.Second/time.Duration(r.cfg.Rate))
			} else {
				r.publishBatches(ctx, c)
			}
		})
	}
	wg.Wait()
}

// publishPaced publishes rate messages per second, starting after
// offset; what fell due while a request was in flight goes in the next
// request, at most cfg.BatchSize at a time.
func (r *run) publishPaced(ctx context.Context, c *bayeux.Client, rate float64, offset time.Duration) {
	interval := time.Duration(float64(time.Second) / rate)
	start := time.Now().Add(offset)
	var done int64
	timer := time.NewTimer(offset)
	defer timer.Stop()
	for {
		due := int64(time.Since(start)/interval) + 1
		if n := min(due-done, int64(r.cfg.BatchSize)); n > 0 && time.Since(start) >= 0 {
			r.send(ctx, c, int(n))
			done += n
			continue
		}
		timer.Reset(time.Until(start.Add(time.Duration(done) * interval)))
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}
	}
}

// publishBatches publishes batches of cfg.BatchSize messages, pausing
// cfg.BatchPause between them.
func (r *run) publishBatches(ctx context.Context, c *bayeux.Client) {
	for ctx.Err() == nil {
		r.send(ctx, c, r.cfg.BatchSize)
		if r.cfg.BatchPause > 0 {
			select {
			case <-ctx.Done():
			case <-time.After(r.cfg.BatchPause):
			}
		}
	}
}

// send publishes n messages in one request and counts the outcome.
func (r *run) send(ctx context.Context, c *bayeux.Client, n int) {
	if ctx.Err() != nil {
		return
	}
	b := c.Batch()
	var expect int64
	buf := make([]byte, 0, r.cfg.MessageSize)
	now := time.Now()
	for range n {
		seq := r.seq.Add(1)
		room := int(seq % int64(r.cfg.Rooms))
		expect += r.members[room]
		b.Publish(roomChannel(room), payload(buf, now, seq, r.cfg.MessageSize))
	}
	// The deliveries are expected before the request is sent: they may
	// arrive before its reply.
	r.expected.Add(expect)
	// A request cut by the end of the publishing phase still completes.
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if err := b.Send(sctx); err != nil {
		r.expected.Add(-expect)
		r.sendFailures.Add(int64(n))
		r.clientError(fmt.Errorf("publish: %w", err))
		return
	}
	r.sent.Add(int64(n))
}

// interruptGrace is how long an interrupted run waits for the deliveries in
// flight.
const interruptGrace = 3 * time.Second

// drain waits until every expected delivery arrived, or cfg.Drain.
func (r *run) drain(ctx context.Context) {
	deadline := time.Now().Add(r.cfg.Drain)
	for r.receivedCount() < r.expected.Load() && time.Now().Before(deadline) && ctx.Err() == nil {
		time.Sleep(10 * time.Millisecond)
	}
}

// progress writes a progress line every second until the returned
// function is called.
func (r *run) progress() (stop func()) {
	if r.cfg.Progress == nil {
		return func() {}
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(time.Second)
		defer t.Stop()
		start := time.Now()
		var lastSent, lastRecv int64
		for {
			select {
			case <-done:
				fmt.Fprint(r.cfg.Progress, "\n")
				return
			case <-t.C:
			}
			sent, recv := r.sent.Load(), r.receivedCount()
			r.errMu.Lock()
			errs := r.errCount
			r.errMu.Unlock()
			fmt.Fprintf(r.cfg.Progress, "\r%5.0fs  sent %8d/s  received %9d/s  pending %8d  errors %d   ",
				time.Since(start).Seconds(), sent-lastSent, recv-lastRecv, r.expected.Load()-recv, errs)
			lastSent, lastRecv = sent, recv
		}
	})
	return func() { close(done); wg.Wait() }
}

// disconnectAll disconnects every session, cfg.ConnectParallel at a time.
func (r *run) disconnectAll() {
	all := append(append([]*bayeux.Client(nil), r.clients...), r.publisher...)
	_ = parallel(context.Background(), r.cfg.ConnectParallel, len(all), func(_ context.Context, i int) error {
		if c := all[i]; c != nil {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = c.Disconnect(ctx)
		}
		return nil
	})
}

// parallel calls fn(ctx, i) for i in [0, n), at most k at a time, and
// returns the first error; after one, the calls not yet started are not
// made.
func parallel(ctx context.Context, k, n int, fn func(context.Context, int) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	sem := make(chan struct{}, k)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Go(func() {
			defer func() { <-sem }()
			if err := fn(ctx, i); err != nil {
				cancel(err)
			}
		})
	}
	wg.Wait()
	if err := context.Cause(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return ctx.Err()
}
