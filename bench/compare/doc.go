// Command compare measures, side by side in one run, the CPU each Bayeux
// client spends per delivered message on the same workload: a canned
// server in a process of its own answers every /meta/connect with 500
// Salesforce-sized events (about 250 bytes each), over long-polling
// (with a Content-Length) and over websocket. Each client runs in a
// process of its own, lets a warm-up through, then measures its own CPU
// time (getrusage for Go, process.cpuUsage for Node) over the next
// messages. It prints CPU and wall ns/msg for each client and the ratio
// to ours.
//
// The clients: this SDK's, the CometD JavaScript client (npm cometd 9.0.0
// with cometd-nodejs-client 2.0.0, pinned in package.json and
// package-lock.json here) and, for reference over long-polling, a bare
// net/http loop that only reads and decodes the replies. gobayeux is not measured: the Go module proxy
// does not serve github.com/sigmavirus24/gobayeux/v2.
//
// Usage, from the repository root:
//
//	make compare
//	# which runs:
//	npm ci --prefix bench/compare
//	go run ./bench/compare [-transport long-polling|websocket|both] [-messages 500000] [-warmup 50000]
package main
