package main

import (
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"

	"github.com/bayeux-go/sdk/bayeux"
)

// status reports a command's progress on stderr: when stderr is a
// terminal, or always with -v. Warnings (dropped messages) are always
// written. Its methods are safe for concurrent use.
type status struct {
	mu     sync.Mutex
	w      io.Writer
	on     bool
	client atomic.Pointer[bayeux.Client]
	lost   bool // a reconnection is under way; guarded by mu
}

func newStatus(e *env, verbose bool) *status {
	return &status{w: e.stderr, on: verbose || e.stderrTTY}
}

// printf writes a progress line when progress is shown.
func (s *status) printf(format string, args ...any) {
	if s.on {
		s.warnf(format, args...)
	}
}

// warnf writes a line whether or not progress is shown.
func (s *status) warnf(format string, args ...any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fmt.Fprintf(s.w, "bayeux: "+format+"\n", args...)
}

// stateChanged is the client's state listener: it reports connections
// lost and regained.
func (s *status) stateChanged(sc bayeux.StateChange) {
	s.mu.Lock()
	lost := s.lost
	switch sc.To {
	case bayeux.StateReconnecting, bayeux.StateRehandshaking:
		s.lost = true
	case bayeux.StateConnected:
		s.lost = false
	}
	s.mu.Unlock()
	switch {
	case sc.To == bayeux.StateReconnecting:
		s.printf("connection lost (%v); retrying", sc.Err)
	case sc.To == bayeux.StateRehandshaking:
		s.printf("session lost (%v); handshaking again, then subscribing again", sc.Err)
	case sc.To == bayeux.StateConnected && lost:
		name := ""
		if c := s.client.Load(); c != nil {
			name = " over " + c.TransportName()
		}
		s.printf("reconnected%s, clientId %s", name, sc.ClientID)
	case sc.To == bayeux.StateDisconnected && sc.Err != nil:
		s.warnf("session ended: %v", sc.Err)
	}
}

// isTerminal reports whether f is a terminal (a character device).
func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
