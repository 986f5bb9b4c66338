// Package conformance checks a Bayeux server against the Bayeux 1.0
// specification and the conventions CometD and Faye share, in the manner
// of h2spec for HTTP/2 or the Autobahn testsuite for WebSocket. Run sends
// raw requests to a server over each transport it offers (long-polling,
// callback-polling, websocket), one case per rule, and returns a Report:
// for each case its id, the specification section it belongs to, its level
// (MUST, SHOULD, MAY or convention), the source of the rule (a URL), and
// its status with what the server did. A broken MUST rule fails; a broken
// rule below MUST warns; a case that needs a transport or an optional
// profile (the ack, timesync and replay extensions) the server lacks is
// skipped with the reason.
//
// The suite talks to the server through its own raw wire layer (no
// retries, no normalisation of keys or types, every field seen as sent),
// runs independent cases concurrently, uses its own channel names
// (/cf/<random>/...) and its own sessions (each with its own cookie jar),
// and asks servers with long timeouts, through advice, to hold connects
// shorter. Against a server on the same machine it takes a few seconds
// plus the longest wait it cannot shorten (session expiry).
//
// The bayeux command runs it from a shell:
//
//	bayeux conformance http://localhost:8080/bayeux --format junit
package conformance
