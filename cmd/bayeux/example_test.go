package main

import (
	"context"
	"io"
	"os"
)

// The command's usage.
func Example_help() {
	_ = run(context.Background(), []string{"help"}, os.Stdout, io.Discard)
	// Output:
	// usage: bayeux <command> [flags]
	//
	// commands:
	//   demo    run a demo: two clients exchange messages through the embedded server
	//   serve   run the embedded Bayeux server (long-polling, callback-polling, websocket)
	//   sub     subscribe to channels and print each message as a JSON line
	//   pub     publish one message and wait for the server's reply
}
