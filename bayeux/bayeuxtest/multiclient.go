package bayeuxtest

import "github.com/bayeux-go/sdk/bayeux"

// multipleClientsInterval is the interval advised to the extra sessions of
// one browser.
const multipleClientsInterval = 1000

// multipleClientsLocked implements the specification's recommendation for
// several clients in one browser: with cookie binding on, when another
// session of the same BAYEUX_BROWSER cookie already holds a long-polling
// connect, the connect of sess is not held (a browser has few connections
// per server) and its reply advises {"multiple-clients": true, "reconnect":
// "retry", "interval": 1000}, as CometD does. It reports whether it set
// that advice on reply.
func (s *Server) multipleClientsLocked(sess *session, reply *bayeux.Message) bool {
	if !s.cfg.cookieBinding || sess.browser == "" || sess.ws != nil {
		return false
	}
	for _, o := range s.sessions {
		if o != sess && o.browser == sess.browser && o.held != nil && o.held.ws == nil {
			reply.Advice = &bayeux.Advice{Reconnect: bayeux.ReconnectRetry, Interval: multipleClientsInterval,
				MultipleClients: true, Hosts: s.hosts()}
			return true
		}
	}
	return false
}
