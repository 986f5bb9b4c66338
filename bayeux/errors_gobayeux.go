package bayeux

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// The error names of gobayeux v2.7.0, so that a gobayeux v2.7.0 program
// compiles by changing its import. This package reports failures with the
// sentinels and typed errors of errors.go; docs/migrating-from-gobayeux.md
// says, for each name below, what to match instead.

// gobayeux v2.7.0's sentinels, each the sentinel of this package that
// matches the same failure (errors.Is works with either name).
var (
	// ErrClientNotConnected is ErrBadState: a request that needs a session
	// before a successful handshake.
	ErrClientNotConnected = ErrBadState
	// ErrFailedToConnect is ErrConnectFailed: an unsuccessful
	// /meta/connect reply.
	ErrFailedToConnect = ErrConnectFailed
	// ErrNoSupportedConnectionTypes, ErrNoVersion, ErrMissingClientID and
	// ErrMissingConnectionType are ErrMissingField: a request builder's
	// Build without a required field (a *BuilderError, whose Field names
	// it).
	ErrNoSupportedConnectionTypes = ErrMissingField
	ErrNoVersion                  = ErrMissingField
	ErrMissingClientID            = ErrMissingField
	ErrMissingConnectionType      = ErrMissingField
	// ErrTooManyMessages is gobayeux's error for a handshake response of
	// more than one message. This package does not return it: Handshake
	// finds the reply in the response by its id and returns the other
	// messages with it.
	ErrTooManyMessages = errors.New("bayeux: more messages than expected in a handshake response")
)

// The typed errors of gobayeux v2.7.0. BayeuxClient's methods return them
// as gobayeux v2.7.0's do, each wrapping this package's error (so
// errors.Is with this package's sentinels, and errors.As with
// *ServerError or *TransportError, work through them); errors.As finds
// them with a value or a pointer target alike. Client, the session client,
// returns this package's errors only: each type says what to match
// instead.

// ConnectionFailedError is gobayeux's error of BayeuxClient.Connect. Match
// ErrConnectFailed, ErrUnknownClient or ErrTransport instead.
type ConnectionFailedError struct{ Err error }

func (e ConnectionFailedError) Error() string { return "bayeux: connect failed: " + errString(e.Err) }

// Unwrap returns Err.
func (e ConnectionFailedError) Unwrap() error { return e.Err }

// As lets errors.As find e with a *ConnectionFailedError target as well as a
// **ConnectionFailedError one.
func (e ConnectionFailedError) As(target any) bool { return asEither(e, target) }

// HandshakeFailedError is gobayeux's error of BayeuxClient.Handshake.
// Match ErrHandshakeDenied or ErrTransport instead.
type HandshakeFailedError struct{ Err error }

func (e HandshakeFailedError) Error() string { return "bayeux: handshake failed: " + errString(e.Err) }

// Unwrap returns Err.
func (e HandshakeFailedError) Unwrap() error { return e.Err }

// As lets errors.As find e with a *HandshakeFailedError target as well as a
// **HandshakeFailedError one.
func (e HandshakeFailedError) As(target any) bool { return asEither(e, target) }

// SubscriptionFailedError is gobayeux's error of BayeuxClient.Subscribe.
// Match ErrSubscriptionDenied instead.
type SubscriptionFailedError struct {
	Channels []Channel
	Err      error
}

func (e SubscriptionFailedError) Error() string {
	return fmt.Sprintf("bayeux: subscription to %v failed: %s", e.Channels, errString(e.Err))
}

// Unwrap returns Err.
func (e SubscriptionFailedError) Unwrap() error { return e.Err }

// As lets errors.As find e with a *SubscriptionFailedError target as well as a
// **SubscriptionFailedError one.
func (e SubscriptionFailedError) As(target any) bool { return asEither(e, target) }

// UnsubscribeFailedError is gobayeux's error of BayeuxClient.Unsubscribe.
// Match ErrUnsubscribeFailed instead.
type UnsubscribeFailedError struct {
	Channels []Channel
	Err      error
}

func (e UnsubscribeFailedError) Error() string {
	return fmt.Sprintf("bayeux: unsubscribing from %v failed: %s", e.Channels, errString(e.Err))
}

// Unwrap returns Err.
func (e UnsubscribeFailedError) Unwrap() error { return e.Err }

// As lets errors.As find e with a *UnsubscribeFailedError target as well as a
// **UnsubscribeFailedError one.
func (e UnsubscribeFailedError) As(target any) bool { return asEither(e, target) }

// DisconnectFailedError is gobayeux's error of BayeuxClient.Disconnect.
// Match ErrDisconnectFailed instead.
type DisconnectFailedError struct{ Err error }

func (e DisconnectFailedError) Error() string {
	return "bayeux: disconnect failed: " + errString(e.Err)
}

// Unwrap returns Err.
func (e DisconnectFailedError) Unwrap() error { return e.Err }

// As lets errors.As find e with a *DisconnectFailedError target as well as a
// **DisconnectFailedError one.
func (e DisconnectFailedError) As(target any) bool { return asEither(e, target) }

// ActionFailedError is gobayeux's error for an unsuccessful subscribe or
// unsubscribe reply. Match ErrSubscriptionDenied or ErrUnsubscribeFailed
// (a *ServerError, with the reply) instead.
type ActionFailedError struct {
	Action       string
	ErrorMessage string
}

func (e ActionFailedError) Error() string {
	return "bayeux: " + e.Action + " failed: " + e.ErrorMessage
}

// AlreadyRegisteredError is UseExtension's error for an extension
// registered twice (by name: NamedExtension's, or its type's), as in
// gobayeux v2.7.0. It matches ErrInvalidOption.
type AlreadyRegisteredError struct{ MessageExtender }

func (e AlreadyRegisteredError) Error() string {
	return fmt.Sprintf("bayeux: extension %q already registered", extensionName(e.MessageExtender))
}

// Is matches ErrInvalidOption.
func (e AlreadyRegisteredError) Is(target error) bool { return target == ErrInvalidOption }

// As lets errors.As find e with a *AlreadyRegisteredError target as well
// as a **AlreadyRegisteredError one.
func (e AlreadyRegisteredError) As(target any) bool { return asEither(e, target) }

// BadResponseError is gobayeux's error for an HTTP status other than 200.
// Match ErrTransport instead: the *TransportError carries the status.
type BadResponseError struct {
	StatusCode int
	Status     string
	Body       []byte
}

func (e BadResponseError) Error() string {
	return fmt.Sprintf("bayeux: HTTP status %d (%s), body %q", e.StatusCode, e.Status, e.Body)
}

// BadConnectionTypeError is gobayeux's error of the request builders for
// an unknown connection type. Match ErrInvalidConnectionType instead.
type BadConnectionTypeError struct{ ConnectionType string }

func (e BadConnectionTypeError) Error() string {
	return "bayeux: invalid connection type " + strconv.Quote(e.ConnectionType)
}

// BadConnectionVersionError is gobayeux's error of the handshake builder
// for an invalid version. Match ErrInvalidVersion instead.
type BadConnectionVersionError struct{ Version string }

func (e BadConnectionVersionError) Error() string {
	return "bayeux: invalid version " + strconv.Quote(e.Version)
}

// BadStateError is gobayeux's error of ConnectionStateMachine for a
// transition its state does not allow. Match ErrBadState instead (a
// *StateTransitionError).
type BadStateError struct {
	CurrentState int32
	FromState    int32
	ToState      int32
	Message      string
}

func (e BadStateError) Error() string {
	return fmt.Sprintf("bayeux: %s (state %d, from %d to %d)", e.Message, e.CurrentState, e.FromState, e.ToState)
}

// BadHandshakeError is gobayeux's BadStateError for a handshake outside
// the unconnected state. Match ErrBadState instead.
type BadHandshakeError struct{ *BadStateError }

// BadConnectionError is gobayeux's BadStateError for a connect reply in a
// state that does not expect one. Match ErrBadState instead.
type BadConnectionError struct{ *BadStateError }

// UnknownEventTypeError is gobayeux's error of
// ConnectionStateMachine.ProcessEvent for an unknown event. Match
// ErrUnknownEvent instead.
type UnknownEventTypeError struct{ Event }

func (e UnknownEventTypeError) Error() string {
	return "bayeux: unknown state machine event " + strconv.Quote(string(e.Event))
}

// EmptySliceError is gobayeux's error for an empty list of channels. Match
// ErrBadChannel instead.
type EmptySliceError string

func (e EmptySliceError) Error() string { return "bayeux: no " + string(e) }

// ErrMessageUnparsable is gobayeux's error of Message.ParseError for an
// error field that is not code:args:message. Match ErrMalformed instead
// (a *DecodeError).
type ErrMessageUnparsable string

func (e ErrMessageUnparsable) Error() string {
	return "bayeux: unparsable error field " + strconv.Quote(string(e))
}

// errString is the cause's message, without the "bayeux: " its wrapper
// already begins with.
func errString(err error) string {
	if err == nil {
		return "no cause given"
	}
	return strings.TrimPrefix(err.Error(), "bayeux: ")
}

// asEither sets target, a *T or a **T, to e: errors.As then finds the
// gobayeux error types whichever form a program asks for (gobayeux v2.7.0
// returns some as values and some as pointers).
func asEither[T any](e T, target any) bool {
	switch t := target.(type) {
	case *T:
		*t = e
		return true
	case **T:
		*t = &e
		return true
	}
	return false
}

// The wrapping of gobayeux v2.7.0's BayeuxClient methods.

// asHandshakeFailed wraps a failed Handshake: a denial as a
// *HandshakeFailedError, any other failure as a HandshakeFailedError.
func asHandshakeFailed(err error) error {
	var se *ServerError
	if errors.As(err, &se) {
		return &HandshakeFailedError{Err: err}
	}
	return HandshakeFailedError{Err: err}
}

// asSubscriptionFailed wraps a failed Subscribe (ch MetaSubscribe) or
// Unsubscribe.
func asSubscriptionFailed(ch Channel, subs []Channel, err error) error {
	if ch == MetaUnsubscribe {
		return UnsubscribeFailedError{Channels: subs, Err: err}
	}
	return SubscriptionFailedError{Channels: subs, Err: err}
}
