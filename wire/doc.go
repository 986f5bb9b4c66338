// Package wire is the raw wire layer of the SDK: it sends Bayeux payloads
// over HTTP and websocket exactly as given and returns what the server sent
// exactly as received, without the forgiving interpretation of the
// transports. The transports (long-polling, callback-polling) send through
// its HTTP layer; a conformance suite uses it to see a server as it is.
//
// HTTP sends raw bytes (a POSTed JSON body for long-polling, a GET with a
// message and a caller-chosen callback name in the query for
// callback-polling) and returns an Exchange: status, headers, cookies and
// body. Requests go on one of two lanes, each with its own http.Client (by
// default each with its own http.Transport, hence its own connection pool),
// so that a held /meta/connect never delays another request. Retries are
// off unless asked for. With WithReuseRetry, a request that failed on a
// reused kept-alive connection before any byte of the response arrived
// (the server closed the idle connection as the request went out, as
// several Rack servers do) is sent once more on a fresh connection when
// that cannot deliver a message twice: a request marked Retry, or one that
// provably never reached the server (WithResendUncertain re-sends the
// others too); nothing else is ever re-sent by it.
//
// WebSocket is a raw websocket connection (github.com/gorilla/websocket):
// frames are written and read as they are, text, binary or close, with the
// deadlines of a context.
//
// Decode is a strict decoder: it keeps each message's raw bytes and reports
// what a forgiving decoder would hide (a key in the wrong case, a duplicate
// key, an unknown field, a value of the wrong type) as Findings.
package wire
