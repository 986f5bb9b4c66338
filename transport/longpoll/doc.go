// Package longpoll is the Bayeux "long-polling" transport: every batch of
// messages is POSTed to the server as a JSON array (Content-Type
// application/json;charset=UTF-8) and the response body, a JSON array, is
// what the server answered. It is the transport every Bayeux server
// supports, and the one the SDK uses when no other is configured: importing
// the package registers it with bayeux.RegisterTransport.
//
// The transport follows the bayeux.Transport contract:
//
//   - It sends with the client's http.Client exactly as given (transport,
//     redirect policy, timeout, jar); it never modifies it. Deadlines come
//     from the context of each RoundTrip.
//   - At most two requests are in flight: one reserved for a batch that is
//     a lone /meta/connect (the long poll), one for everything else, where
//     batches wait their turn in arrival order. A publish therefore never
//     waits behind a held /meta/connect.
//   - When the client gives it a session cookie jar, the jar's cookies are
//     sent with every request, and the cookies of 200 answers are stored in
//     it (as CometD does, the cookies of failed answers are not kept).
//   - A batch is re-sent, a few times with a short exponential wait, after
//     a connection error or a 502, 503 or 504 answer, but only when it is
//     made of /meta/handshake, /meta/connect, /meta/subscribe,
//     /meta/unsubscribe and /meta/disconnect messages, which a duplicate
//     cannot harm. A batch holding a publish or a /service message is sent
//     once, with one exception: a request that failed on a reused
//     kept-alive connection before any byte of the answer arrived (the
//     server closed the idle connection as the request went out, which
//     several Rack servers do after every response) is sent once more, on
//     a fresh connection, as browsers do. A request that received a byte
//     of its answer, or failed on a fresh connection, is never re-sent.
//   - Every failure is a *bayeux.TransportError: StatusCode is set for an
//     answer other than 200, a body larger than the limit wraps
//     bayeux.ErrTooLarge, an empty or unparseable body wraps a
//     *bayeux.DecodeError. After Close, RoundTrip returns bayeux.ErrClosed.
//
// The response body is read into one buffer, sized from Content-Length when
// the server sends it, and decoded with bayeux.DecodeMessages; the Data of
// the returned messages aliases that buffer.
package longpoll
