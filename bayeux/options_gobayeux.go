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

// Logger is what WithLogger and NewBayeuxClient log to. A *slog.Logger is
// one; so is an implementation of gobayeux v2.7.0's Logger interface,
// whose WithError and WithField methods this package does not call (they
// are left out of Logger so that a *slog.Logger satisfies it).
type Logger interface {
	Debug(msg string, args ...any)
	Info(msg string, args ...any)
	Warn(msg string, args ...any)
	Error(msg string, args ...any)
}

// slogLogger returns l as a *slog.Logger: itself when it is one, nil when
// it is nil, and otherwise a logger whose records l receives as the
// message and the attributes as key, value pairs.
func slogLogger(l Logger) *slog.Logger {
	switch l := l.(type) {
	case nil:
		return nil
	case *slog.Logger:
		return l
	}
	return slog.New(&loggerHandler{l: l})
}

// loggerHandler is a slog.Handler writing to a Logger.
type loggerHandler struct {
	l     Logger
	attrs []any
	group string
}

func (h *loggerHandler) Enabled(context.Context, slog.Level) bool { return true }

func (h *loggerHandler) Handle(_ context.Context, r slog.Record) error {
	args := make([]any, 0, len(h.attrs)+2*r.NumAttrs())
	args = append(args, h.attrs...)
	r.Attrs(func(a slog.Attr) bool {
		args = append(args, h.key(a.Key), a.Value.Resolve().Any())
		return true
	})
	switch {
	case r.Level >= slog.LevelError:
		h.l.Error(r.Message, args...)
	case r.Level >= slog.LevelWarn:
		h.l.Warn(r.Message, args...)
	case r.Level >= slog.LevelInfo:
		h.l.Info(r.Message, args...)
	default:
		h.l.Debug(r.Message, args...)
	}
	return nil
}

func (h *loggerHandler) key(k string) string {
	if h.group != "" {
		return h.group + "." + k
	}
	return k
}

func (h *loggerHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	cp := *h
	cp.attrs = append([]any(nil), h.attrs...)
	for _, a := range attrs {
		cp.attrs = append(cp.attrs, h.key(a.Key), a.Value.Resolve().Any())
	}
	return &cp
}

func (h *loggerHandler) WithGroup(name string) slog.Handler {
	cp := *h
	cp.group = h.key(name)
	return &cp
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
