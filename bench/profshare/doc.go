// Command profshare splits a CPU profile of the client's delivery path into
// the stages a delivered message goes through: read (socket, HTTP or
// websocket framing, body), decode (bayeux.DecodeMessages), route
// (Client.receive, extensions, subRegistry.dispatch), queue
// (Subscription.enqueue), hand-off (the subscription goroutine taking its
// queue and calling the handler), the request that asks for more (writing
// /meta/connect), garbage collection and the scheduler. It prints a
// Markdown table of the share of CPU samples in each stage, and the part
// of each spent allocating (runtime.mallocgc).
//
// Each sample goes to the first stage, in the order above from GC down,
// whose pattern matches a frame of its stack (GC first: an assist or a
// background mark worker is GC wherever it runs).
//
// Usage:
//
//	go test -run='^$' -bench=BenchmarkWebSocketDelivery -benchtime=5000000x -cpuprofile ws.cpu ./bayeux/
//	go run ./bench/profshare ws.cpu
//
// It runs `go tool pprof -traces` on the profile and reads its output.
package main
