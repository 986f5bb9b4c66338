// Package interop runs the SDK against real Bayeux peers: Faye 1.4.3 and
// cometd-nodejs-server 1.2.1, both from npm, started as Node.js processes on
// 127.0.0.1, and Faye's own Node client. Its tests check the Client over
// every transport each server supports (handshake, subscriptions, publish,
// remote calls, disconnect), recovery after a server restart, a session
// expiry and a torn connection, failover between two Faye nodes sharing a
// Redis server (the faye-redis engine, on redis-server when it is on PATH,
// otherwise on the in-process Redis of the interop/redisserver module),
// that Faye's client and the SDK's bayeuxtest server
// understand each other, and that ext/ack loses nothing across torn
// responses with cometd-nodejs-server's ack-extension.
//
// The tests need node and the pinned npm packages, so plain `go test ./...`
// skips them. Run them with
//
//	npm ci --prefix interop
//	BAYEUX_INTEROP=1 go test ./interop/
//
// or with `make test`, which does both. With BAYEUX_INTEROP=1 a missing node
// or node_modules fails the tests instead of skipping them.
//
// The package itself holds the harness: Process starts and stops a Node
// script in its own process group (servers print "listening on PORT" when
// ready), and Proxy is a TCP relay that can tear or refuse connections to
// simulate network failures. The Node scripts are server_faye.js,
// server_cometd.js and faye_client.js in this directory; docs/interop.md
// lists where the servers depart from the Bayeux specification.
package interop
