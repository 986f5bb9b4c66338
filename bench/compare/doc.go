// Command compare measures, side by side in one run, the CPU each Bayeux
// client spends per delivered message on the same workload: a canned
// server in a process of its own answers every /meta/connect with 500
// Salesforce-sized events (about 250 bytes each), over long-polling
// (with a Content-Length) and over websocket. Each client runs in a
// process of its own, lets a warm-up through, then measures its own CPU
// time (getrusage for Go, process.cpuUsage for Node) over the next
// messages. It prints CPU and wall ns/msg for each client, its CPU per
// message over ours ("ratio") and ours over its ("ours/it").
//
// The clients: this SDK's; the CometD JavaScript client (npm cometd 9.0.0
// with cometd-nodejs-client 2.0.0, pinned in package.json and
// package-lock.json here); over long-polling only, gobayeux v2.7.0
// (github.com/sigmavirus24/gobayeux/v2, which has no websocket transport);
// and, for reference over long-polling, a bare net/http loop that only
// reads and decodes the replies.
//
// The gobayeux client lives in gobayeuxclient, a Go module of its own
// (its go.mod and go.sum pin gobayeux v2.7.0, logrus and golang.org/x/net),
// so that gobayeux stays out of the SDK's go.mod and out of ./... in the
// repository root. compare builds it with `go build` in that directory
// (fetching the module from the Go module proxy the first time) and runs
// it like the others; if it does not build, it is reported as not
// measured. gobayeux hands its subscriber each reply's 500 events as one
// batch, so its warm-up and measured count end on a reply boundary, as
// the bare loop's do. The canned server is the same for every client.
//
// Usage, from the repository root:
//
//	make compare
//	# which runs:
//	npm ci --prefix bench/compare
//	go run ./bench/compare [-transport long-polling|websocket|both] [-messages 500000] [-warmup 50000]
package main
