// Command customextension shows how to write a message extension (a
// bayeux.MessageExtender): tracer stamps every message a client publishes
// with a trace id in its ext, and reads the trace id of every message the
// client receives, so that a receiver can tell which publish a message came
// from. Two clients exchange messages and print the trace ids.
//
//	go run ./examples/customextension                 # on an embedded server
//	go run ./examples/customextension -url http://127.0.0.1:8080/bayeux
package main
