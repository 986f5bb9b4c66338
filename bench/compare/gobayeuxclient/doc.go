// Command gobayeuxclient is the gobayeux side of bench/compare: it runs
// gobayeux v2.7.0's high-level client (github.com/sigmavirus24/gobayeux/v2,
// long-polling only) against the canned server, subscribed to
// /event/Order__e, lets a warm-up through, then measures its own CPU time
// (getrusage: user and system) and wall time over the next messages and
// prints them as one JSON line, the format bench/compare reads.
//
// It is a module of its own so that gobayeux and its dependencies (logrus,
// golang.org/x/net) stay out of the SDK's go.mod; bench/compare builds and
// runs it:
//
//	go run . -url URL [-messages 500000] [-warmup 50000]
//
// gobayeux hands its subscriber each reply's events as one []Message
// batch (500 events here), so the warm-up and the measured count are
// reached at a batch boundary: the messages actually measured are
// reported, as the bare net/http loop of bench/compare does.
package main
