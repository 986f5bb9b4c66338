package bayeux

import (
	"errors"
	"strconv"
	"sync"
)

// StateRepresentation represents the current state of a connection as a
// string: one of the states of the specification's client state table.
type StateRepresentation string

// The states of the specification's client state table.
const (
	// Unconnected is the initial state: no session, or the session was
	// lost, refused or ended. A handshake may be sent.
	Unconnected StateRepresentation = "UNCONNECTED"
	// Connecting means a handshake was sent and the client is trying to
	// establish the /meta/connect cycle (or re-establish it after a failed
	// /meta/connect that the server advised to retry).
	Connecting StateRepresentation = "CONNECTING"
	// Connected means the last /meta/connect was successful.
	Connected StateRepresentation = "CONNECTED"
)

// Event represents an event that can change the state of a state machine
type Event string

// The events a ConnectionStateMachine processes.
const (
	// HandshakeSent is raised when a /meta/handshake request is sent:
	// UNCONNECTED → CONNECTING. It is refused in any other state: the
	// client first has to return to UNCONNECTED (HandshakeFailed,
	// ConnectFailed, Timeout or DisconnectSent).
	HandshakeSent Event = "handshake request sent"
	// HandshakeFailed is raised for an unsuccessful /meta/handshake reply or
	// a handshake that got no reply: CONNECTING → UNCONNECTED, so that the
	// handshake can be retried.
	HandshakeFailed Event = "handshake failed"
	// SuccessfulConnect is raised for a successful /meta/connect reply:
	// CONNECTING → CONNECTED, and CONNECTED stays CONNECTED.
	SuccessfulConnect Event = "successful connect response"
	// ConnectRetry is raised when a /meta/connect failed but the session is
	// still valid (the server advised "retry", or the transport failed):
	// CONNECTED → CONNECTING, and CONNECTING stays CONNECTING while the
	// client keeps sending /meta/connect.
	ConnectRetry Event = "connect failed, retrying"
	// ConnectFailed is raised when a /meta/connect failed and the session is
	// gone (the server advised "handshake" or "none", or does not know the
	// client): CONNECTING or CONNECTED → UNCONNECTED, so that a new
	// handshake can be sent.
	ConnectFailed Event = "connect failed"
	// Timeout is the specification's timeout event: from any state to
	// UNCONNECTED.
	Timeout Event = "timeout"
	// DisconnectSent is raised when a /meta/disconnect request is sent: from
	// any state to UNCONNECTED.
	DisconnectSent Event = "disconnect request sent"
)

// ErrUnknownEvent is matched by the error ProcessEvent returns for an Event
// that is not one of the constants above.
var ErrUnknownEvent = errors.New("bayeux: unknown state machine event")

// StateTransitionError is returned by ConnectionStateMachine.ProcessEvent
// when the event is not allowed in the current state (it matches
// ErrBadState) or is unknown (it matches ErrUnknownEvent). The state is left
// unchanged.
type StateTransitionError struct {
	// Event is the refused event.
	Event Event
	// State is the state the machine was (and still is) in.
	State StateRepresentation
}

// Error implements the error interface.
func (e *StateTransitionError) Error() string {
	if !knownEvent(e.Event) {
		return "bayeux: unknown state machine event " + strconv.Quote(string(e.Event)) + " in state " + string(e.State)
	}
	return "bayeux: event " + strconv.Quote(string(e.Event)) + " not allowed in state " + string(e.State)
}

// Is matches ErrUnknownEvent for an unknown event and ErrBadState for a
// refused transition.
func (e *StateTransitionError) Is(target error) bool {
	if knownEvent(e.Event) {
		return target == ErrBadState
	}
	return target == ErrUnknownEvent
}

func knownEvent(e Event) bool {
	switch e {
	case HandshakeSent, HandshakeFailed, SuccessfulConnect, ConnectRetry, ConnectFailed, Timeout, DisconnectSent:
		return true
	}
	return false
}

// transitions is the client state table: for each event, the new state for
// each state the event is allowed in.
var transitions = map[Event]map[StateRepresentation]StateRepresentation{
	HandshakeSent:     {Unconnected: Connecting},
	HandshakeFailed:   {Connecting: Unconnected},
	SuccessfulConnect: {Connecting: Connected, Connected: Connected},
	ConnectRetry:      {Connecting: Connecting, Connected: Connecting},
	ConnectFailed:     {Connecting: Unconnected, Connected: Unconnected},
	Timeout:           {Unconnected: Unconnected, Connecting: Unconnected, Connected: Unconnected},
	DisconnectSent:    {Unconnected: Unconnected, Connecting: Unconnected, Connected: Unconnected},
}

// ConnectionStateMachine handles managing the connection's state, following
// the specification's client state table: UNCONNECTED —handshake sent→
// CONNECTING —successful connect→ CONNECTED, and back to UNCONNECTED on a
// timeout or a disconnect from any state. Unlike gobayeux, a failed
// handshake or a lost session also returns to UNCONNECTED, so a handshake
// can always be retried. It is safe for concurrent use; the zero value is
// an UNCONNECTED machine.
//
// See also: https://docs.cometd.org/current/reference/#_client_state_table
type ConnectionStateMachine struct {
	// mu guards state.
	mu sync.Mutex
	// state is the current state; "" (the zero value) means UNCONNECTED.
	state StateRepresentation
}

// current returns the state; csm.mu must be held.
func (csm *ConnectionStateMachine) current() StateRepresentation {
	if csm.state == "" {
		return Unconnected
	}
	return csm.state
}

// NewConnectionStateMachine creates a new ConnectionStateMachine to manage a
// connection's state. It starts UNCONNECTED.
func NewConnectionStateMachine() *ConnectionStateMachine {
	return &ConnectionStateMachine{state: Unconnected}
}

// IsConnected reflects whether the connection is connected to the Bayeux
// server
func (csm *ConnectionStateMachine) IsConnected() bool {
	return csm.CurrentState() == Connected
}

// CurrentState provides a string representation of the current state of the
// state machine
func (csm *ConnectionStateMachine) CurrentState() StateRepresentation {
	csm.mu.Lock()
	defer csm.mu.Unlock()
	return csm.current()
}

// ProcessEvent handles an event: it moves the machine to the state the
// client state table gives for the current state and e. An event that is
// not allowed in the current state returns a *StateTransitionError matching
// ErrBadState (an unknown event one matching ErrUnknownEvent) and leaves the
// state unchanged.
func (csm *ConnectionStateMachine) ProcessEvent(e Event) error {
	csm.mu.Lock()
	defer csm.mu.Unlock()
	cur := csm.current()
	next, ok := transitions[e][cur]
	if !ok {
		return &StateTransitionError{Event: e, State: cur}
	}
	csm.state = next
	return nil
}
