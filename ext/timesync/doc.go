// Package timesync is the client side of CometD's timesync extension: it
// estimates the network lag to the server and the offset of the server's
// clock from the local one, so that an application can reason in server
// time (ServerTime), for example to order events stamped by the server.
//
// Every meta message the client sends (handshake, connect, subscribe...)
// carries ext.timesync {"tc": local send time, "l": current lag, "o":
// current offset}, in milliseconds; a server that runs the extension
// (CometD's TimesyncExtension, or bayeuxtest.NewTimesync) answers ext.timesync
// {"tc", "ts": its time on receipt, "p": how long it held the message, "a":
// the accuracy of the client's estimate}. From each answer received at
// local time now the extension computes, as CometD does,
//
//	lag    = (now - tc - p) / 2
//	offset = ts - tc - lag
//
// and reports the average of the last samples (10 by default, as in
// CometD's JavaScript client), so that one slow round trip does not swing
// the estimate. The long-poll /meta/connect gives a sample each time it
// returns. Against a server without the extension no sample arrives and
// Offset stays zero.
package timesync
