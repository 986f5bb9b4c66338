// Package bayeuxtest provides an in-process Bayeux server for tests, in the
// manner of net/http/httptest: a spec-faithful server on 127.0.0.1 that a
// test starts with NewServer, points a client at (Server.URL), scripts
// failures on (InjectFault, ExpireSession, Restart, TearWebSockets...),
// observes (Received, Sessions, Subscribers, WaitFor) and closes. It serves
// this SDK's own tests and is meant for users' tests of code built on the
// SDK.
//
//	srv := bayeuxtest.NewServer(bayeuxtest.WithTimeout(200 * time.Millisecond))
//	defer srv.Close()
//	c, _ := bayeux.NewClient(srv.URL, bayeux.WithHTTPClient(srv.Client()))
//	...
//	srv.InjectFault(bayeuxtest.Fault{Channel: bayeux.MetaConnect, Status: 500})
//	srv.ExpireSession(c.ClientID())
//
// # Transports
//
// All three transports are served on the same URL (and its sub-paths, such
// as the /bayeux/connect that CometD clients append):
//
//   - long-polling: POST whose body is a JSON array of messages or a single
//     message object. The Content-Type is not required to be
//     application/json (as in CometD); an application/x-www-form-urlencoded
//     body with one or more "message" values is accepted too (as in Faye).
//     Replies are application/json.
//   - callback-polling: GET with "message" (URL-encoded JSON) and "jsonp"
//     (default "jsonpcallback"; a dotted JavaScript identifier of at most 64
//     characters). The reply is text/javascript "/**/cb([...]);" with U+2028
//     and U+2029 escaped, nosniff and attachment headers.
//   - websocket: a gorilla/websocket upgrade of the same URL. Each text frame
//     is a JSON array of messages; replies are sent as frames; a lone
//     /meta/connect is still held over the socket; events for the sessions
//     using the socket are pushed as soon as they are published, those
//     queued while a frame is being written together in the next frame
//     (WithPushInterval spaces such frames out to batch more). An empty array frame is a protocol violation (close 1002, as
//     CometD does), malformed JSON closes with 1008, a binary frame with
//     1003 and an oversized frame with 1009. A session created over one
//     connection may continue over another, or over HTTP.
//
// Malformed HTTP requests are answered 400 (bad JSON, JSON that is not an
// object or an array of objects with a string "channel", a bad JSONP
// callback, a missing message parameter), 413 (larger than WithMaxBodyBytes,
// default 1 MiB) or 415 (a charset other than UTF-8); other methods get 405,
// other paths 404.
//
// # Protocol
//
// Handshake: version and supportedConnectionTypes are required
// ("402:version:Missing required parameter"); a client whose
// minimumVersion is above 1.0 gets "300:<v>:Version mismatch"; with no
// connection type in common the handshake fails with
// "301:<types>:Connection types not supported". Failed handshakes carry
// advice {reconnect:"handshake", interval:0}, no clientId, and the server's
// types. A successful reply carries version "1.0", the server's types, a
// clientId of 128 random bits from crypto/rand (32 lowercase hex
// characters), advice {reconnect:"retry", interval, timeout, maxInterval}
// and sets the BAYEUX_BROWSER cookie (HttpOnly, Path=/). The other messages
// of a request that contains a handshake are ignored, as the specification
// says. A handshake reply never carries events.
//
// /meta/connect: connectionType is required and must be one the server
// offers. The first connect of a session, a connect with advice
// {timeout:0}, a connect batched with other messages and a connect finding
// events queued are answered at once; any other connect is held until the
// timeout (the server's, or the client's advice timeout when smaller), an
// event for the session, a newer connect of the same session (the old one
// is then answered with its normal reply and no events; the events go to
// the new one), a disconnect, expiry, Restart or Close. Replies carry the
// same advice as handshake replies.
//
// Sessions expire when no /meta/connect arrives within maxInterval of the
// previous connect reply (or of the handshake); a held connect keeps its
// session alive. Any message with an unknown, expired or missing clientId
// is answered unsuccessful with "402:<clientId>:Unknown client" and advice
// {reconnect:"handshake", interval:0}. /meta/disconnect removes the
// session; a connect it releases is answered successfully with advice
// {reconnect:"none"}.
//
// /meta/subscribe and /meta/unsubscribe: the reply echoes subscription as
// sent (string or array). A missing subscription gives
// "402:subscription:Missing required parameter", an invalid channel
// "405:<ch>:Invalid channel", a /meta channel "403:<ch>:Forbidden channel"
// (the whole message fails, nothing is applied). A /service subscription
// succeeds without being recorded. Wildcards "*" and "**" follow the
// specification (see bayeux.Channel.MatchString); a session receives one
// copy of an event however many of its subscriptions match.
//
// Publish: a reply {channel, id, clientId, successful:true} without data.
// Publishing to a /meta channel other than the five above (so also
// look-alikes such as /meta/connectx) gives 403, to an invalid or wildcard
// channel 405, without data "402:data:Missing required parameter".
// Delivered events carry channel, data and the publisher's id and ext, but
// never its clientId; a publisher subscribed to the channel gets its own
// message. /service channels are never broadcast: a handler registered with
// HandleService answers the caller alone with {channel, id,
// successful:true, data}; without one the reply is a plain successful
// publish reply.
//
// Events for a session ride on its next response that is not a handshake
// reply — any immediate reply, not only a connect — after the replies
// (WithEventsBeforeReplies puts them first, as CometD does), or wake its
// held connect; events for a session using a websocket are pushed at once.
// Message ids must be alphanumeric, as the specification's grammar says
// (WithStrictMessageIDs(false) to relax).
//
// # Faults, extensions and observation
//
// InjectFault scripts failures for the next matching requests (by channel
// pattern and transport): an HTTP status, a torn connection, raw bytes, a
// delay, before or after processing. ExpireSession, ExpireAllSessions,
// Restart, RefuseWebSocket and TearWebSockets script the rest.
// Extensions (WithExtension) see every message in and out, and can deny one
// by setting its Error.
//
// # Built-in extensions
//
// WithAckExtension serves CometD's acknowledgement extension: a session
// that asks for it in its handshake gets its events only in /meta/connect
// replies, numbered in batches, and those the client does not acknowledge
// are sent again, so torn connections lose nothing. WithReplay keeps a
// Salesforce-like replay event log (PublishEvent, ExpireEvents): events
// carry data.event.replayId and a subscription may start from -1 (new
// events), -2 (all retained) or a retained id, an unknown or expired id
// failing with Salesforce's "400::The replayId {N} you provided was
// invalid..." error; WithReplayForPublishes puts clients' publishes
// through the log too. WithOneChannelSubscriptions accepts only one-channel
// string subscriptions, as Salesforce does. WithBearerAuth requires an
// "Authorization: Bearer" token checked on every request (Tokens issues
// tokens that expire), answering Salesforce's "401::Authentication
// invalid" (on /meta/connect with advice reconnect "none", as Salesforce
// does) or HTTP 401. Both serve Salesforce's filtered PushTopic channels
// ("/topic/Orders?Status__c=Open"). NewTimesync is CometD's timesync extension, with
// a server clock that can be shifted. Received, Count, Sessions, Subscriptions,
// Subscribers, HeldConnects, WebSockets and HandshakeCount report state;
// WaitFor, WaitSubscribed and WaitHeld block until a condition holds, so
// tests need no sleeps.
//
// # Lifecycle and concurrency
//
// A Server is safe for concurrent use. One mutex guards all its state; it is
// never held while extensions or service handlers run, or while writing to
// the network, so those may call Server methods. No call blocks forever:
// held connects end on their timeout, on Close and on Restart; delays end
// on Close. Close stops every goroutine the server started (the session
// sweeper, websocket readers and writers, held-connect waiters) before it
// returns, so tests can use go.uber.org/goleak.
//
// # Choices and departures
//
// The server follows the Bayeux 1.0 specification
// (https://docs.cometd.org/current/reference/#_bayeux) and passes every
// case of the conformance suite in package conformance (with cookie
// binding on; see docs/conformance.md). Where the specification leaves a
// choice between CometD and Faye it takes the stricter or more useful one
// for tests, and where it departs, this is why:
//
//   - Unknown client: the code is CometD's 402 with Faye's form
//     "402:<clientId>:Unknown client" (the specification's own example),
//     with advice interval 0 on every channel, so that clients see the
//     same reply whatever they sent.
//   - A superseded held connect is answered with its normal
//     successful reply rather than CometD's HTTP 500 or Faye's silence: the
//     client learns at once that the connect ended and nothing is lost (its
//     events go to the newer connect).
//   - Subscribing to /service channels succeeds as a no-op (as CometD does)
//     rather than Faye's 403.
//   - The client's advice timeout is honoured only when it shortens the
//     hold, so a test never waits longer than WithTimeout; a client's
//     interval advice is not honoured (the specification says SHOULD).
//   - Cookie binding (the BAYEUX_BROWSER cookie) is off by default, as in Faye and the
//     specification (sessions are identified by clientId); turn it on with
//     WithCookieBinding to test CometD-like servers. With cookie binding
//     on, a session whose browser (cookie) already has a held long-polling
//     connect is not held but advised {"multiple-clients": true,
//     "reconnect": "retry", "interval": 1000}, as the specification
//     recommends and CometD does.
//   - An empty array over HTTP is answered 200 "[]" (Faye); over websocket it
//     closes the socket (as CometD does), since clients must never send it.
//   - A reply to a subscribe without subscription cannot echo an empty
//     subscription (the core codec omits empty fields).
//   - The ack and replay extensions are built in but off by default
//     (WithAckExtension, WithReplay); timesync is an Extension
//     (NewTimesync).
//   - Publishing without a clientId is answered with the
//     unknown-client error instead of being accepted.
package bayeuxtest
