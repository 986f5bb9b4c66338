// Package reliability holds the tests that check the Go Bayeux SDK's
// client under faults and hostile input, across transports: the chaos
// suite (a fault-injecting proxy from internal/chaosproxy between the
// client and a bayeuxtest server, with server restarts), TLS over https
// for long-polling and callback-polling, and a fuzz target that drives a
// whole client with arbitrary server replies. It has no API of its own;
// docs/reliability.md reports what the tests show.
//
// The chaos runs last about 20 s per transport under go test; run longer
// ones with
//
//	go test ./reliability -run Chaos -chaos.duration=5m
package reliability
