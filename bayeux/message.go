package bayeux

import (
	"encoding/json"
	"fmt"
	"strings"
)

// Connection types, as named in supportedConnectionTypes and connectionType.
const (
	// ConnectionTypeLongPolling is a constant for the long-polling string
	ConnectionTypeLongPolling string = "long-polling"
	// ConnectionTypeCallbackPolling is a constant for the callback-polling string
	ConnectionTypeCallbackPolling = "callback-polling"
	// ConnectionTypeIFrame is a constant for the iframe string
	ConnectionTypeIFrame = "iframe"
	// ConnectionTypeWebSocket is a constant for the websocket string, as
	// CometD and Faye name it.
	ConnectionTypeWebSocket = "websocket"
)

// Message represents a Bayeux message, sent or received.
//
// Data is kept as raw JSON: a received message's Data aliases the response
// body it was decoded from and must not be modified; decode it with
// json.Unmarshal (or Message.Decode) when you need it.
//
// Differences from gobayeux, which are deliberate:
//   - Successful is written on the wire when it is true or when the message
//     was marked as a reply with SetSuccessful, so a server can say
//     "successful": false (gobayeux's omitempty silently dropped it).
//     HasSuccessful reports whether a received message carried the field.
//   - Subscription encodes as a JSON string when it holds one channel (the
//     form Salesforce requires) and as an array otherwise; both forms are
//     accepted when decoding.
//
// See also: https://docs.cometd.org/current/reference/#_bayeux_message_fields
type Message struct {
	// Advice provides a way for servers to inform clients of their preferred
	// mode of client operation.
	//
	// See also: https://docs.cometd.org/current/reference/#_bayeux_advice
	Advice *Advice `json:"advice,omitempty"`
	// ID represents the identifier of the specific message
	//
	// See also: https://docs.cometd.org/current/reference/#_bayeux_id
	ID string `json:"id,omitempty"`
	// Channel is the Channel on which the message was sent
	//
	// See also: https://docs.cometd.org/current/reference/#_channel
	Channel Channel `json:"channel"`
	// ClientID identifies a particular session via a session id token
	//
	// See also: https://docs.cometd.org/current/reference/#_bayeux_clientid
	ClientID string `json:"clientId,omitempty"`
	// Data contains the event information as raw JSON.
	//
	// See also:
	// https://docs.cometd.org/current/reference/#_data
	// https://docs.cometd.org/current/reference/#_concepts_binary_data
	Data json.RawMessage `json:"data,omitempty"`
	// Version indicates the protocol version expected by the client/server.
	// This MUST be included in messages to/from the `/meta/handshake`
	// channel.
	//
	// See also: https://docs.cometd.org/current/reference/#_version_2
	Version string `json:"version,omitempty"`
	// MinimumVersion indicates the oldest protocol version that can be handled
	// by the client/server. This MAY be included.
	//
	// See also: https://docs.cometd.org/current/reference/#_minimumversion
	MinimumVersion string `json:"minimumVersion,omitempty"`
	// SupportedConnectionTypes is included in messages to/from the
	// `/meta/handshake` channel to allow clients and servers to reveal the
	// transports that are supported. This is an array of strings.
	//
	// See also: https://docs.cometd.org/current/reference/#_bayeux_supported_connections
	SupportedConnectionTypes []string `json:"supportedConnectionTypes,omitempty"`
	// ConnectionType specifies the type of transport the client requires for
	// communication. This MUST be included in `/meta/connect` request
	// messages.
	//
	// See also:
	// https://docs.cometd.org/current/reference/#_connectiontype
	// https://docs.cometd.org/current/reference/#_bayeux_supported_connections
	ConnectionType string `json:"connectionType,omitempty"`
	// Timestamp is an optional field in all Bayeux messages. If present, it
	// SHOULD be specified in the following ISO 8601 profile:
	// `YYYY-MM-DDThh:mm:ss.ss`
	//
	// See also: https://docs.cometd.org/current/reference/#_timestamp
	Timestamp string `json:"timestamp,omitempty"`
	// Successful is a boolean field used to indicate success or failure and
	// MUST be included in responses to `/meta/handshake`, `/meta/connect`,
	// `/meta/subscribe`, `/meta/unsubscribe`, `/meta/disconnect`, and publish
	// channels. See SetSuccessful for sending "successful": false.
	//
	// See also: https://docs.cometd.org/current/reference/#_successful
	Successful bool `json:"successful,omitempty"`
	// AuthSuccessful is not a common field but MAY be included on a handshake
	// response.
	AuthSuccessful bool `json:"authSuccessful,omitempty"`

	// successfulSet records that "successful" was present on the wire or
	// set with SetSuccessful. (The two flags sit next to Successful and
	// AuthSuccessful, so that the four booleans share one word: a Message
	// is 224 bytes, not 232, which every payload's []Message and every
	// subscription queue copies.)
	successfulSet bool
	// subscriptionArray records that "subscription" arrived as an array, so
	// that a reply can echo the form of the request.
	subscriptionArray bool

	// Subscription specifies the channels the client wishes to subscribe to
	// or unsubscribe from and MUST be included in requests and responses
	// to/from the `/meta/subscribe` or `/meta/unsubscribe` channels.
	//
	// See also: https://docs.cometd.org/current/reference/#_subscription
	Subscription []Channel `json:"subscription,omitempty"`
	// Error field is optional in any response and MAY indicate the type of
	// error that occurred when a request returns with a false successful
	// message. ParseError parses it.
	//
	// See also: https://docs.cometd.org/current/reference/#_error
	Error string `json:"error,omitempty"`
	// Ext is an optional field that SHOULD be JSON encoded. The contents can
	// be arbitrary values that allow extensions to be negotiated and
	// implemented between server and client implementations.
	//
	// See also: https://docs.cometd.org/current/reference/#_bayeux_ext
	Ext map[string]interface{} `json:"ext,omitempty"`
}

// SetSuccessful sets Successful and marks the field present, so that it is
// encoded even when false. Servers use it to build replies.
func (m *Message) SetSuccessful(ok bool) {
	m.Successful = ok
	m.successfulSet = true
}

// HasSuccessful reports whether the message carries a "successful" field:
// it was decoded with one, Successful is true, or SetSuccessful was called.
// A message with "successful" and no "data" is a reply (for example a
// publish acknowledgement); a message with "data" is an event.
func (m *Message) HasSuccessful() bool { return m.Successful || m.successfulSet }

// SubscriptionIsArray reports whether Subscription arrived as a JSON array
// (or was set with SetSubscriptionArray). A one-channel Subscription is
// otherwise encoded as a string.
func (m *Message) SubscriptionIsArray() bool { return m.subscriptionArray }

// SetSubscriptionArray forces Subscription to be encoded as a JSON array
// even when it holds a single channel (servers echo the request's form).
func (m *Message) SetSubscriptionArray(array bool) { m.subscriptionArray = array }

// GetExt retrieves the Ext field map. If passed `true` it will instantiate
// it if the map is not instantiated, otherwise it will just return the value
// of Ext.
func (m *Message) GetExt(create bool) map[string]interface{} {
	if m.Ext == nil && create {
		m.Ext = make(map[string]interface{})
	}
	return m.Ext
}

// IsMeta reports whether the message is on a /meta/ channel.
func (m *Message) IsMeta() bool { return strings.HasPrefix(string(m.Channel), "/meta/") }

// IsReply reports whether the message is a reply to a request rather than an
// event: a /meta/ message, or a message carrying "successful" and no data
// (a publish acknowledgement), as the CometD and Faye clients classify them.
func (m *Message) IsReply() bool {
	return m.IsMeta() || (m.HasSuccessful() && len(m.Data) == 0)
}

// Decode unmarshals Data into v with encoding/json.
func (m *Message) Decode(v any) error {
	if len(m.Data) == 0 {
		return &DecodeError{Reason: "message has no data"}
	}
	return json.Unmarshal(m.Data, v)
}

// ParseError returns a struct representing the error message and parsed as
// defined in the specification: code ":" args ":" message, where code is
// three digits and args are comma separated. An empty or malformed error
// string yields an error of type *DecodeError; the raw string is always
// available in Message.Error.
func (m *Message) ParseError() (MessageError, error) {
	return ParseErrorString(m.Error)
}

// MessageError represents a parsed Error field of a Message, for example
// "402:xj3sjdsjdsjad:Unknown Client ID" is code 402, args
// ["xj3sjdsjdsjad"] and message "Unknown Client ID".
type MessageError struct {
	// ErrorCode is the three digit error code.
	ErrorCode int
	// ErrorArgs are the comma separated arguments; nil when there are none.
	ErrorArgs []string
	// ErrorMessage is the human readable description.
	ErrorMessage string
}

// String formats the error back into the wire grammar.
func (e MessageError) String() string {
	return fmt.Sprintf("%03d", e.ErrorCode) + ":" + strings.Join(e.ErrorArgs, ",") + ":" + e.ErrorMessage
}

// ParseErrorString parses a Bayeux error string (code:args:message).
func ParseErrorString(s string) (MessageError, error) {
	if s == "" {
		return MessageError{}, &DecodeError{Reason: "empty error string"}
	}
	first := strings.IndexByte(s, ':')
	if first != 3 {
		return MessageError{}, &DecodeError{Reason: "error string does not start with a three digit code and ':'", Input: s}
	}
	code := 0
	for i := 0; i < 3; i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return MessageError{}, &DecodeError{Reason: "error code is not three digits", Input: s}
		}
		code = code*10 + int(c-'0')
	}
	rest := s[4:]
	second := strings.IndexByte(rest, ':')
	if second < 0 {
		return MessageError{}, &DecodeError{Reason: "error string has no ':' before the message", Input: s}
	}
	me := MessageError{ErrorCode: code, ErrorMessage: rest[second+1:]}
	if args := rest[:second]; args != "" {
		me.ErrorArgs = strings.Split(args, ",")
	}
	return me, nil
}
