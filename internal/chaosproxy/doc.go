// Package chaosproxy is a fault-injecting TCP proxy for tests of the Go
// Bayeux SDK: it sits between a client and a server (both on 127.0.0.1),
// forwards bytes both ways, and on demand breaks the traffic the way
// networks, proxies and servers do. A fault is injected with Inject and
// applies once, to one connection: the one it picks at once (Drop, Reset,
// SlowRead), the next one to carry data the fault needs (Truncate,
// Garbage, CloseAfterResponse on the server's bytes, Status5xx on a
// client's HTTP request), or every open connection for a while (Stall).
// Counts reports the faults that were actually applied, so that a test
// can print what its client survived.
//
// The proxy knows nothing of Bayeux and little of HTTP: Status5xx
// recognizes the start of an HTTP request in the client's bytes, and
// CloseAfterResponse closes a connection right after forwarding a chunk
// of the server's bytes, which on an HTTP keep-alive connection is a
// response, as servers that close idle connections without
// "Connection: close" do.
package chaosproxy
