// Command chat is two people chatting through a Bayeux server: alice over
// websocket, bob over long-polling. Each subscribes to the room, says
// something, and prints what the other said.
//
//	go run ./examples/chat                       # on an embedded server
//	go run ./examples/chat -url http://127.0.0.1:8080/bayeux
package main
