package main

import (
	"context"
	"io"
	"os"
)

// A command's help: its arguments, what it does, an example and its flags.
func Example_help() {
	_ = run(context.Background(), &env{stdout: os.Stdout, stderr: io.Discard}, []string{"help", "serve"})
	// Output:
	// usage: bayeux serve [flags]
	//
	// Serve Bayeux over long-polling, callback-polling and websocket (the in-process
	// server of package bayeuxtest) until interrupted, and print its URL. The
	// server has a remote-call service on /service/echo that answers with the data
	// it was sent.
	//
	// example:
	//   bayeux serve
	//   bayeux serve -addr 0.0.0.0:8098 -path /cometd
	//
	// flags (before or after the arguments; -- ends them):
	//   -addr host:port
	//     	the host:port to listen on (default "127.0.0.1:8080")
	//   -path string
	//     	the URL path the server answers on (default "/bayeux")
	//   -timeout duration
	//     	how long a /meta/connect is held when nothing happens (default 20s)
}
