// Package websocket is the websocket transport of the Go Bayeux SDK
// ("websocket" in supportedConnectionTypes), built on
// github.com/gorilla/websocket.
//
// One websocket connection carries every message of a session. It is
// opened lazily by the first RoundTrip (an http:// URL becomes ws://,
// https:// becomes wss://), sending the session's cookies and storing the
// cookies of the upgrade response in the client's jar. Every batch is one
// text frame holding a JSON array; RoundTrip returns when each message of
// the batch that has an id has its reply, matched by id, so a held
// /meta/connect and a publish share the connection without waiting for
// each other. Everything else the server pushes (events, late replies) is
// handed to the client through TransportConfig.Receive, from the
// connection's reader goroutine, in the order of the frames: Receive
// should hand messages off quickly, since the next frame is not read
// before it returns. Decoded messages alias the frame they came in (a new
// buffer for each frame, never reused). When the client takes replies
// through Receive (bayeux.TransportConfig.ReceiveReplies, set by the
// session Client), every frame goes to Receive whole, replies included,
// and RoundTrip returns no messages once its replies were passed: the
// client handles each frame in the server's order, a /meta/connect reply
// together with the events around it.
//
// The transport pings the server (WithPingInterval, 20 s by default) and
// declares the connection dead when nothing comes back within the pong
// timeout (WithPongTimeout, 10 s). A server that keeps the socket open,
// answers pings, but stops answering requests is caught by the requests'
// deadlines (the client gives every request one): a request whose deadline
// passes with no frame received since it was sent tears the connection
// (ErrSilent), as the CometD clients do, so that the session goes on over
// a new one. A dead, closed, failing or misbehaving connection (malformed
// frame, frame over WithMaxMessageBytes) is torn: every RoundTrip waiting
// on it fails with a *bayeux.TransportError and the next RoundTrip dials
// again.
//
// Binary frames: Bayeux frames are JSON text, so a binary frame is not
// read. It tears the connection with close code 1003 (unsupported data);
// the requests in flight fail with a *bayeux.TransportError wrapping a
// *bayeux.DecodeError (matching bayeux.ErrMalformed), and the next
// RoundTrip dials again. Nothing of the frame reaches Receive.
//
// An upgrade the server answers without 101 fails with a
// *bayeux.TransportError whose Refused field is set and whose StatusCode
// is the server's status, so that the client can fall back to
// long-polling. An upgrade that gets no answer at all once the TCP (and
// TLS) connection is up (closed, reset, or timed out: a proxy that does
// not pass websockets) is refused the same way, with StatusCode 0 and
// ErrUpgradeTorn. A failure to connect (connection refused, DNS, a TLS
// or certificate error) is not a refusal: long-polling would fail alike.
// A cancelled context is never a refusal.
//
// The transport is not registered as a default: give it to the client,
// usually ahead of long-polling so that the client falls back when the
// server has no websocket:
//
//	c, err := bayeux.NewClient(url, bayeux.WithTransports(
//		websocket.New(websocket.WithHeader("Authorization", "Bearer "+token)),
//		longpoll.New(),
//	))
//
// TLS: certificates are verified by default. A custom CA (or client
// certificate) comes from WithTLSConfig, else from the TLSClientConfig
// (and proxy) of the client's *http.Transport, so that one http.Client
// set with bayeux.WithHTTPClient configures every transport; WithDialer
// gives full control of the gorilla Dialer. WithCompression negotiates permessage-deflate.
package websocket
