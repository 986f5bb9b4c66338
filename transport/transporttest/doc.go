// Package transporttest checks an implementation of bayeux.Transport
// against the contract written on that interface, in the spirit of
// testing/fstest: a transport's own tests call
//
//	transporttest.Run(t, func() bayeux.Transport { return mytransport.New() })
//
// and each check runs as a subtest against an in-process
// github.com/bayeux-go/sdk/bayeux/bayeuxtest server, with a new transport
// bound to a client configuration whose Receive is recorded. The checks: a
// whole session (replies matched by id; events delivered once each, in
// order, whether in a RoundTrip's answer or through Receive); publishes
// answered while a /meta/connect is held (never waiting behind it);
// cancellation and deadlines of the context ending a held connect
// promptly; errors typed as *bayeux.TransportError (with StatusCode for
// HTTP answers, a *bayeux.DecodeError cause for an answer that is not
// Bayeux JSON, Refused for a refused upgrade); Close ending a held connect
// with bayeux.ErrClosed, RoundTrip after Close returning bayeux.ErrClosed,
// no Receive after Close; no goroutine left after Close; a caller's
// deadline ending that request alone (a held /meta/connect survives it:
// only a context whose cause is bayeux.ErrNetworkDelay may judge the
// server silent); and the session bayeux.Client over the transport, end to
// end.
//
// The transport must speak one of the connection types bayeuxtest serves
// (long-polling, callback-polling or websocket), and name it in Name.
package transporttest
