package bayeux_test

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bayeux-go/sdk/bayeux"
)

// gobayeuxLogger implements gobayeux v2.7.0's Logger interface (WithError
// and WithField included), as a migrated program has.
type gobayeuxLogger struct {
	mu    *sync.Mutex
	lines *[]string
	field string
}

func (l gobayeuxLogger) add(level, msg string, args []any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	*l.lines = append(*l.lines, fmt.Sprintf("%s %s%s %v", level, l.field, msg, args))
}
func (l gobayeuxLogger) Debug(msg string, args ...any) { l.add("debug", msg, args) }
func (l gobayeuxLogger) Info(msg string, args ...any)  { l.add("info", msg, args) }
func (l gobayeuxLogger) Warn(msg string, args ...any)  { l.add("warn", msg, args) }
func (l gobayeuxLogger) Error(msg string, args ...any) { l.add("error", msg, args) }
func (l gobayeuxLogger) WithError(err error) bayeux.Logger {
	l.field += "error=" + err.Error() + " "
	return l
}
func (l gobayeuxLogger) WithField(key string, value any) bayeux.Logger {
	l.field += fmt.Sprintf("%s=%v ", key, value)
	return l
}

// WithLogger takes an implementation of gobayeux v2.7.0's Logger as it
// takes a *slog.Logger: each record arrives at its level, as the message
// and key, value pairs.
func TestWithLoggerTakesGobayeuxLogger(t *testing.T) {
	leakCheck(t)
	f := newScripted(t)
	var mu sync.Mutex
	var lines []string
	c := newScriptedClient(t, f, bayeux.WithLogger(gobayeuxLogger{mu: &mu, lines: &lines}))
	f.expire(c.ClientID())
	eventually(t, "the renewal logged", func() bool {
		mu.Lock()
		defer mu.Unlock()
		for _, s := range lines {
			if strings.HasPrefix(s, "info bayeux session renewed [clientId ") {
				return true
			}
		}
		return false
	})
}

// gobayeux v2.7.0's sentinels are this package's: errors.Is matches the
// errors this package returns with either name.
func TestGobayeuxSentinels(t *testing.T) {
	_, err := bayeux.NewConnectRequestBuilder().Build()
	for _, target := range []error{bayeux.ErrMissingClientID, bayeux.ErrMissingConnectionType, bayeux.ErrMissingField} {
		if !errors.Is(err, target) {
			t.Errorf("Build without a clientId: %v does not match %v", err, target)
		}
	}
	_, err = bayeux.NewHandshakeRequestBuilder().Build()
	for _, target := range []error{bayeux.ErrNoVersion, bayeux.ErrNoSupportedConnectionTypes} {
		if !errors.Is(err, target) {
			t.Errorf("an empty handshake Build: %v does not match %v", err, target)
		}
	}
	if bayeux.ErrClientNotConnected != bayeux.ErrBadState || bayeux.ErrFailedToConnect != bayeux.ErrConnectFailed {
		t.Error("ErrClientNotConnected or ErrFailedToConnect is not this package's sentinel")
	}
	// gobayeux's way of matching an invalid channel, a value target,
	// compiles and does not panic; the pointer target matches.
	err = bayeux.Channel("no-slash").Validate()
	var value bayeux.InvalidChannelError
	_ = errors.As(err, &value)
	var ptr *bayeux.InvalidChannelError
	if !errors.As(err, &ptr) || ptr.Channel != "no-slash" {
		t.Errorf("errors.As(%v, *InvalidChannelError) = %v", err, ptr)
	}
	// The error types are errors, and unwrap to their cause.
	cause := errors.New("cause")
	for _, e := range []error{bayeux.HandshakeFailedError{Err: cause}, bayeux.ConnectionFailedError{Err: cause},
		bayeux.SubscriptionFailedError{Err: cause}, bayeux.UnsubscribeFailedError{Err: cause}, bayeux.DisconnectFailedError{Err: cause}} {
		if !errors.Is(e, cause) || !strings.Contains(e.Error(), "cause") {
			t.Errorf("%T: %v does not wrap its cause", e, e)
		}
	}
}

// TimestampAsTime reads the Bayeux timestamp form (GMT) and RFC 3339.
func TestTimestampAsTime(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Time
	}{
		{"2026-12-05T11:45:46.25", time.Date(2026, 12, 5, 11, 45, 46, 250e6, time.UTC)},
		{"2026-12-05T11:45:46", time.Date(2026, 12, 5, 11, 45, 46, 0, time.UTC)},
		{"2026-12-05T12:45:46.5+01:00", time.Date(2026, 12, 5, 11, 45, 46, 500e6, time.UTC)},
	} {
		m := bayeux.Message{Timestamp: tc.in}
		got, err := m.TimestampAsTime()
		if err != nil || !got.Equal(tc.want) {
			t.Errorf("TimestampAsTime(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"", "yesterday", "2026-13-05T11:45:46"} {
		m := bayeux.Message{Timestamp: bad}
		if _, err := m.TimestampAsTime(); err == nil {
			t.Errorf("TimestampAsTime(%q): no error", bad)
		}
	}
}
