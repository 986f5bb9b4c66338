//go:build unix

package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/bayeux-go/sdk/bayeux"
	"github.com/bayeux-go/sdk/transport/longpoll"
	"github.com/bayeux-go/sdk/transport/websocket"
)

// measurement is what one client reports: the CPU and wall time of
// delivering its messages.
type measurement struct {
	Client   string `json:"client"`
	Messages int64  `json:"messages"`
	CPUNs    int64  `json:"cpuNs"`
	WallNs   int64  `json:"wallNs"`
}

func main() {
	serve := flag.Bool("serve", false, "run the canned server: print its URL and serve until standard input ends")
	client := flag.String("client", "", "run one client: go or net-http")
	url := flag.String("url", "", "server URL, with -client")
	transport := flag.String("transport", "both", "long-polling, websocket or both")
	messages := flag.Int64("messages", 500_000, "messages measured per client")
	warmup := flag.Int64("warmup", 50_000, "messages delivered before measuring")
	flag.Parse()
	var err error
	switch {
	case *serve:
		err = serveCanned(os.Stdin, os.Stdout)
	case *client == "go":
		err = runGoClient(*url, *transport, *messages, *warmup)
	case *client == "net-http":
		err = runNetHTTPLoop(*url, *messages, *warmup)
	case *client != "":
		err = fmt.Errorf("unknown client %q", *client)
	default:
		err = compare(*transport, *messages, *warmup)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "compare:", err)
		os.Exit(1)
	}
}

// compare starts the canned server, builds the gobayeux client, runs each
// client against it in a process of its own, one after the other, and
// prints the figures.
func compare(transport string, messages, warmup int64) error {
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	srv := exec.Command(exe, "-serve")
	srv.Stderr = os.Stderr
	stdin, err := srv.StdinPipe()
	if err != nil {
		return err
	}
	stdout, err := srv.StdoutPipe()
	if err != nil {
		return err
	}
	if err := srv.Start(); err != nil {
		return err
	}
	defer func() {
		stdin.Close()
		_ = srv.Wait()
	}()
	url, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		return fmt.Errorf("canned server: %w", err)
	}
	url = strings.TrimSpace(url)
	fmt.Printf("canned server %s: 500 events of %d bytes per /meta/connect reply; %d messages measured per client after %d\n",
		url, len(cannedEvent(0)), messages, warmup)
	fmt.Printf("machine: %d CPUs, %s/%s, %s\n", runtime.NumCPU(), runtime.GOOS, runtime.GOARCH, runtime.Version())
	transports := []string{transport}
	if transport == "both" {
		transports = []string{"long-polling", "websocket"}
	}
	tmp, err := os.MkdirTemp("", "compare")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	gobayeux := buildGobayeuxClient(tmp)
	for _, tr := range transports {
		if err := compareOver(exe, gobayeux, url, tr, messages, warmup); err != nil {
			return err
		}
	}
	fmt.Println("\nratio: the client's CPU per message over ours (above 1: ours is cheaper); ours/it: the inverse")
	return nil
}

// buildGobayeuxClient builds the gobayeux client, a module of its own in
// gobayeuxclient (so gobayeux stays out of the SDK's go.mod), into dir and
// returns the program's path, or "" when it does not build.
func buildGobayeuxClient(dir string) string {
	bin := filepath.Join(dir, "gobayeuxclient")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Dir = filepath.Join(sourceDir(), "gobayeuxclient")
	build.Env = append(os.Environ(), "GOWORK=off") // a module of its own, outside go.work
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Printf("gobayeux client not built, not measured: %v\n%s", err, out)
		return ""
	}
	return bin
}

// compareOver runs each client over one transport and prints its figures.
// gobayeux, the gobayeux client's program ("" when it was not built), runs
// over long-polling only: gobayeux has no websocket transport.
func compareOver(exe, gobayeux, url, transport string, messages, warmup int64) error {
	n, w := strconv.FormatInt(messages, 10), strconv.FormatInt(warmup, 10)
	clients := []*exec.Cmd{
		exec.Command(exe, "-client", "go", "-url", url, "-transport", transport, "-messages", n, "-warmup", w),
		exec.Command("node", filepath.Join(sourceDir(), "cometd_client.mjs"), url, transport, n, w),
	}
	if transport == "long-polling" {
		if gobayeux != "" {
			clients = append(clients, exec.Command(gobayeux, "-url", url, "-messages", n, "-warmup", w))
		}
		clients = append(clients, exec.Command(exe, "-client", "net-http", "-url", url, "-messages", n, "-warmup", w))
	}
	var results []measurement
	for _, c := range clients {
		c.Stderr = os.Stderr
		out, err := c.Output()
		if err != nil {
			fmt.Printf("%-40s skipped: %v\n", strings.Join(c.Args[:min(2, len(c.Args))], " "), err)
			continue
		}
		var m measurement
		if err := json.Unmarshal(lastLine(out), &m); err != nil {
			return fmt.Errorf("%s: %w: %q", c.Args[0], err, out)
		}
		results = append(results, m)
	}
	if len(results) == 0 || !strings.HasPrefix(results[0].Client, "bayeux-go") {
		return errors.New("our client did not run")
	}
	ours := results[0]
	fmt.Printf("\n%-40s %14s %14s %8s %8s\n", transport, "CPU ns/msg", "wall ns/msg", "ratio", "ours/it")
	for _, m := range results {
		fmt.Printf("%-40s %14.0f %14.0f %7.2fx %7.3fx\n", m.Client, m.cpuPerMsg(), float64(m.WallNs)/float64(m.Messages),
			m.cpuPerMsg()/ours.cpuPerMsg(), ours.cpuPerMsg()/m.cpuPerMsg())
	}
	return nil
}

func (m measurement) cpuPerMsg() float64 { return float64(m.CPUNs) / float64(m.Messages) }

func lastLine(b []byte) []byte {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return []byte(lines[len(lines)-1])
}

// sourceDir is the directory of this program's source: bench/compare,
// found from the working directory (the repository root or bench/compare).
func sourceDir() string {
	for _, d := range []string{"bench/compare", "."} {
		if _, err := os.Stat(filepath.Join(d, "cometd_client.mjs")); err == nil {
			abs, _ := filepath.Abs(d)
			return abs
		}
	}
	return "bench/compare"
}

func processCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// runGoClient measures this SDK's client: it subscribes, lets warmup
// messages through, and prints the CPU and wall time of the next
// messages deliveries.
func runGoClient(url, transport string, messages, warmup int64) error {
	var t bayeux.Transport = longpoll.New()
	if transport == "websocket" {
		t = websocket.New()
	}
	c, err := bayeux.NewClient(url, bayeux.WithTransports(t))
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := c.Connect(ctx); err != nil {
		return err
	}
	defer c.Disconnect(context.Background())
	var (
		delivered  int64
		cpu0       time.Duration
		wall0      time.Time
		done       = make(chan measurement, 1)
		clientName = "bayeux-go (this SDK), " + runtime.Version()
	)
	if _, err := c.Subscribe(ctx, "/event/Order__e", func(bayeux.Message) {
		delivered++ // handlers of one subscription run one at a time
		switch delivered {
		case warmup:
			cpu0, wall0 = processCPU(), time.Now()
		case warmup + messages:
			done <- measurement{Client: clientName, Messages: messages,
				CPUNs: int64(processCPU() - cpu0), WallNs: int64(time.Since(wall0))}
		}
	}); err != nil {
		return err
	}
	select {
	case m := <-done:
		return json.NewEncoder(os.Stdout).Encode(m)
	case <-ctx.Done():
		return fmt.Errorf("%d of %d messages delivered: %w", delivered, warmup+messages, ctx.Err())
	}
}

// runNetHTTPLoop is a reference for the long-polling figures: a bare
// net/http loop that posts a /meta/connect, reads the reply and decodes it
// with bayeux.DecodeMessages (io.ReadAll, no presized buffer), without a
// session, delivery or handler.
func runNetHTTPLoop(url string, messages, warmup int64) error {
	hc := &http.Client{Transport: &http.Transport{}}
	defer hc.CloseIdleConnections()
	var (
		delivered int64
		cpu0      time.Duration
		wall0     time.Time
	)
	for delivered < warmup+messages {
		resp, err := hc.Post(url, "application/json;charset=UTF-8",
			strings.NewReader(`[{"id":"1","channel":"/meta/connect","clientId":"compare1","connectionType":"long-polling"}]`))
		if err != nil {
			return err
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return err
		}
		msgs, err := bayeux.DecodeMessages(body)
		if err != nil {
			return err
		}
		for i := range msgs {
			if len(msgs[i].Data) == 0 {
				continue
			}
			delivered++
			if delivered == warmup {
				cpu0, wall0 = processCPU(), time.Now()
			}
		}
	}
	// The last reply may overshoot: count what was measured.
	n := delivered - warmup
	return json.NewEncoder(os.Stdout).Encode(measurement{Client: "bare net/http loop + DecodeMessages",
		Messages: n, CPUNs: int64(processCPU() - cpu0), WallNs: int64(time.Since(wall0))})
}

// serveCanned serves the canned server until in reaches its end.
func serveCanned(in io.Reader, out io.Writer) error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: cannedServer(500)}
	go func() { _ = srv.Serve(ln) }()
	fmt.Fprintf(out, "http://%s/cometd\n", ln.Addr())
	_, _ = io.Copy(io.Discard, in)
	return srv.Close()
}
