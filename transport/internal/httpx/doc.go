// Package httpx holds what the HTTP transports of the SDK (long-polling and
// callback-polling) have in common above the raw wire layer: the two
// request lanes (one reserved for a lone /meta/connect, one first-in
// first-out lane for everything else), cancellation of in-flight requests
// on Close, the HTTP status checks turned into *bayeux.TransportError, and
// the choice of what may be retried (only batches a retry cannot
// duplicate).
//
// The requests themselves go through github.com/bayeux-go/sdk/wire's HTTP,
// bound to the client's http.Client (never modified), the session's cookie
// jar, the retry policy, and the single re-send, on a fresh connection, of
// a request that failed on a reused kept-alive connection before any byte
// of the answer.
package httpx
