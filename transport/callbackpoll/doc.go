// Package callbackpoll is the Bayeux "callback-polling" (JSONP) transport:
// each batch is sent as a GET request whose query carries the messages,
// url?jsonp=<callback>&message=<URL-encoded JSON array>, and the server
// answers with a JavaScript call of the callback, <callback>([...]). It
// exists for servers and networks that only let GET requests through; use
// long-polling (github.com/bayeux-go/sdk/transport/longpoll) or websocket
// when you can.
//
// The package does not register itself: add it to a client explicitly, for
// example bayeux.WithTransports(longpoll.New(), callbackpoll.New()).
//
// The answer is parsed as data and never evaluated. It must be, apart from
// whitespace, an optional "/**/" comment, then exactly the callback name
// generated for that request, "(", one JSON array, ")" and an optional ";".
// Anything else (another callback name, a second call, trailing code, an
// object instead of an array) fails the RoundTrip with a
// *bayeux.TransportError wrapping a *bayeux.DecodeError that says why.
//
// A URL holds a limited number of bytes (WithMaxURLLength, 2000 by
// default, as in CometD). A batch whose URL would be longer is split into
// several GET requests, sent one after the other in order while the batch
// keeps its lane; their answers are concatenated in order. If one of them
// fails, RoundTrip returns that error and the answers of the requests
// already made are dropped (their messages were delivered to the server).
// A single message that does not fit in a URL fails before anything is
// sent, with an error that matches bayeux.ErrTooLarge; it is not a
// *bayeux.TransportError, since sending it again cannot succeed.
//
// Everything else is as in the long-polling transport: the client's
// http.Client is used as given, at most two requests are in flight (one
// reserved for a lone /meta/connect), the session jar's cookies are sent
// and those of 200 answers stored, batches of handshake, connect,
// subscribe, unsubscribe and disconnect messages are retried after a
// connection error or a 502, 503 or 504 answer, bodies are bounded
// (WithMaxBodyBytes), any status other than 200 is a *bayeux.TransportError
// with StatusCode, Close cancels the requests in flight, and a request that
// failed on a reused kept-alive connection before any byte of the answer is
// sent once more on a fresh connection (and never otherwise).
//
// net/http re-sends a GET by itself when a reused keep-alive connection
// breaks before the answer, even though the server may have processed it.
// A GET carrying a publish or a /service message would then be delivered
// twice (net/http tries every idle connection in turn), so such a request is given an empty body that net/http cannot
// rewind, which makes it non-replayable (the empty body is not sent). A
// side effect is that net/http does not follow a 307 or 308 redirect for
// it: the redirect is reported as a *bayeux.TransportError with its
// StatusCode.
package callbackpoll
