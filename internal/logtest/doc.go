// Package logtest is what the SDK's tests use to watch the client's log: a
// slog.Handler that passes every record to a function, and a lookup of a
// record's attribute. Tests count Debug records with it (publishes re-sent
// on a fresh connection, events a test server sends again) without
// parsing text.
package logtest
