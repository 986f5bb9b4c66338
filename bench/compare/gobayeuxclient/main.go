//go:build unix

package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"runtime"
	"syscall"
	"time"

	"github.com/sigmavirus24/gobayeux/v2"
)

// measurement is what bench/compare reads: the CPU and wall time of
// delivering Messages messages.
type measurement struct {
	Client   string `json:"client"`
	Messages int64  `json:"messages"`
	CPUNs    int64  `json:"cpuNs"`
	WallNs   int64  `json:"wallNs"`
}

func main() {
	url := flag.String("url", "", "canned server URL")
	messages := flag.Int64("messages", 500_000, "messages measured")
	warmup := flag.Int64("warmup", 50_000, "messages delivered before measuring")
	flag.Parse()
	m, err := run(*url, *messages, *warmup)
	if err == nil {
		err = json.NewEncoder(os.Stdout).Encode(m)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "gobayeuxclient:", err)
		os.Exit(1)
	}
}

// run subscribes with gobayeux's Client, counts the events it delivers and
// measures the CPU and wall time of the messages after warmup.
func run(url string, messages, warmup int64) (measurement, error) {
	if url == "" {
		return measurement{}, fmt.Errorf("-url is required")
	}
	c, err := gobayeux.NewClient(url)
	if err != nil {
		return measurement{}, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	// Subscribe before Start: the subscription request is queued and its
	// /meta/subscribe goes out before the first /meta/connect, whose reply
	// already carries events (gobayeux stops on an event for a channel it
	// has no subscription for).
	recv := make(chan []gobayeux.Message, 16)
	if err := c.SubscribeWithContext(ctx, "/event/Order__e", recv); err != nil {
		return measurement{}, err
	}
	errs := c.Start(ctx)
	var (
		delivered, start int64
		cpu0             time.Duration
		wall0            time.Time
	)
	for {
		select {
		case batch := <-recv:
			for _, m := range batch {
				if len(m.Data) > 0 {
					delivered++
				}
			}
			switch {
			case start == 0 && delivered >= warmup:
				start, cpu0, wall0 = delivered, processCPU(), time.Now()
			case start > 0 && delivered-start >= messages:
				return measurement{
					Client:   "gobayeux v2.7.0, " + runtime.Version(),
					Messages: delivered - start,
					CPUNs:    int64(processCPU() - cpu0),
					WallNs:   int64(time.Since(wall0)),
				}, nil
			}
		case err := <-errs:
			return measurement{}, fmt.Errorf("after %d messages: %w", delivered, err)
		case <-ctx.Done():
			return measurement{}, fmt.Errorf("%d of %d messages delivered: %w", delivered, warmup+messages, ctx.Err())
		}
	}
}

func processCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
