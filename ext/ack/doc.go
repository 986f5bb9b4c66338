// Package ack is the client side of CometD's message acknowledgement
// extension: with it, and a server that runs the server side (CometD's
// AcknowledgedMessagesExtension, cometd-nodejs-server's ack-extension, or
// bayeuxtest.WithAckExtension), no message from the server is lost when
// connections are torn, as long as the session itself survives (the client
// reconnects within the server's maxInterval).
//
// The handshake asks for the extension with ext {"ack": true}. When the
// server agrees, it delivers messages only in /meta/connect replies, in
// batches numbered in ext.ack; each /meta/connect the client sends carries
// the number of the last batch it received, and the server sends again the
// messages of the batches the client did not acknowledge. The extension
// also drops the copies of messages it has already delivered, which a
// server sends again when a reply reached the client late or lost its
// batch number, or when a stale copy of an earlier /meta/connect reached
// the server late, so each message reaches the subscribers once, in order.
//
// Register it on a Client like any bayeux.MessageExtender:
//
//	c, err := bayeux.NewClient(url, bayeux.WithExtensions(ack.New()))
//
// Faye has no server side for it: against Faye the handshake reply carries
// no ext.ack and the extension stays inactive.
package ack
