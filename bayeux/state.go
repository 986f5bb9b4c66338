package bayeux

// State is where a Client's session stands. (The gobayeux state machine,
// ConnectionStateMachine, has states of its own, named after the
// specification's client state table: its UNCONNECTED means "no
// session", which is StateDisconnected or StateRehandshaking here.)
type State int

const (
	// StateDisconnected: no session (before Connect, after Disconnect or
	// after the session ended).
	StateDisconnected State = iota
	// StateHandshaking: the first handshake is under way.
	StateHandshaking
	// StateConnecting: handshaken; the first /meta/connect is under way.
	StateConnecting
	// StateConnected: the /meta/connect loop runs.
	StateConnected
	// StateReconnecting: a /meta/connect failed; the client retries with
	// backoff, keeping its session.
	StateReconnecting
	// StateRehandshaking: the session was lost (unknown client, handshake
	// advice, or too long without a connect); a new handshake is under way,
	// after which every subscription is renewed.
	StateRehandshaking
	// StateDisconnecting: Disconnect is under way.
	StateDisconnecting
)

// StateUnconnected is the former name of StateReconnecting.
//
// Deprecated: use StateReconnecting; "unconnected" is gobayeux's word for
// a client without a session.
const StateUnconnected = StateReconnecting

var stateNames = [...]string{"disconnected", "handshaking", "connecting", "connected", "reconnecting", "rehandshaking", "disconnecting"}

// String returns the state's name.
func (s State) String() string {
	if s >= 0 && int(s) < len(stateNames) {
		return stateNames[s]
	}
	return "unknown"
}

// StateChange is passed to the state listener.
type StateChange struct {
	// From and To are the old and new states.
	From, To State
	// ClientID is the session's id after the change ("" when none).
	ClientID string
	// Err is the reason for a change caused by a failure (nil otherwise):
	// the *TransportError or *ServerError that made the client leave
	// StateConnected, or the error that ended the session.
	Err error
}
