package loadgen

import (
	"sync"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// Latencies are recorded in microseconds, from 1 µs to 10 minutes, with
// three significant digits.
const (
	minLatencyUS = 1
	maxLatencyUS = int64(10 * time.Minute / time.Microsecond)
	sigFigs      = 3
)

// latencies is an HDR histogram sharded by subscriber, so that handlers
// running on many goroutines rarely wait for each other; each shard also
// counts its deliveries and keeps the time of its latest one (counters
// shared by every handler would bounce between the CPUs' caches).
type latencies struct {
	shards []latencyShard
}

type latencyShard struct {
	mu    sync.Mutex
	h     *hdrhistogram.Histogram
	count int64    // deliveries
	last  int64    // UnixNano of the latest delivery
	_     [32]byte // keep shards on separate cache lines
}

func newLatencies(shards int) *latencies {
	l := &latencies{shards: make([]latencyShard, shards)}
	for i := range l.shards {
		l.shards[i].h = hdrhistogram.New(minLatencyUS, maxLatencyUS, sigFigs)
	}
	return l
}

func toMicros(d time.Duration) int64 {
	return min(max(d.Microseconds(), minLatencyUS), maxLatencyUS)
}

// record adds one latency to the shard of subscriber i.
func (l *latencies) record(i int, d time.Duration) {
	s := &l.shards[i%len(l.shards)]
	s.mu.Lock()
	_ = s.h.RecordValue(toMicros(d))
	s.mu.Unlock()
}

// deliver counts one delivery to subscriber i at now and, when timed,
// records its latency d.
func (l *latencies) deliver(i int, now time.Time, d time.Duration, timed bool) {
	s := &l.shards[i%len(l.shards)]
	s.mu.Lock()
	s.count++
	s.last = max(s.last, now.UnixNano())
	if timed {
		_ = s.h.RecordValue(toMicros(d))
	}
	s.mu.Unlock()
}

// delivered returns the number of deliveries counted and the UnixNano
// time of the latest.
func (l *latencies) delivered() (count, last int64) {
	for i := range l.shards {
		s := &l.shards[i]
		s.mu.Lock()
		count += s.count
		last = max(last, s.last)
		s.mu.Unlock()
	}
	return count, last
}

// merged returns all the shards' values in one histogram.
func (l *latencies) merged() *hdrhistogram.Histogram {
	h := hdrhistogram.New(minLatencyUS, maxLatencyUS, sigFigs)
	for i := range l.shards {
		s := &l.shards[i]
		s.mu.Lock()
		h.Merge(s.h)
		s.mu.Unlock()
	}
	return h
}

// Percentiles are latencies in milliseconds.
type Percentiles struct {
	Count int64   `json:"count"`
	Mean  float64 `json:"mean"`
	P50   float64 `json:"p50"`
	P90   float64 `json:"p90"`
	P99   float64 `json:"p99"`
	P999  float64 `json:"p99.9"`
	Max   float64 `json:"max"`
}

func percentiles(h *hdrhistogram.Histogram) Percentiles {
	ms := func(us int64) float64 { return float64(us) / 1000 }
	return Percentiles{
		Count: h.TotalCount(),
		Mean:  h.Mean() / 1000,
		P50:   ms(h.ValueAtQuantile(50)),
		P90:   ms(h.ValueAtQuantile(90)),
		P99:   ms(h.ValueAtQuantile(99)),
		P999:  ms(h.ValueAtQuantile(99.9)),
		Max:   ms(h.Max()),
	}
}
