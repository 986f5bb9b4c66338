// Package bayeux is the core of the Go Bayeux SDK: the protocol model
// (Message, Channel, Advice, errors), the wire codec, the Transport
// interface that concrete transports implement, the MessageExtender
// pipeline, and the session Client that handshakes, keeps the /meta/connect
// loop running, follows the server's advice, re-handshakes and re-subscribes
// after a lost session, and delivers messages to subscribers in order.
//
// The package imports only the standard library and holds no concrete
// transport: long-polling, callback-polling and websocket live in
// github.com/bayeux-go/sdk/transport/..., and a user can write their own by
// implementing Transport. The low-level BayeuxClient of the gobayeux API is
// kept for code that wants to drive the protocol one request at a time.
//
// Bayeux is the protocol of CometD, Faye and the Salesforce Streaming API;
// see https://docs.cometd.org/current/reference/#_bayeux for the
// specification this package follows.
package bayeux
