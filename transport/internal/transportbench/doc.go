// Package transportbench holds what the HTTP transports' delivery
// benchmarks share: the Salesforce-sized reply they are measured on, and
// the loop that measures a transport's RoundTrip per delivered message.
package transportbench
