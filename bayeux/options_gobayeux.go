package bayeux

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
)

// The options gobayeux v2.7.0 added, with its meaning, so that a gobayeux
// v2.7.0 program compiles by changing its import.

// IgnoreErrorFunc inspects an error of a subscription or unsubscription
// the client carries out in the background and says whether the client
// may go on (gobayeux's IgnoreErrorFunc).
type IgnoreErrorFunc func(error) bool

// WithIgnoreError sets the function called with each error of a
// subscription, re-subscription or unsubscription that no caller waits
// for (a renewal the server denies, an unsubscribe that fails): when it
// returns false, the client ends the session with that error (Err returns
// it, Done closes), as gobayeux v2.7.0 stops its event loop; when it
// returns true, the client goes on (and retries a renewal with backoff).
// Without it the client always goes on. A denial returned to the caller of
// Subscribe is not passed to it.
func WithIgnoreError(f IgnoreErrorFunc) Option {
	return func(o *Options) { o.IgnoreError = f }
}

// WithSlogLogger is WithLogger, under gobayeux v2.7.0's name.
func WithSlogLogger(logger *slog.Logger) Option { return WithLogger(logger) }

// FieldLogger is the part of a logrus.FieldLogger that WithFieldLogger
// uses: a logrus logger or entry satisfies it, so a gobayeux v2.7.0
// program passes its logger unchanged (and this package does not depend
// on logrus).
type FieldLogger interface {
	Debug(args ...any)
	Info(args ...any)
	Warn(args ...any)
	Error(args ...any)
}

// WithFieldLogger sends the client's logs to a logrus-style logger
// (gobayeux v2.7.0's WithFieldLogger): each record becomes one call at
// its level, with the message followed by its attributes as key=value.
func WithFieldLogger(logger FieldLogger) Option {
	if logger == nil {
		return WithLogger(nil)
	}
	return WithLogger(slog.New(&fieldHandler{l: logger}))
}

// fieldHandler is a slog.Handler writing to a FieldLogger.
type fieldHandler struct {
	l     FieldLogger
	attrs []slog.Attr
	group string
}

func (h *fieldHandler) Enabled(context.Context, slog.Level) bool { return true }

func (h *fieldHandler) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString(r.Message)
	write := func(a slog.Attr) {
		k := a.Key
		if h.group != "" {
			k = h.group + "." + k
		}
		fmt.Fprintf(&b, " %s=%v", k, a.Value)
	}
	for _, a := range h.attrs {
		write(a)
	}
	r.Attrs(func(a slog.Attr) bool { write(a); return true })
	switch {
	case r.Level >= slog.LevelError:
		h.l.Error(b.String())
	case r.Level >= slog.LevelWarn:
		h.l.Warn(b.String())
	case r.Level >= slog.LevelInfo:
		h.l.Info(b.String())
	default:
		h.l.Debug(b.String())
	}
	return nil
}

func (h *fieldHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	cp := *h
	cp.attrs = append(append([]slog.Attr(nil), h.attrs...), attrs...)
	return &cp
}

func (h *fieldHandler) WithGroup(name string) slog.Handler {
	cp := *h
	if cp.group != "" {
		name = cp.group + "." + name
	}
	cp.group = name
	return &cp
}
