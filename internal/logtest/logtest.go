package logtest

import (
	"context"
	"log/slog"
)

// Func is a slog.Handler that passes every record, at every level, to the
// function. It must be safe for concurrent use, as handlers are.
type Func func(slog.Record)

// Enabled reports true: every level is passed on.
func (f Func) Enabled(context.Context, slog.Level) bool { return true }

// Handle passes r to f.
func (f Func) Handle(_ context.Context, r slog.Record) error {
	f(r)
	return nil
}

// WithAttrs returns f: the attributes are not kept.
func (f Func) WithAttrs([]slog.Attr) slog.Handler { return f }

// WithGroup returns f: the group is not kept.
func (f Func) WithGroup(string) slog.Handler { return f }

// Attr returns the value of r's attribute key, and whether r has one.
func Attr(r slog.Record, key string) (slog.Value, bool) {
	var v slog.Value
	found := false
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == key {
			v, found = a.Value, true
			return false
		}
		return true
	})
	return v, found
}
