package bayeuxtest

import (
	"time"

	"github.com/bayeux-go/sdk/bayeux"
)

// Fault scripts a failure for the next matching request(s); see
// Server.InjectFault. A request is one HTTP request carrying Bayeux messages
// (long-polling POST or callback-polling GET) or one websocket frame.
// Requests that cannot be parsed (answered 400, 413 or 415) and websocket
// upgrades never match: use RefuseWebSocket for the upgrade.
//
// The action is, in order of precedence: Tear, then Status, then Raw; a
// Fault with none of them only delays the reply. By default a Fault with an
// action answers the request without processing it, as if it failed before
// reaching the Bayeux server (a lone /meta/connect is answered at once);
// with Process set the messages are processed (a lone connect is held as
// usual) and the fault replaces the response, as if the response were lost
// on the way back, together with any events it carried. A delay-only Fault
// always processes the request.
type Fault struct {
	// Channel restricts the fault to requests containing at least one
	// message on a channel it matches (a channel name, or a pattern such as
	// "/meta/*" or "/**"). Empty matches every request.
	Channel bayeux.Channel
	// Transport restricts the fault to one connection type
	// ("long-polling", "callback-polling", "websocket"). Empty matches all.
	Transport string
	// Times is how many matching requests the fault affects; 0 means once,
	// a negative value means every matching request until ClearFaults.
	Times int
	// Delay waits this long before answering (after processing, so a held
	// connect is answered Delay after its release). It ends early when the
	// server is closed or the client goes away.
	Delay time.Duration
	// Tear closes the connection without any response: HTTP requests are
	// hijacked and their connection closed (where hijacking is impossible,
	// as through Handler with a recorder, 503 is answered instead); a
	// websocket is closed without a close frame. Note that Go's
	// http.Transport retries an idempotent request (a callback-polling GET)
	// once by itself when a reused connection is torn; use Times: 2 to tear
	// both attempts.
	Tear bool
	// Status answers an HTTP request with this status code and a short
	// text/plain body instead of a Bayeux reply (codes outside 200..599
	// become 500). Over websocket the socket is closed with code 1011.
	Status int
	// Raw is sent as the response body (HTTP 200, with the transport's
	// usual content type; not wrapped in a JSONP callback) or as the
	// websocket frame, instead of the reply.
	Raw []byte
	// Process makes the server process the request's messages before the
	// fault's action replaces the response.
	Process bool
}

// hasAction reports whether the fault replaces the response.
func (f *Fault) hasAction() bool { return f.Tear || f.Status != 0 || f.Raw != nil }

// processes reports whether the request is processed before the action.
func (f *Fault) processes() bool { return f.Process || !f.hasAction() }

// matches reports whether the fault applies to a request of the given
// transport carrying msgs.
func (f *Fault) matches(transport string, msgs []bayeux.Message) bool {
	if f.Transport != "" && f.Transport != transport {
		return false
	}
	if f.Channel == "" {
		return true
	}
	for i := range msgs {
		if f.Channel.MatchString(string(msgs[i].Channel)) {
			return true
		}
	}
	return false
}

// status returns the HTTP status of a Status fault, clamped to a valid code.
func (f *Fault) status() int {
	if f.Status < 200 || f.Status > 599 {
		return 500
	}
	return f.Status
}

// InjectFault scripts f for the next matching requests. Faults are kept in
// the order injected; a request is affected by the first one that matches
// (and only that one), which then counts one use. Faults survive Restart.
func (s *Server) InjectFault(f Fault) {
	if f.Times == 0 {
		f.Times = 1
	}
	if f.Raw != nil {
		f.Raw = append([]byte{}, f.Raw...)
	}
	s.mu.Lock()
	s.faults = append(s.faults, &f)
	s.mu.Unlock()
}

// ClearFaults removes every pending fault.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	s.faults = nil
	s.mu.Unlock()
}

// PendingFaults returns how many injected faults are still waiting for a
// matching request (a fault with a negative Times counts until cleared).
func (s *Server) PendingFaults() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.faults)
}

// takeFault returns a copy of the first fault matching the request and
// consumes one use of it, or nil.
func (s *Server) takeFault(transport string, msgs []bayeux.Message) *Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, f := range s.faults {
		if !f.matches(transport, msgs) {
			continue
		}
		cp := *f
		if f.Times > 0 {
			f.Times--
			if f.Times == 0 {
				s.faults = append(s.faults[:i:i], s.faults[i+1:]...)
			}
		}
		s.log.Debug("bayeuxtest: injecting fault", "transport", transport, "channel", string(f.Channel),
			"tear", cp.Tear, "status", cp.Status, "raw", cp.Raw != nil, "delay", cp.Delay, "process", cp.Process)
		return &cp
	}
	return nil
}
