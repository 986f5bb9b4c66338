// Package staleconn makes a kept-alive HTTP connection that the server has
// already closed fail a request before any byte of it is written, so that
// the request provably never reached the server and may be sent again on a
// fresh connection, a publish included.
//
// Some servers (Ruby Faye under puma or thin, several Rack servers) close
// each connection right after a response, without "Connection: close".
// net/http notices only when its read loop sees the end of the stream; a
// request sent on the connection before that fails with no answer, and
// whether the server read it is unknown. Dial wraps a dial function so
// that each connection, before the first write of a request that follows a
// response, looks for the end of stream the server sent (a non-blocking
// peek at the socket): when it is there, the write fails with an error
// that NotSent recognizes, having written nothing. net/http then re-sends
// a POST with a rewindable body on another connection by itself, and
// reports the error for any other request.
package staleconn
