// Package otelbayeux reports a bayeux.Client's counters as OpenTelemetry
// metrics. It lives in a module of its own so that the SDK's go.mod does
// not depend on OpenTelemetry.
//
// Register installs a callback on the given MeterProvider's meter that
// reads Client.Stats when the metrics are collected; nothing is measured
// between collections and nothing is on unless Register is called.
package otelbayeux
