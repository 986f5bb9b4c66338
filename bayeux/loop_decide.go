package bayeux

import "time"

// The session loop is split in two: decide, a pure function from what the
// loop knows and what just happened to what it does next, tested by table
// (loop_decide_test.go); and run (loop.go), which sends the requests and
// carries out the actions.

// phase is the request the loop sends next.
type phase int

const (
	phaseHandshake phase = iota
	phaseConnect
)

// loopState is what the loop remembers between two requests.
type loopState struct {
	phase phase
	// established is set once a handshake succeeded: Connect has returned.
	established bool
	// rehandshake: the next handshake replaces a session that was lost.
	rehandshake bool
	// failures counts consecutive failures since the last successful
	// connect.
	failures int
	// connectFirst: the next /meta/connect asks the server to answer at
	// once (advice timeout 0), after a handshake or a failure.
	connectFirst bool
}

// outcome is what happened to the request the loop sent.
type outcome int

const (
	handshakeOK      outcome = iota
	handshakeRefused         // the server refused the transport itself
	handshakeDenied          // an unsuccessful /meta/handshake reply
	handshakeFailed          // a transport failure, or no reply
	connectOK
	connectRefused
	connectDenied // an unsuccessful /meta/connect reply
	connectFailed // a transport failure, or no reply
	sessionLost   // another request learnt that the server lost the session
)

var outcomeNames = [...]string{"handshakeOK", "handshakeRefused", "handshakeDenied", "handshakeFailed",
	"connectOK", "connectRefused", "connectDenied", "connectFailed", "sessionLost"}

func (o outcome) String() string { return outcomeNames[o] }

// loopEvent describes an outcome with everything decide needs to know.
type loopEvent struct {
	outcome outcome
	err     error
	// reconnect is the reconnect advice that applies: the reply's own, or
	// "handshake" for an unknown client, or the advice in force.
	reconnect string
	// interval is the advised interval (capped); negative ends the session.
	interval time.Duration
	// fatal marks a first-handshake failure retrying cannot fix (an HTTP
	// 4xx, no connection type in common, every transport refused).
	fatal bool
	// otherTransport: after a refusal, another transport can be tried
	// (for a connect: another the server supports).
	otherTransport bool
	// failingFor is how long the loop has been failing: since Connect was
	// called (first handshake) or since the first failed connect.
	failingFor time.Duration
	// expiry is timeout+interval+maxInterval from the advice: after
	// failing that long the server has certainly dropped the session (0
	// when the server advised no maxInterval).
	expiry time.Duration
	// connectRetry is how long a first handshake is retried, whether it
	// failed or was denied with advice to retry (negative: until Connect's
	// context ends).
	connectRetry time.Duration
	// elapsed is how long the connect took; empty that its reply carried
	// no message besides itself.
	elapsed time.Duration
	empty   bool
	// minConnectPeriod is the shortest time between two empty connects.
	minConnectPeriod time.Duration
	// resume: an answer the server may have sent was lost, and an
	// extension recovers its events in a new session (ResumeExtension).
	resume bool
}

// loopAction is what the loop does next.
type loopAction struct {
	// state, when setState, is the state to move to, with err as cause.
	setState bool
	state    State
	// ready: the handshake succeeded; publish the session, renew the
	// subscriptions and release Connect.
	ready bool
	// failConnect: the first handshake failed for good; Connect returns
	// err and the client stops.
	failConnect bool
	// terminate: the server ended the session; the client stops.
	terminate bool
	// loseSession: forget the session (it is unknown to the server).
	loseSession bool
	// leave: tell the server, in the background, that the session lost
	// is over (it still holds it).
	leave bool
	// report err to the error handler.
	report bool
	// nextURL: try the next server URL (failover) for the next handshake.
	nextURL bool
	// wait this long, plus the next backoff step when backoff is set,
	// before the next request; resetBackoff starts the backoff over.
	wait         time.Duration
	backoff      bool
	resetBackoff bool
	// resetClock starts the failure window over (see loopEvent.failingFor
	// and expiry): a new session, or a connect that succeeded.
	resetClock bool
}

// decide is the session loop's policy.
func decide(st loopState, ev loopEvent) (loopState, loopAction) {
	var a loopAction
	switch ev.outcome {
	case handshakeOK:
		st.phase, st.established, st.rehandshake, st.connectFirst = phaseConnect, true, false, true
		a.ready, a.setState, a.state = true, true, StateConnecting
		// A new session is given its own window before it is given up;
		// the failures of the one it replaces do not count against it.
		a.resetClock = true

	case handshakeRefused:
		a.report = true
		switch {
		case ev.otherTransport:
			// Try the next transport at once.
		case !st.established:
			a.failConnect = true
		default:
			st.failures++
			a.backoff = true
		}

	case handshakeDenied:
		switch {
		case ev.reconnect == ReconnectNone:
			a.terminate = true
		case !st.established && ev.reconnect == "":
			// A denial with no advice to retry: wrong credentials, say.
			a.failConnect = true
		case !st.established && ev.connectRetry >= 0 && ev.failingFor >= ev.connectRetry:
			// Advised to retry, but Connect's retry budget is spent:
			// the same bound as a transient failure.
			a.failConnect = true
		default:
			// Advised to retry, or a session that existed: keep trying
			// (an expired token may be refreshed by an extension).
			a.report = true
			st.failures++
			a.wait, a.backoff = max(ev.interval, 0), true
		}

	case handshakeFailed:
		switch {
		case !st.established && (ev.fatal || (ev.connectRetry >= 0 && ev.failingFor >= ev.connectRetry)):
			a.failConnect = true
		default:
			a.report, a.nextURL, a.backoff = true, true, true
			st.failures++
		}

	case connectOK:
		st.failures, st.connectFirst = 0, false
		a.setState, a.state, a.resetBackoff, a.resetClock = true, StateConnected, true, true
		switch {
		case ev.reconnect == ReconnectNone || ev.interval < 0:
			a.terminate = true
		default:
			a.wait = ev.interval
			if ev.empty && ev.elapsed < ev.minConnectPeriod {
				a.wait = max(a.wait, ev.minConnectPeriod-ev.elapsed)
			}
		}

	case connectRefused:
		st.connectFirst = true
		a.setState, a.state, a.report = true, StateReconnecting, true
		if !ev.otherTransport {
			// Nothing to fall back to: a refusal is a failed connect
			// (interval, backoff, counted toward giving the session up),
			// not a reason to dial again at once.
			st, a = connectFailure(st, ev, a)
		}

	case connectFailed:
		st.connectFirst = true
		a.setState, a.state, a.report = true, StateReconnecting, true
		if ev.resume {
			st, a = resume(st, a)
		} else {
			st, a = connectFailure(st, ev, a)
		}

	case connectDenied:
		switch {
		case ev.reconnect == ReconnectNone || ev.interval < 0:
			a.terminate = true
		case ev.reconnect == ReconnectHandshake:
			// Re-handshake at once the first time, then with backoff.
			a.backoff = st.failures > 0
			st = rehandshake(st)
			st.failures++
			a.setState, a.state, a.loseSession = true, StateRehandshaking, true
		default:
			st.failures++
			st.connectFirst = true
			a.setState, a.state, a.report = true, StateReconnecting, true
			a.wait, a.backoff = max(ev.interval, 0), true
		}

	case sessionLost:
		a.backoff = st.failures > 0
		st = rehandshake(st)
		st.failures++
		a.setState, a.state, a.loseSession = true, StateRehandshaking, true
	}
	if a.terminate {
		a.setState, a.state = false, 0
	}
	return st, a
}

// connectFailure is what a failed /meta/connect adds: count it, wait the
// interval and a backoff step, and give the session up once it failed
// longer than the server keeps a session without a connect.
func connectFailure(st loopState, ev loopEvent, a loopAction) (loopState, loopAction) {
	st.failures++
	a.wait, a.backoff = max(ev.interval, 0), true
	if ev.expiry > 0 && ev.failingFor > ev.expiry {
		// The server has certainly expired the session (CometD's rule).
		st = rehandshake(st)
		a.state, a.loseSession = StateRehandshaking, true
	}
	return st, a
}

// resume is what a lost answer an extension recovers adds: leave the
// session (the server still holds it) and handshake again, at once the
// first time, then with backoff; the new session's subscriptions resume
// where the handled events end.
func resume(st loopState, a loopAction) (loopState, loopAction) {
	a.backoff, a.wait = st.failures > 0, 0
	st = rehandshake(st)
	st.failures++
	a.setState, a.state, a.report = true, StateRehandshaking, true
	a.loseSession, a.leave = true, true
	return st, a
}

func rehandshake(st loopState) loopState {
	st.phase, st.rehandshake, st.connectFirst = phaseHandshake, true, true
	return st
}
