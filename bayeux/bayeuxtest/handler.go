package bayeuxtest

import (
	"net"
	"net/http"
)

// Handler returns the server's http.Handler, to mount it in another
// server or to drive it without a network (for example from a custom
// in-memory transport in a test). The server must have been started.
func (s *Server) Handler() http.Handler { return http.HandlerFunc(s.serveHTTP) }

// StartOn starts the server on l instead of its own listener on a random
// 127.0.0.1 port (the bayeux command's serve uses it to listen on a chosen
// address). It panics like Start.
func (s *Server) StartOn(l net.Listener) {
	_ = s.ts.Listener.Close()
	s.ts.Listener = l
	s.Start()
}
