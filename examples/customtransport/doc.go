// Command customtransport shows how to write a Bayeux transport of your
// own: plainPoll is HTTP long-polling in a page of code, written against
// the bayeux.Transport contract with net/http only. The program uses it for
// a session that subscribes, publishes, and prints what each request
// carried.
//
//	go run ./examples/customtransport                  # on an embedded server
//	go run ./examples/customtransport -url http://127.0.0.1:8080/bayeux
//
// See docs/transports.md for the contract.
package main
