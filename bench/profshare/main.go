package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// stage is one step of the delivery path and the stack frames that mark
// a sample as spent in it.
type stage struct {
	name    string
	pattern *regexp.Regexp
}

const sdk = `github\.com/bayeux-go/sdk/`

// stages are tried in order; a sample belongs to the first that matches
// one of its frames.
var stages = []stage{
	{"GC (mark workers, assists, sweep)", regexp.MustCompile(`^runtime\.(gcBgMarkWorker|gcAssistAlloc|bgsweep|bgscavenge|gcStart|gcMarkDone|gcMarkTermination)`)},
	{"decode (bayeux.DecodeMessages)", regexp.MustCompile(`^` + sdk + `bayeux\.(DecodeMessages|decodeMessages|\(\*decoder\))`)},
	{"hand-off (subscription goroutine: take, call handler)", regexp.MustCompile(`^` + sdk + `bayeux\.\(\*Subscription\)\.(run|deliverQueued|take|call)`)},
	{"queue (Subscription.enqueue)", regexp.MustCompile(`^` + sdk + `bayeux\.\(\*Subscription\)\.enqueue`)},
	{"route (Client.receive, extensions, dispatch)", regexp.MustCompile(`^` + sdk + `bayeux\.(\(\*subRegistry\)\.dispatch|\(\*Client\)\.receive|\(\*pendingReplies\)|\(\*BayeuxClient\)\.(incoming|receivePushed))`)},
	{"read (socket, HTTP/websocket framing, body)", regexp.MustCompile(`^(` + sdk + `transport/internal/httpx\.ReadBody|` + sdk + `transport/websocket\.\(\*conn\)\.(readLoop|readFrame)|net/http\.\(\*persistConn\)\.readLoop|net/http\.\(\*body\)\.Read|github\.com/gorilla/websocket\.\(\*Conn\)\.(NextReader|ReadMessage|advanceFrame)|internal/poll\.\(\*FD\)\.Read)`)},
	{"request (write /meta/connect, HTTP client)", regexp.MustCompile(`^(net/http\.\(\*persistConn\)\.writeLoop|net/http\.\(\*Client\)|net/http\.\(\*Transport\)|` + sdk + `transport/internal/httpx\.\(\*Engine\)|github\.com/hashicorp/go-retryablehttp|` + sdk + `transport/websocket\.\(\*conn\)\.write|internal/poll\.\(\*FD\)\.Write)`)},
	{"session loop (connect cycle)", regexp.MustCompile(`^` + sdk + `(bayeux|transport)/`)},
	{"benchmark harness", regexp.MustCompile(`^(testing\.|[^ ]*_test\.)`)},
	{"scheduler, netpoll, idle (runtime)", regexp.MustCompile(`^runtime\.(mcall|schedule|findRunnable|park_m|goschedImpl|netpoll|futex|wakep|usleep|osyield|notesleep|mstart|sysmon|morestack|newstack|goexit)`)},
}

var mallocFrame = regexp.MustCompile(`^runtime\.mallocgc`)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: profshare PROFILE")
		os.Exit(2)
	}
	out, err := exec.Command("go", "tool", "pprof", "-traces", os.Args[1]).Output()
	if err != nil {
		fmt.Fprintln(os.Stderr, "profshare: go tool pprof:", err)
		os.Exit(1)
	}
	t, err := split(bytes.NewReader(out))
	if err != nil {
		fmt.Fprintln(os.Stderr, "profshare:", err)
		os.Exit(1)
	}
	t.print(os.Stdout)
}

// table is the time per stage (the last entry is "other") and, of it,
// the time allocating.
type table struct {
	total       time.Duration
	time, alloc []time.Duration
}

// split reads the output of go tool pprof -traces.
func split(r io.Reader) (*table, error) {
	t := &table{time: make([]time.Duration, len(stages)+1), alloc: make([]time.Duration, len(stages)+1)}
	var (
		value  time.Duration
		frames []string
	)
	flush := func() {
		if value == 0 {
			return
		}
		i := len(stages)
	find:
		for j, s := range stages {
			for _, f := range frames {
				if s.pattern.MatchString(f) {
					i = j
					break find
				}
			}
		}
		t.total += value
		t.time[i] += value
		for _, f := range frames {
			if mallocFrame.MatchString(f) {
				t.alloc[i] += value
				break
			}
		}
		value, frames = 0, frames[:0]
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "-----------+") {
			flush()
			continue
		}
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		if d, err := parseValue(fields[0]); err == nil && len(fields) >= 2 {
			value = d
			frames = append(frames[:0], fields[1])
			continue
		}
		if value != 0 {
			frames = append(frames, fields[0])
		}
	}
	flush()
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if t.total == 0 {
		return nil, fmt.Errorf("no samples in the profile")
	}
	return t, nil
}

// parseValue parses a sample value such as "10ms" or "1.20s".
func parseValue(s string) (time.Duration, error) {
	if d, err := time.ParseDuration(s); err == nil && d > 0 {
		return d, nil
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil && n > 0 {
		return time.Duration(n), nil
	}
	return 0, fmt.Errorf("not a sample value: %q", s)
}

func (t *table) print(w io.Writer) {
	fmt.Fprintf(w, "| stage | share of CPU | of which allocating |\n|---|---:|---:|\n")
	for i, d := range t.time {
		name := "other"
		if i < len(stages) {
			name = stages[i].name
		}
		fmt.Fprintf(w, "| %s | %.1f%% | %.1f%% |\n", name, pct(d, t.total), pct(t.alloc[i], t.total))
	}
	fmt.Fprintf(w, "| total (%v of samples) | 100%% | |\n", t.total)
}

func pct(d, total time.Duration) float64 { return 100 * float64(d) / float64(total) }
