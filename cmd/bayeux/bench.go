package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime/pprof"
	"runtime/trace"
	"sync"
	"time"

	"github.com/bayeux-go/sdk/bayeux"
	"github.com/bayeux-go/sdk/bayeux/bayeuxtest"
	"github.com/bayeux-go/sdk/bench/loadgen"
)

func init() {
	register(&command{
		name:    "bench",
		summary: "load a Bayeux server with many clients and report rates and latencies",
		about: `Load a Bayeux server in the manner of the CometD benchmark: -clients
sessions each subscribe to -rooms-per-client of -rooms channels, and
-publishers sessions publish to the rooms, -rate messages per second (or,
with -rate 0, batches of -batch-size every -batch-pause) for -duration.
Prints sent and received rates, end-to-end latency percentiles, failures
and lost messages; -o writes the result as JSON. Without -url it starts
the bayeuxtest server in a process of its own and reports its CPU time.`,
		example: `bayeux bench -clients 1000 -rooms 10 -rate 1000 -duration 30s
bayeux bench -url http://127.0.0.1:8000/faye -transport long-polling -o result.json`,
		minArgs: 0, maxArgs: 0,
		flags: func(fs *flag.FlagSet) func(context.Context, *env, []string) error {
			var cfg loadgen.Config
			fs.StringVar(&cfg.URL, "url", "", "Bayeux server URL (default: start bayeuxtest in a child process)")
			fs.StringVar(&cfg.Transport, "transport", loadgen.WebSocket, "websocket or long-polling")
			fs.IntVar(&cfg.Clients, "clients", 100, "subscriber sessions")
			fs.IntVar(&cfg.Publishers, "publishers", 1, "publishing sessions")
			fs.IntVar(&cfg.Rooms, "rooms", 10, "rooms (channels /bench/room/N)")
			fs.IntVar(&cfg.RoomsPerClient, "rooms-per-client", 1, "rooms each client subscribes to")
			fs.Float64Var(&cfg.Rate, "rate", 1000, "messages published per second, all publishers together (0: batches)")
			fs.IntVar(&cfg.BatchSize, "batch-size", 10, "messages per publish request (the most per request with -rate)")
			fs.DurationVar(&cfg.BatchPause, "batch-pause", 0, "pause between batches when -rate is 0")
			fs.IntVar(&cfg.MessageSize, "size", 50, "bytes of data per message")
			fs.DurationVar(&cfg.Duration, "duration", 10*time.Second, "how long to publish")
			fs.DurationVar(&cfg.Drain, "drain", 5*time.Second, "how long to wait for the last deliveries")
			out := fs.String("o", "", "write the result as JSON to this file")
			cpuprofile := fs.String("cpuprofile", "", "write a CPU profile of this process (with -serve: of the server) to this file")
			serverProfile := fs.String("server-cpuprofile", "", "write a CPU profile of the bayeuxtest server process to this file")
			traceFile := fs.String("trace", "", "write an execution trace of this process (with -serve: of the server) to this file")
			serverTrace := fs.String("server-trace", "", "write an execution trace of the bayeuxtest server process to this file")
			serveOnly := fs.Bool("serve", false, "only run the server: print \"LISTEN <url>\" and serve until standard input ends")
			addr := fs.String("addr", "127.0.0.1:0", "address the server listens on, with -serve")
			metricsAddr := fs.String("metrics", "", metricsHelp)
			pushInterval := fs.Duration("push-interval", 0, "with the bayeuxtest server: least time between two websocket frames of events to one connection (0: write at once)")
			return func(ctx context.Context, e *env, _ []string) error {
				o := benchOptions{cfg: cfg, out: *out, cpuprofile: *cpuprofile, serverProfile: *serverProfile,
					traceFile: *traceFile, serverTrace: *serverTrace, serveOnly: *serveOnly, addr: *addr,
					pushInterval: *pushInterval, metrics: *metricsAddr}
				return bench(ctx, o, e.stdout, e.stderr, e.stderrTTY)
			}
		},
	})
}

// benchOptions are the flags of `bayeux bench`.
type benchOptions struct {
	cfg                                                    loadgen.Config
	out, cpuprofile, serverProfile, traceFile, serverTrace string
	serveOnly                                              bool
	addr                                                   string
	pushInterval                                           time.Duration
	metrics                                                string
}

// bench runs `bayeux bench`.
func bench(ctx context.Context, o benchOptions, stdout, stderr io.Writer, stderrTTY bool) error {
	cfg, out, cpuprofile, serverProfile, traceFile, serverTrace, serveOnly, addr :=
		o.cfg, &o.out, &o.cpuprofile, &o.serverProfile, &o.traceFile, &o.serverTrace, &o.serveOnly, &o.addr
	if *cpuprofile != "" {
		stop, err := startCPUProfile(*cpuprofile)
		if err != nil {
			return err
		}
		defer stop()
	}
	if *traceFile != "" {
		stop, err := startTrace(*traceFile)
		if err != nil {
			return err
		}
		defer stop()
	}
	if cfg.Transport != loadgen.WebSocket && cfg.Transport != loadgen.LongPolling {
		return &usageError{cmd: "bench", msg: fmt.Sprintf("-transport %q: bench supports %s and %s", cfg.Transport, loadgen.WebSocket, loadgen.LongPolling)}
	}
	if *serveOnly {
		return loadgen.ServeUntilEOF(*addr, os.Stdin, stdout, bayeuxtest.WithPushInterval(o.pushInterval))
	}

	var srv *loadgen.ServerProcess
	if cfg.URL == "" {
		var err error
		if srv, err = startBenchServer(*serverProfile, *serverTrace, o.pushInterval); err != nil {
			return err
		}
		defer srv.Stop()
		cfg.URL = srv.URL
	}
	if stderrTTY {
		cfg.Progress = stderr
	}
	ms, err := startMetrics(o.metrics)
	if err != nil {
		return fmt.Errorf("-metrics: %w", err)
	}
	defer ms.close()
	if ms != nil {
		if cfg.ClientOptions, err = ms.options(); err != nil {
			return err
		}
		var mu sync.Mutex
		var clients []*bayeux.Client
		cfg.OnClient = func(c *bayeux.Client) { mu.Lock(); clients = append(clients, c); mu.Unlock() }
		if err := ms.registerStats(func() bayeux.Stats {
			mu.Lock()
			cs := clients[:len(clients):len(clients)]
			mu.Unlock()
			all := make([]bayeux.Stats, 0, len(cs))
			for _, c := range cs {
				all = append(all, c.Stats())
			}
			return sumStats(all)
		}); err != nil {
			return err
		}
		fmt.Fprintf(stderr, "bayeux: serving metrics at http://%s/metrics\n", ms.addr)
	}
	res, err := loadgen.Run(ctx, cfg)
	if err != nil {
		return err
	}
	if srv != nil {
		cpu, err := srv.Stop()
		if err != nil {
			return fmt.Errorf("bench: server process: %w", err)
		}
		res.ServerCPUSeconds = cpu.Seconds()
		res.ServerPushInterval = o.pushInterval
	}
	printResult(stdout, res)
	if *out != "" {
		data, err := json.MarshalIndent(res, "", "  ")
		if err != nil {
			return err
		}
		if err := os.WriteFile(*out, append(data, '\n'), 0o644); err != nil {
			return err
		}
	}
	if res.Interrupted {
		if res.Lost > 0 {
			fmt.Fprintf(stderr, "bayeux: bench: interrupted; %d deliveries still in flight were not counted\n", res.Lost)
		}
		return nil
	}
	if !res.OK() {
		return fmt.Errorf("bench: %d of %d deliveries lost, %d unexpected, %d dropped, %d publications failed",
			res.Lost, res.Expected, res.Unexpected, res.Dropped, res.SendFailures)
	}
	return nil
}

// startBenchServer starts this program as `bayeux bench -serve`.
func startBenchServer(profile, traceFile string, pushInterval time.Duration) (*loadgen.ServerProcess, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	args := []string{"bench", "-serve", "-push-interval", pushInterval.String()}
	if profile != "" {
		args = append(args, "-cpuprofile", profile)
	}
	if traceFile != "" {
		args = append(args, "-trace", traceFile)
	}
	cmd := exec.Command(exe, args...)
	cmd.Stderr = os.Stderr
	return loadgen.StartServer(cmd, 30*time.Second)
}

func startCPUProfile(path string) (stop func(), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}

func startTrace(path string) (stop func(), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := trace.Start(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() {
		trace.Stop()
		f.Close()
	}, nil
}

func printResult(w io.Writer, r *loadgen.Result) {
	c := r.Config
	fmt.Fprintf(w, "%d clients (%s), %d rooms, %d per client, %d publishers, %d-byte messages, on %d CPUs\n",
		c.Clients, c.Transport, c.Rooms, c.RoomsPerClient, c.Publishers, c.MessageSize, r.Host.CPUs)
	fmt.Fprintf(w, "setup      %.1f s for %d subscriptions\n", r.SetupSeconds, r.Subscriptions)
	fmt.Fprintf(w, "sent       %d messages in %.1f s: %.0f/s (%d failed)\n", r.Sent, r.PublishSeconds, r.SendRate, r.SendFailures)
	lost := "lost"
	if r.Interrupted {
		lost = "interrupted, in flight"
	}
	fmt.Fprintf(w, "received   %d of %d deliveries: %.0f/s (%s %d, unexpected %d, dropped %d)\n",
		r.Received, r.Expected, r.ReceiveRate, lost, r.Lost, r.Unexpected, r.Dropped)
	l := r.Latency
	fmt.Fprintf(w, "latency ms p50 %.3f  p90 %.3f  p99 %.3f  p99.9 %.3f  max %.3f\n", l.P50, l.P90, l.P99, l.P999, l.Max)
	fmt.Fprintf(w, "cpu        client %.1f s", r.ClientCPUSeconds)
	if r.ServerCPUSeconds > 0 {
		fmt.Fprintf(w, ", server %.1f s (setup included)", r.ServerCPUSeconds)
		if r.ServerPushInterval > 0 {
			fmt.Fprintf(w, ", push interval %v", r.ServerPushInterval)
		}
	}
	if r.MachineCPUSeconds > 0 {
		fmt.Fprintf(w, "; machine busy %.1f of %.1f CPU s", r.MachineBusyCPUSeconds, r.MachineCPUSeconds)
	}
	fmt.Fprintln(w)
	if r.ClientErrors > 0 {
		fmt.Fprintf(w, "errors     %d, first: %s\n", r.ClientErrors, errors.Join(stringErrors(r.Errors)...))
	}
}

func stringErrors(s []string) []error {
	out := make([]error, len(s))
	for i, e := range s {
		out[i] = errors.New(e)
	}
	return out
}
