// Command testing shows how to test code built on the SDK with the
// in-process server of package bayeuxtest. greeter.go is the code under
// test: a service that answers greeting requests. greeter_test.go tests
// it: normal operation, a session the server loses, a reply the server
// denies and a malformed request, each scripted on a bayeuxtest.Server and
// observed through it, without sleeps.
//
//	go test ./examples/testing                       # the tests
//	go run ./examples/testing                        # the greeter, on an embedded server
//	go run ./examples/testing -url http://127.0.0.1:8080/bayeux
package main
