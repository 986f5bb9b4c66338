package bayeux

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// Sentinel errors. Use errors.Is: every typed error below matches the
// sentinel that names its kind, so no caller ever has to match error text.
var (
	// ErrClosed is returned by calls on a Client after Disconnect or after
	// the session ended.
	ErrClosed = errors.New("bayeux: client closed")
	// ErrNoTransport means no transport was configured, or none that the
	// server also supports (see ErrNoCommonTransport).
	ErrNoTransport = errors.New("bayeux: no transport")
	// ErrNoCommonTransport means the server offered no connection type the
	// client has; the handshake fails with it.
	ErrNoCommonTransport = errors.New("bayeux: no connection type in common with the server")
	// ErrBadChannel is matched by an *InvalidChannelError.
	ErrBadChannel = errors.New("bayeux: invalid channel")
	// ErrMalformed is matched by a *DecodeError: the peer sent bytes that
	// are not a valid Bayeux payload.
	ErrMalformed = errors.New("bayeux: malformed message")
	// ErrTransport is matched by a *TransportError.
	ErrTransport = errors.New("bayeux: transport failure")
	// ErrTooLarge means a body or message exceeded a configured limit.
	ErrTooLarge = errors.New("bayeux: message too large")
	// ErrNoReply means the server answered a request without a reply for one
	// of its messages (matched by id).
	ErrNoReply = errors.New("bayeux: no reply from server")
	// ErrResponseLost is matched by the error reported when a response the
	// server may have sent (with events in it) was lost and the transport
	// sent the request again by itself; with a ResumeExtension (ext/replay)
	// the client then resumes in a new session.
	ErrResponseLost = errors.New("bayeux: a response was lost")
	// ErrHandshakeDenied is matched by a *ServerError for an unsuccessful
	// /meta/handshake reply.
	ErrHandshakeDenied = errors.New("bayeux: handshake denied")
	// ErrConnectFailed is matched by a *ServerError for an unsuccessful
	// /meta/connect reply.
	ErrConnectFailed = errors.New("bayeux: connect failed")
	// ErrUnknownClient is matched by a *ServerError when the server does not
	// know the session (its advice asks for a new handshake, or the error
	// code is 401/402): the session was lost.
	ErrUnknownClient = errors.New("bayeux: unknown client")
	// ErrSubscriptionDenied is matched by a *ServerError for an unsuccessful
	// /meta/subscribe reply.
	ErrSubscriptionDenied = errors.New("bayeux: subscription denied")
	// ErrUnsubscribeFailed is matched by a *ServerError for an unsuccessful
	// /meta/unsubscribe reply.
	ErrUnsubscribeFailed = errors.New("bayeux: unsubscribe failed")
	// ErrPublishDenied is matched by a *ServerError for an unsuccessful
	// publish (or remote call) reply.
	ErrPublishDenied = errors.New("bayeux: publish denied")
	// ErrDisconnectFailed is matched by a *ServerError for an unsuccessful
	// /meta/disconnect reply.
	ErrDisconnectFailed = errors.New("bayeux: disconnect failed")
	// ErrSessionTerminated means the server advised reconnect "none" (or a
	// negative interval): the session ended and will not be retried.
	ErrSessionTerminated = errors.New("bayeux: session terminated by server advice")
	// ErrAuthentication is matched by a *ServerError whose reason (see
	// ServerError.Reason) has the code 401: the server refused the
	// client's credentials, as Salesforce's "401::Authentication invalid"
	// on a /meta/connect, or its "403::Handshake denied" whose
	// ext.sfdc.failureReason is "401::Authentication invalid". A new
	// token fixes it (ext/auth fetches one).
	ErrAuthentication = errors.New("bayeux: authentication refused")
	// ErrConcurrentClientLimit is matched by a *ServerError whose reason
	// says the server has as many concurrent clients as it allows, as
	// Salesforce's "403::Organization concurrent user limit exceeded"
	// (the ext.sfdc.failureReason of a denied handshake). A new token does
	// not fix it: another client must go first.
	ErrConcurrentClientLimit = errors.New("bayeux: concurrent client limit exceeded")
	// ErrDailyLimit is matched by a *ServerError whose reason says a daily
	// quota is spent, as Salesforce's "403::Organization total events
	// daily limit exceeded". A new token does not fix it: the quota is
	// renewed within 24 hours.
	ErrDailyLimit = errors.New("bayeux: daily limit exceeded")
	// ErrSlowConsumer is matched by a *DroppedMessageError: a subscription's
	// queue was full and a message was dropped.
	ErrSlowConsumer = errors.New("bayeux: slow consumer, message dropped")
	// ErrBadState is returned by the low-level BayeuxClient and the
	// ConnectionStateMachine when an operation is not allowed in the
	// current state.
	ErrBadState = errors.New("bayeux: operation not allowed in this state")
	// ErrInvalidOption is returned by NewClient for an invalid option value.
	ErrInvalidOption = errors.New("bayeux: invalid option")
	// ErrNetworkDelay is the cause (context.Cause) of a request context
	// that ended because the client's own deadline passed: the advised
	// timeout plus Options.MaxNetworkDelay for /meta/connect, the maximum
	// network delay for other requests. Only then may a transport judge
	// the server silent; a caller's deadline says nothing of the server.
	// It also matches context.DeadlineExceeded, and is a timeout
	// (net.Error's Timeout).
	ErrNetworkDelay error = networkDelayError{}
)

// ServerError is an unsuccessful reply from the server. It keeps the reply,
// its parsed error and its advice, and matches (errors.Is) the sentinel of
// its kind (ErrHandshakeDenied, ErrSubscriptionDenied, ...), and also
// ErrUnknownClient when the server no longer knows the session.
type ServerError struct {
	// Kind is the sentinel for the failed operation.
	Kind error
	// Channel is the request's channel (for subscribe and unsubscribe, see
	// Subscription for the channels concerned).
	Channel Channel
	// Subscription holds the channels of a failed subscribe or unsubscribe.
	Subscription []Channel
	// Code, Args and Message are the parsed server error; Code is 0 when
	// the server sent no error or one outside the grammar (Raw keeps it).
	Code    int
	Args    []string
	Message string
	// Raw is the server's error string as sent.
	Raw string
	// FailureReason is the reply's ext.sfdc.failureReason, where
	// Salesforce gives the real reason of a "403::Handshake denied"
	// ("401::Authentication invalid", "403::Organization concurrent user
	// limit exceeded", ...); empty when the reply has none.
	FailureReason string
	// Advice is the reply's advice, if any.
	Advice *Advice
	// Reply is the whole reply message.
	Reply Message
}

// NewServerError builds a *ServerError of the given kind from an
// unsuccessful reply.
func NewServerError(kind error, reply Message) *ServerError {
	e := &ServerError{Kind: kind, Channel: reply.Channel, Subscription: reply.Subscription,
		Raw: reply.Error, Advice: reply.Advice, Reply: reply, FailureReason: FailureReason(reply)}
	if me, err := reply.ParseError(); err == nil {
		e.Code, e.Args, e.Message = me.ErrorCode, me.ErrorArgs, me.ErrorMessage
	}
	return e
}

// Error implements the error interface.
func (e *ServerError) Error() string {
	s := "bayeux: " + kindText(e.Kind)
	if e.Channel != "" {
		s += " on " + string(e.Channel)
	}
	if len(e.Subscription) > 0 {
		s += fmt.Sprintf(" %v", e.Subscription)
	}
	if e.Raw != "" {
		s += ": " + strconv.Quote(e.Raw)
	}
	if e.FailureReason != "" && e.FailureReason != e.Raw {
		s += " (failure reason " + strconv.Quote(e.FailureReason) + ")"
	}
	if e.Advice != nil && e.Advice.Reconnect != "" {
		s += " (advice reconnect=" + e.Advice.Reconnect + ")"
	}
	return s
}

func kindText(k error) string {
	if k == nil {
		return "request failed"
	}
	s := k.Error()
	const p = "bayeux: "
	if len(s) > len(p) && s[:len(p)] == p {
		return s[len(p):]
	}
	return s
}

// Unwrap returns the kind sentinel.
func (e *ServerError) Unwrap() error { return e.Kind }

// As lets errors.As find a refused subscribe or unsubscribe as gobayeux
// v2.7.0's ActionFailedError (a value or a pointer target).
func (e *ServerError) As(target any) bool {
	var action string
	switch e.Kind {
	case ErrSubscriptionDenied:
		action = "subscribe to"
	case ErrUnsubscribeFailed:
		action = "unsubscribe from"
	default:
		return false
	}
	return asEither(ActionFailedError{Action: action, ErrorMessage: e.Raw}, target)
}

// Is matches ErrUnknownClient when the server lost the session, in addition
// to the kind sentinel (found through Unwrap).
func (e *ServerError) Is(target error) bool {
	if target == ErrUnknownClient {
		return e.UnknownClient()
	}
	if target == ErrSessionTerminated {
		return e.Advice != nil && e.Advice.MustNotRetryOrHandshake()
	}
	switch target {
	case ErrAuthentication, ErrConcurrentClientLimit, ErrDailyLimit:
		return classifyReason(e.Reason()) == target
	}
	return false
}

// Reason returns the most precise reason the server gave: FailureReason
// when the reply has one, the error string (Raw) otherwise.
func (e *ServerError) Reason() string {
	if e.FailureReason != "" {
		return e.FailureReason
	}
	return e.Raw
}

// FailureReason returns the ext.sfdc.failureReason of a reply, where
// Salesforce explains a denied handshake, or "".
func FailureReason(reply Message) string {
	sfdc, _ := reply.Ext["sfdc"].(map[string]any)
	r, _ := sfdc["failureReason"].(string)
	return r
}

// IsAuthenticationFailure reports whether an unsuccessful reply refuses
// the client's credentials: its reason (the ext.sfdc.failureReason where
// present, else its error) has the code 401. Such a reply matches
// ErrAuthentication as a *ServerError.
func IsAuthenticationFailure(reply Message) bool {
	if reply.Successful {
		return false
	}
	r := FailureReason(reply)
	if r == "" {
		r = reply.Error
	}
	return classifyReason(r) == ErrAuthentication
}

// classifyReason returns ErrAuthentication, ErrConcurrentClientLimit or
// ErrDailyLimit for a server error string of that kind, or nil.
func classifyReason(reason string) error {
	if strings.HasPrefix(reason, "401:") {
		return ErrAuthentication
	}
	r := strings.ToLower(reason)
	switch {
	case !strings.Contains(r, "limit"):
		return nil
	case strings.Contains(r, "concurrent"):
		return ErrConcurrentClientLimit
	case strings.Contains(r, "daily"):
		return ErrDailyLimit
	}
	return nil
}

// UnknownClient reports whether the reply says the server no longer knows
// the session: advice reconnect "handshake" on a non-handshake reply, or an
// unknown-client error as Faye ("401:<id>:Unknown client"), CometD
// ("402::session_unknown"), Salesforce ("403::Unknown client") and the
// specification's examples word it. The code alone is not enough: Faye's
// 402 means a missing parameter.
func (e *ServerError) UnknownClient() bool {
	if e.Channel == MetaHandshake {
		return false
	}
	if e.Advice != nil && e.Advice.ShouldHandshake() {
		return true
	}
	if e.Code < 401 || e.Code > 403 {
		return false
	}
	msg := strings.ToLower(e.Message)
	return strings.Contains(msg, "unknown client") || strings.Contains(msg, "session_unknown") ||
		strings.Contains(msg, "unknown session") || strings.Contains(msg, "no client id") ||
		strings.Contains(msg, "unknown client id")
}

// TransportError is a failure to move messages: a network error, an HTTP
// status other than 200, an oversized or unparseable body, a torn
// websocket. It matches ErrTransport, and whatever Err matches.
type TransportError struct {
	// ConnectionType names the transport ("long-polling", "websocket", ...).
	ConnectionType string
	// StatusCode is the HTTP status when the server answered with one
	// (0 otherwise).
	StatusCode int
	// Refused is true when the server refused this transport outright (for
	// example a websocket upgrade answered without 101): the client stops
	// using the transport and falls back to another one.
	Refused bool
	// Err is the underlying cause.
	Err error
}

// Error implements the error interface.
func (e *TransportError) Error() string {
	s := "bayeux: " + e.ConnectionType + " transport failure"
	if e.StatusCode != 0 {
		s += ": HTTP " + strconv.Itoa(e.StatusCode)
	}
	if e.Refused {
		s += " (transport refused)"
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns the cause.
func (e *TransportError) Unwrap() error { return e.Err }

// As lets errors.As find an HTTP status other than 200 as gobayeux
// v2.7.0's BadResponseError (a value or a pointer target; the body is not
// kept).
func (e *TransportError) As(target any) bool {
	if e.StatusCode == 0 {
		return false
	}
	return asEither(BadResponseError{StatusCode: e.StatusCode,
		Status: strconv.Itoa(e.StatusCode) + " " + http.StatusText(e.StatusCode)}, target)
}

// Is matches ErrTransport.
func (e *TransportError) Is(target error) bool { return target == ErrTransport }

// DecodeError reports bytes that are not a valid Bayeux payload or field.
// It matches ErrMalformed.
type DecodeError struct {
	// Reason says what is wrong.
	Reason string
	// Input is (the start of) the offending input, for diagnostics.
	Input string
	// tooLarge marks a payload over a limit (it matches ErrTooLarge too).
	tooLarge bool
}

// Error implements the error interface.
func (e *DecodeError) Error() string {
	if e.Input != "" {
		return "bayeux: malformed message: " + e.Reason + " in " + strconv.Quote(e.Input)
	}
	return "bayeux: malformed message: " + e.Reason
}

// Is matches ErrMalformed.
func (e *DecodeError) Is(target error) bool {
	return target == ErrMalformed || (e.tooLarge && target == ErrTooLarge)
}

// EncodeError reports a message that cannot be encoded (for example Data
// that is not valid JSON).
type EncodeError struct {
	Field  string
	Reason string
}

// Error implements the error interface.
func (e *EncodeError) Error() string {
	return "bayeux: cannot encode message field " + e.Field + ": " + e.Reason
}

// InvalidChannelError reports a channel name that breaks the Bayeux grammar
// or is not allowed for the operation. It matches ErrBadChannel.
type InvalidChannelError struct {
	Channel Channel
	Reason  string
}

// Error implements the error interface.
func (e InvalidChannelError) Error() string {
	return "bayeux: invalid channel " + strconv.Quote(string(e.Channel)) + ": " + e.Reason
}

// Is matches ErrBadChannel.
func (e InvalidChannelError) Is(target error) bool { return target == ErrBadChannel }

// DroppedMessageError reports messages dropped because a subscription's
// queue was full (the default slow-consumer policy). It matches
// ErrSlowConsumer and is passed to the client's error handler once per
// slow-consumer episode, not once per message (as nats.go does): when the
// first message is dropped (Count 1, Message set), and, if more were,
// when the queue has drained (Count the episode's total). Subscription's
// Dropped method counts them all.
type DroppedMessageError struct {
	// Subscription is the channel pattern of the subscription that was too
	// slow.
	Subscription Channel
	// Message is the first message dropped, without its data (the
	// report does not keep the response body alive); zero in the report
	// that ends an episode.
	Message Message
	// Count is the number of messages dropped so far in the episode.
	Count uint64
}

// Error implements the error interface.
func (e *DroppedMessageError) Error() string {
	if e.Message.Channel == "" {
		return fmt.Sprintf("bayeux: subscription %s too slow, %d messages dropped", e.Subscription, e.Count)
	}
	return "bayeux: subscription " + string(e.Subscription) + " too slow, dropped message on " + string(e.Message.Channel)
}

// Is matches ErrSlowConsumer.
func (e *DroppedMessageError) Is(target error) bool { return target == ErrSlowConsumer }

// IsRetryable reports whether err is a transient failure that the client
// retries by itself (a transport failure, or an unknown session that a new
// handshake fixes), as opposed to a denial or a terminated session.
func IsRetryable(err error) bool {
	if errors.Is(err, ErrSessionTerminated) {
		return false
	}
	return errors.Is(err, ErrTransport) || errors.Is(err, ErrUnknownClient) || errors.Is(err, ErrNoReply)
}

// replyError is the outcome of a request on channel: nil when its reply
// (found reports whether one came) was successful, an error matching
// ErrNoReply when none came, and a *ServerError of kind otherwise.
func replyError(kind error, channel Channel, reply Message, found bool) error {
	switch {
	case !found:
		return fmt.Errorf("%w: %s", ErrNoReply, channel)
	case !reply.Successful:
		return NewServerError(kind, reply)
	}
	return nil
}

// networkDelayError is ErrNetworkDelay: a deadline, of the client's own.
type networkDelayError struct{}

func (networkDelayError) Error() string {
	return "bayeux: no answer within the maximum network delay"
}

// Is matches context.DeadlineExceeded.
func (networkDelayError) Is(target error) bool { return target == context.DeadlineExceeded }

// Timeout reports true, as context.DeadlineExceeded does.
func (networkDelayError) Timeout() bool { return true }
