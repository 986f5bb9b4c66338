// Package loadgen is the load generator behind `bayeux bench`: in the
// manner of the CometD benchmark, it connects N subscriber clients to a
// Bayeux server, each subscribed to some of R rooms (broadcast channels),
// has publisher clients publish to the rooms at a given rate or in
// batches, and measures what arrives: sent and received rates,
// end-to-end latency percentiles from an HDR histogram (each message
// carries its publication time), failures, dropped and lost messages.
//
// Run works against any Bayeux server URL (bayeuxtest, Faye, CometD).
// Serve and StartServer run the bayeuxtest server in a process of its own,
// so that the load generator's CPU and memory are measured apart from the
// server's: ServerProcess reports the server's CPU time when it stops.
//
// Every message published is expected once at every subscriber of its
// room. A message whose publication failed is not expected; one that was
// expected and never arrived within the drain time is lost.
package loadgen
