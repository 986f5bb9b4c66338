package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bayeux-go/sdk/bayeux"
)

// status reports a command's progress on stderr: when stderr is a
// terminal, or always with -v. Warnings (dropped messages) are always
// written. Its methods are safe for concurrent use.
type status struct {
	mu      sync.Mutex
	w       io.Writer
	on      bool
	verbose bool // -v: the client's logs are on stderr too
	client  atomic.Pointer[bayeux.Client]
	lost    bool // a reconnection is under way; guarded by mu
	// connected is set once Connect succeeded; connecting while it runs,
	// and retrying once the first failure was told.
	connected, connecting, retrying atomic.Bool
}

func newStatus(e *env, verbose bool) *status {
	return &status{w: e.stderr, on: verbose || e.stderrTTY, verbose: verbose}
}

// connectFailure tells, once and whatever the terminal, that the server
// cannot be reached yet and Connect retries: the failures of the first
// handshake, which the client reports, are not printed one by one (the
// last one is in Connect's error). It reports whether err was such a
// failure.
func (s *status) connectFailure(err error, url string, within time.Duration) bool {
	if !s.connecting.Load() {
		return false
	}
	if s.retrying.CompareAndSwap(false, true) {
		s.warnf("cannot reach %s yet (%s); retrying for up to %s (-connect-timeout)", url, cause(err), within)
	}
	return true
}

// sessionError reports whether err is a failure of the session the state
// listener already tells (a lost connection or session), so that the
// error handler does not print it a second time.
func sessionError(err error) bool {
	var te *bayeux.TransportError
	var se *bayeux.ServerError
	return errors.As(err, &te) || errors.As(err, &se)
}

// cause returns err's text without the library's "bayeux: " prefixes.
func cause(err error) string {
	return strings.TrimPrefix(errorLine(err), "bayeux: ")
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
		s.printf("connection lost (%s); retrying", cause(sc.Err))
	case sc.To == bayeux.StateRehandshaking:
		s.printf("session lost (%s); handshaking again, then subscribing again", cause(sc.Err))
	case sc.To == bayeux.StateConnected && lost:
		name := ""
		if c := s.client.Load(); c != nil {
			name = " over " + c.TransportName()
		}
		s.printf("reconnected%s, clientId %s", name, sc.ClientID)
	case sc.To == bayeux.StateDisconnected && sc.Err != nil && s.connected.Load():
		// (A Connect that failed is told once, by its error.)
		s.warnf("session ended: %s", cause(sc.Err))
	}
}

// isTerminal reports whether f is a terminal (a character device).
func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
