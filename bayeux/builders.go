package bayeux

import (
	"errors"
	"slices"
	"strconv"
	"strings"
)

// Errors reported by the request builders, wrapped in a *BuilderError.
var (
	// ErrInvalidVersion means a version string breaks the Bayeux grammar
	// version = integer *("." version_element), or a minimumVersion is
	// greater than the version.
	ErrInvalidVersion = errors.New("bayeux: invalid version")
	// ErrInvalidConnectionType means a connection type is not one of
	// long-polling, callback-polling, iframe or websocket.
	ErrInvalidConnectionType = errors.New("bayeux: invalid connection type")
	// ErrMissingField means Build was called before a field that the
	// request must carry was added (clientId, connectionType, subscription
	// or supportedConnectionTypes).
	ErrMissingField = errors.New("bayeux: missing required field")
)

// DefaultVersion is the Bayeux protocol version a HandshakeRequestBuilder
// sends when AddVersion is not called.
const DefaultVersion = "1.0"

// BuilderError reports an invalid value given to a request builder, or a
// Build of a request that lacks a required field. It matches (errors.Is) its
// Kind: ErrInvalidVersion, ErrInvalidConnectionType or ErrMissingField.
type BuilderError struct {
	// Kind is the sentinel naming the problem.
	Kind error
	// Request is the meta channel of the request being built.
	Request Channel
	// Field is the message field concerned ("version", "clientId", ...).
	Field string
	// Value is the rejected value; empty for a missing field.
	Value string
	// Reason details the problem, when there is more to say than Kind.
	Reason string
}

// Error implements the error interface.
func (e *BuilderError) Error() string {
	s := "bayeux: " + kindText(e.Kind) + ": " + string(e.Request) + " " + e.Field
	if e.Value != "" || e.Kind != ErrMissingField {
		s += " " + strconv.Quote(e.Value)
	}
	if e.Reason != "" {
		s += ": " + e.Reason
	}
	return s
}

// Unwrap returns Kind.
func (e *BuilderError) Unwrap() error { return e.Kind }

// ValidateVersion checks v against the Bayeux version grammar:
//
//	version         = integer *( "." version_element )
//	integer         = digit *( digit )
//	version_element = alphanum *( alphanum | "-" | "_" )
//
// so "1.0", "10", "1.0beta" and "2.1-rc_1" are valid and "", ".0", "a.0",
// "1." and "1.-x" are not. It returns a *BuilderError matching
// ErrInvalidVersion.
func ValidateVersion(v string) error { return validateVersion("version", v) }

func validateVersion(field, v string) error {
	bad := func(reason string) error {
		return &BuilderError{Kind: ErrInvalidVersion, Request: MetaHandshake, Field: field, Value: v, Reason: reason}
	}
	if v == "" {
		return bad("empty")
	}
	for i, el := range strings.Split(v, ".") {
		if el == "" {
			return bad("empty element")
		}
		for j := 0; j < len(el); j++ {
			c := el[j]
			switch {
			case c >= '0' && c <= '9':
			case i == 0:
				return bad("must start with an integer")
			case isASCIILetter(c):
			case (c == '-' || c == '_') && j > 0:
			default:
				return bad("invalid character " + quoteByte(c))
			}
		}
	}
	return nil
}

func isASCIILetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

// CompareVersions compares two valid versions element by element, as the
// specification says: elements that are both integers compare numerically,
// others compare as strings; a version that is a prefix of the other is the
// smaller one ("1" < "1.0"). It returns -1, 0 or +1. The result for versions
// that ValidateVersion rejects is unspecified (but it does not panic).
func CompareVersions(a, b string) int {
	ea, eb := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < len(ea) && i < len(eb); i++ {
		if c := compareVersionElement(ea[i], eb[i]); c != 0 {
			return c
		}
	}
	switch {
	case len(ea) < len(eb):
		return -1
	case len(ea) > len(eb):
		return 1
	}
	return 0
}

func compareVersionElement(a, b string) int {
	if isDigits(a) && isDigits(b) {
		a, b = strings.TrimLeft(a, "0"), strings.TrimLeft(b, "0")
		if len(a) != len(b) {
			if len(a) < len(b) {
				return -1
			}
			return 1
		}
	}
	return strings.Compare(a, b)
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// validateConnectionType accepts the connection types the specification and
// the reference implementations name.
func validateConnectionType(request Channel, field, ct string) error {
	switch ct {
	case ConnectionTypeLongPolling, ConnectionTypeCallbackPolling, ConnectionTypeIFrame, ConnectionTypeWebSocket:
		return nil
	}
	return &BuilderError{Kind: ErrInvalidConnectionType, Request: request, Field: field, Value: ct}
}

func missing(request Channel, field string) error {
	return &BuilderError{Kind: ErrMissingField, Request: request, Field: field}
}

// HandshakeRequestBuilder provides a way to safely and confidently create
// handshake requests to /meta/handshake. The version defaults to
// DefaultVersion; at least one supported connection type is required.
// A builder is not safe for concurrent use.
//
// See also: https://docs.cometd.org/current/reference/#_handshake_request
type HandshakeRequestBuilder struct {
	version                  string
	minimumVersion           string
	supportedConnectionTypes []string
}

// NewHandshakeRequestBuilder provides an easy way to build a Message that
// can be sent as a Handshake Request as documented in
// https://docs.cometd.org/current/reference/#_handshake_request
func NewHandshakeRequestBuilder() *HandshakeRequestBuilder {
	return &HandshakeRequestBuilder{}
}

// AddVersion accepts the version of the Bayeux protocol that the client
// supports. An invalid version (see ValidateVersion) returns an error
// matching ErrInvalidVersion and leaves the builder unchanged.
func (b *HandshakeRequestBuilder) AddVersion(version string) error {
	if err := ValidateVersion(version); err != nil {
		return err
	}
	b.version = version
	return nil
}

// AddMinimumVersion adds the minimum supported version. An invalid version
// returns an error matching ErrInvalidVersion and leaves the builder
// unchanged.
func (b *HandshakeRequestBuilder) AddMinimumVersion(version string) error {
	if err := validateVersion("minimumVersion", version); err != nil {
		return err
	}
	b.minimumVersion = version
	return nil
}

// AddSupportedConnectionType accepts a string and will add it to the list of
// supported connection types for the /meta/handshake request. It validates
// the connection type. You're encouraged to use one of the constants created
// for these different connection types. This will de-duplicate connection
// types and returns an error if an invalid connection type was provided
// (matching ErrInvalidConnectionType). The order of first addition is kept:
// it is the client's order of preference.
func (b *HandshakeRequestBuilder) AddSupportedConnectionType(connectionType string) error {
	if err := validateConnectionType(MetaHandshake, "supportedConnectionTypes", connectionType); err != nil {
		return err
	}
	if !slices.Contains(b.supportedConnectionTypes, connectionType) {
		b.supportedConnectionTypes = append(b.supportedConnectionTypes, connectionType)
	}
	return nil
}

// Build generates the final Message to be sent as a Handshake Request. It
// returns an error matching ErrMissingField when no connection type was
// added, and one matching ErrInvalidVersion when the minimum version is
// greater than the version.
func (b *HandshakeRequestBuilder) Build() ([]Message, error) {
	if len(b.supportedConnectionTypes) == 0 {
		return nil, missing(MetaHandshake, "supportedConnectionTypes")
	}
	version := b.version
	if version == "" {
		version = DefaultVersion
	}
	if b.minimumVersion != "" && CompareVersions(b.minimumVersion, version) > 0 {
		return nil, &BuilderError{Kind: ErrInvalidVersion, Request: MetaHandshake,
			Field: "minimumVersion", Value: b.minimumVersion, Reason: "greater than version " + version}
	}
	return []Message{{
		Channel:                  MetaHandshake,
		Version:                  version,
		MinimumVersion:           b.minimumVersion,
		SupportedConnectionTypes: slices.Clone(b.supportedConnectionTypes),
	}}, nil
}

// ConnectRequestBuilder provides a way to safely build a Message that can be
// sent as a /meta/connect request as documented in
// https://docs.cometd.org/current/reference/#_connect_request
// A builder is not safe for concurrent use.
type ConnectRequestBuilder struct {
	clientID       string
	connectionType string
}

// NewConnectRequestBuilder initializes a ConnectRequestBuilder as an easy
// way to build a Message that can be sent as a /meta/connect request.
//
// See also: https://docs.cometd.org/current/reference/#_connect_request
func NewConnectRequestBuilder() *ConnectRequestBuilder {
	return &ConnectRequestBuilder{}
}

// AddClientID adds the previously provided clientId to the request
func (b *ConnectRequestBuilder) AddClientID(clientID string) {
	b.clientID = clientID
}

// AddConnectionType adds the connection type used by the client for the
// purposes of this connection to the request. An unknown connection type
// returns an error matching ErrInvalidConnectionType and leaves the builder
// unchanged.
func (b *ConnectRequestBuilder) AddConnectionType(connectionType string) error {
	if err := validateConnectionType(MetaConnect, "connectionType", connectionType); err != nil {
		return err
	}
	b.connectionType = connectionType
	return nil
}

// Build generates the final Message to be sent as a Connect Request. The
// clientId and the connection type are required (ErrMissingField).
func (b *ConnectRequestBuilder) Build() ([]Message, error) {
	if b.clientID == "" {
		return nil, missing(MetaConnect, "clientId")
	}
	if b.connectionType == "" {
		return nil, missing(MetaConnect, "connectionType")
	}
	return []Message{{
		Channel:        MetaConnect,
		ClientID:       b.clientID,
		ConnectionType: b.connectionType,
	}}, nil
}

// subscriptionBuilder is the shared part of the subscribe and unsubscribe
// builders.
type subscriptionBuilder struct {
	request       Channel
	clientID      string
	subscriptions []Channel
}

func (b *subscriptionBuilder) add(c Channel) error {
	if err := c.ValidateSubscription(); err != nil {
		return err
	}
	if c.Type() == MetaChannel {
		return &InvalidChannelError{Channel: c, Reason: "meta channels cannot be used in " + string(b.request)}
	}
	if !slices.Contains(b.subscriptions, c) {
		b.subscriptions = append(b.subscriptions, c)
	}
	return nil
}

func (b *subscriptionBuilder) build() ([]Message, error) {
	if b.clientID == "" {
		return nil, missing(b.request, "clientId")
	}
	if len(b.subscriptions) == 0 {
		return nil, missing(b.request, "subscription")
	}
	return []Message{{
		Channel:      b.request,
		ClientID:     b.clientID,
		Subscription: slices.Clone(b.subscriptions),
	}}, nil
}

// SubscribeRequestBuilder provides an easy way to build a /meta/subscribe
// request per the specification in
// https://docs.cometd.org/current/reference/#_subscribe_request
// A builder is not safe for concurrent use.
type SubscribeRequestBuilder struct {
	b subscriptionBuilder
}

// NewSubscribeRequestBuilder initializes a SubscribeRequestBuilder as an
// easy way to build a Message that can be sent as a /meta/subscribe request.
// See also https://docs.cometd.org/current/reference/#_subscribe_request
func NewSubscribeRequestBuilder() *SubscribeRequestBuilder {
	return &SubscribeRequestBuilder{b: subscriptionBuilder{request: MetaSubscribe}}
}

// AddClientID adds the previously provided clientId to the request
func (b *SubscribeRequestBuilder) AddClientID(clientID string) {
	b.b.clientID = clientID
}

// AddSubscription adds a given channel to the list of subscriptions being
// sent in a /meta/subscribe request. Channels are de-duplicated. A channel
// that breaks the grammar (see Channel.Validate), or a /meta/ channel, is
// rejected with an *InvalidChannelError (errors.Is(err, ErrBadChannel)).
func (b *SubscribeRequestBuilder) AddSubscription(c Channel) error {
	return b.b.add(c)
}

// Build generates the final Message to be sent as a Subscribe Request. The
// clientId and at least one subscription are required (ErrMissingField). A
// single channel is encoded as a JSON string, several as an array.
func (b *SubscribeRequestBuilder) Build() ([]Message, error) {
	return b.b.build()
}

// UnsubscribeRequestBuilder provides an easy way to build a
// /meta/unsubscribe request per the specification in
// https://docs.cometd.org/current/reference/#_unsubscribe_request
// A builder is not safe for concurrent use.
type UnsubscribeRequestBuilder struct {
	b subscriptionBuilder
}

// NewUnsubscribeRequestBuilder initializes an UnsubscribeRequestBuilder as
// an easy way to build a Message that can be sent as a /meta/unsubscribe
// request. See also
// https://docs.cometd.org/current/reference/#_unsubscribe_request
func NewUnsubscribeRequestBuilder() *UnsubscribeRequestBuilder {
	return &UnsubscribeRequestBuilder{b: subscriptionBuilder{request: MetaUnsubscribe}}
}

// AddClientID adds the previously provided clientId to the request
func (b *UnsubscribeRequestBuilder) AddClientID(clientID string) {
	b.b.clientID = clientID
}

// AddSubscription adds a given channel to the list of subscriptions being
// sent in a /meta/unsubscribe request. Channels are de-duplicated. A channel
// that breaks the grammar (see Channel.Validate), or a /meta/ channel, is
// rejected with an *InvalidChannelError (errors.Is(err, ErrBadChannel)).
func (b *UnsubscribeRequestBuilder) AddSubscription(c Channel) error {
	return b.b.add(c)
}

// Build generates the final Message to be sent as a Unsubscribe Request. The
// clientId and at least one subscription are required (ErrMissingField).
func (b *UnsubscribeRequestBuilder) Build() ([]Message, error) {
	return b.b.build()
}

// DisconnectRequestBuilder provides an easy way to build a /meta/disconnect
// request per the specification in
// https://docs.cometd.org/current/reference/#_bayeux_meta_disconnect
// A builder is not safe for concurrent use.
type DisconnectRequestBuilder struct {
	clientID string
}

// NewDisconnectRequestBuilder initializes a DisconnectRequestBuilder as an
// easy way to build a Message that can be sent as a /meta/disconnect
// request.
func NewDisconnectRequestBuilder() *DisconnectRequestBuilder {
	return &DisconnectRequestBuilder{}
}

// AddClientID adds the previously provided clientId to the request
func (b *DisconnectRequestBuilder) AddClientID(clientID string) {
	b.clientID = clientID
}

// Build generates the final Message to be sent as a Disconnect Request. The
// clientId is required (ErrMissingField).
func (b *DisconnectRequestBuilder) Build() ([]Message, error) {
	if b.clientID == "" {
		return nil, missing(MetaDisconnect, "clientId")
	}
	return []Message{{Channel: MetaDisconnect, ClientID: b.clientID}}, nil
}
