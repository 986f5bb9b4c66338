// Package raw is the conformance suite's view of the wire: HTTP exchanges
// that return the status, headers, cookies and body exactly as the server
// sent them, websocket connections that read and write frames as they are,
// and a strict decoder that keeps each message's raw fields and reports
// case-folded keys, duplicate keys, unknown fields and wrong-typed fields
// instead of normalising them. Nothing here retries, queues or matches
// replies: the suite must see the server as it is.
package raw
