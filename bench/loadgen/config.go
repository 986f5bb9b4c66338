package loadgen

import (
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/bayeux-go/sdk/bayeux"
)

// Transport names accepted in Config.Transport.
const (
	WebSocket   = "websocket"
	LongPolling = "long-polling"
)

// Config describes a load run. The zero values of the optional fields
// take the defaults documented on each.
type Config struct {
	// URL is the Bayeux endpoint of the server. Required.
	URL string `json:"url"`
	// Transport is WebSocket (the default) or LongPolling.
	Transport string `json:"transport"`
	// Clients is the number of subscriber sessions. Default 10.
	Clients int `json:"clients"`
	// ClientOptions are added to the options of every session, and
	// OnClient, when set, is called with each session made (before it
	// connects): how `bayeux bench -metrics` instruments them.
	ClientOptions []bayeux.Option      `json:"-"`
	OnClient      func(*bayeux.Client) `json:"-"`
	// Publishers is the number of publishing sessions (not subscribed to
	// anything). Default 1.
	Publishers int `json:"publishers"`
	// Rooms is the number of broadcast channels, /bench/room/0 and up.
	// Default 10.
	Rooms int `json:"rooms"`
	// RoomsPerClient is how many rooms each client subscribes to; client i
	// takes rooms i*RoomsPerClient, i*RoomsPerClient+1, ... modulo Rooms.
	// Default 1.
	RoomsPerClient int `json:"roomsPerClient"`
	// Rate is the number of messages published per second by all the
	// publishers together, paced evenly. Zero means batch mode: each
	// publisher sends BatchSize messages in one request, waits for the
	// replies, pauses BatchPause, and again, for Duration.
	Rate float64 `json:"rate"`
	// BatchSize is the number of messages per request in batch mode, and
	// the most messages a publisher puts in one request in rate mode (it
	// batches what fell due while its previous request was in flight).
	// Default 10.
	BatchSize int `json:"batchSize"`
	// BatchPause is the pause between two batches in batch mode.
	BatchPause time.Duration `json:"batchPauseNs"`
	// MessageSize is the size in bytes of each message's data (at least
	// the size of its timestamp and sequence number). Default 50.
	MessageSize int `json:"messageSize"`
	// Duration is how long the publishers publish. Default 10 s.
	Duration time.Duration `json:"durationNs"`
	// Drain is how long to wait after publishing for the last deliveries.
	// Default 5 s.
	Drain time.Duration `json:"drainNs"`
	// ConnectParallel is how many clients handshake and subscribe at once
	// while the run is set up. Default 32.
	ConnectParallel int `json:"connectParallel"`
	// Progress, when set, receives a progress line every second
	// (terminated by "\r", for a terminal).
	Progress io.Writer `json:"-"`
}

func (c *Config) defaults() error {
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	if c.Transport == "" {
		c.Transport = WebSocket
	}
	def(&c.Clients, 10)
	def(&c.Publishers, 1)
	def(&c.Rooms, 10)
	def(&c.RoomsPerClient, 1)
	def(&c.BatchSize, 10)
	def(&c.MessageSize, 50)
	def(&c.ConnectParallel, 32)
	if c.Duration == 0 {
		c.Duration = 10 * time.Second
	}
	if c.Drain == 0 {
		c.Drain = 5 * time.Second
	}
	switch {
	case c.URL == "":
		return errors.New("loadgen: no server URL")
	case c.Transport != WebSocket && c.Transport != LongPolling:
		return fmt.Errorf("loadgen: unknown transport %q (want %s or %s)", c.Transport, WebSocket, LongPolling)
	case c.Clients < 0, c.Publishers < 1, c.Rooms < 1, c.RoomsPerClient < 1, c.BatchSize < 1,
		c.MessageSize < 1, c.ConnectParallel < 1, c.Rate < 0, c.Duration < 0, c.Drain < 0, c.BatchPause < 0:
		return errors.New("loadgen: counts, sizes and durations must be positive")
	case c.RoomsPerClient > c.Rooms:
		return fmt.Errorf("loadgen: %d rooms per client but only %d rooms", c.RoomsPerClient, c.Rooms)
	}
	return nil
}

// rooms returns the rooms client i subscribes to.
func (c *Config) rooms(i int) []int {
	out := make([]int, c.RoomsPerClient)
	for k := range out {
		out[k] = (i*c.RoomsPerClient + k) % c.Rooms
	}
	return out
}

// members returns the number of subscribers of each room.
func (c *Config) members() []int64 {
	m := make([]int64, c.Rooms)
	for i := 0; i < c.Clients; i++ {
		for _, r := range c.rooms(i) {
			m[r]++
		}
	}
	return m
}
