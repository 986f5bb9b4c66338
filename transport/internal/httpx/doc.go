// Package httpx holds what the HTTP transports of the SDK (long-polling and
// callback-polling) have in common: the two request lanes (one reserved for
// a lone /meta/connect, one first-in first-out lane for everything else),
// cancellation of in-flight requests on Close, the cookie jar handling, the
// bounded reading of response bodies, the HTTP status checks and the
// retry policy that only ever re-sends batches a retry cannot duplicate.
//
// An Engine never modifies the http.Client it is given: retries go through
// github.com/hashicorp/go-retryablehttp wrapped around a private shim that
// calls the user's client, so the retry library can neither change the
// client nor close its idle connections.
package httpx
