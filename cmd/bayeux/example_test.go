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
	// With --replay, the server keeps a replay log shaped like Salesforce's
	// Streaming API: every message a client publishes on a broadcast channel is
	// delivered as {"event":{"replayId":N,"createdDate":...},"payload":DATA} and
	// kept for RETENTION (72h when not given; 0 keeps every event until the server
	// stops), and subscribers using the replay extension (bayeux sub --replay) may
	// start from a replay id, -1 (new events) or -2 (every event kept).
	//
	// 'bayeux conformance' against it passes every MUST rule and warns twice, by
	// design of a test server: session.hijack (it sets the BAYEUX_BROWSER cookie
	// but identifies sessions by clientId alone, so that clients without a cookie
	// jar, such as gobayeux, work) and session.multiple-clients (it holds the
	// connect of every session of one browser rather than advising
	// multiple-clients). With -cookie-binding it binds each session to its
	// BAYEUX_BROWSER cookie and advises multiple-clients, as CometD does, and
	// passes every case (clients then need a cookie jar).
	//
	// example:
	//   bayeux serve
	//   bayeux serve -addr 0.0.0.0:8098 -path /cometd
	//   bayeux serve --replay=1h
	//
	// flags (before or after the arguments; -- ends them):
	//   -addr host:port
	//     	the host:port to listen on (default "127.0.0.1:8080")
	//   -cookie-binding
	//     	bind each session to its BAYEUX_BROWSER cookie, as CometD does (clients need a cookie jar)
	//   -path string
	//     	the URL path the server answers on (default "/bayeux")
	//   -replay RETENTION
	//     	keep a replay log of the messages clients publish, each event for RETENTION (--replay alone: 72h)
	//   -timeout duration
	//     	how long a /meta/connect is held when nothing happens (default 20s)
}
