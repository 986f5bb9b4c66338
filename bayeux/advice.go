package bayeux

import "time"

// Reconnect advice values.
const (
	// ReconnectRetry advises the client to retry /meta/connect after the
	// advised interval.
	ReconnectRetry = "retry"
	// ReconnectHandshake advises the client that the server has dropped the
	// session and a new handshake is required.
	ReconnectHandshake = "handshake"
	// ReconnectNone advises the client to stop: neither retry nor handshake.
	ReconnectNone = "none"
)

// adviceField records which numeric advice fields were present on the wire
// (or set with a setter), so that an explicit 0 survives encoding and an
// absent field does not overwrite earlier advice when merging.
type adviceField uint8

const (
	adviceTimeout adviceField = 1 << iota
	adviceInterval
	adviceMaxInterval
)

// Advice represents the field from the server which is used to inform
// clients of their preferred mode of client operation.
//
// The numeric fields are milliseconds. Unlike gobayeux, an Advice
// remembers whether Timeout, Interval and MaxInterval were present, so that
// a client can send {"timeout":0} (as the first /meta/connect after a
// handshake must) and so that a partial advice only replaces the fields it
// carries (see Merge). Use SetTimeout, SetInterval and SetMaxInterval to
// send an explicit zero.
//
// See also: https://docs.cometd.org/current/reference/#_bayeux_advice
type Advice struct {
	// Reconnect indicates how the client should act in the case of a failure
	// to connect: "retry", "handshake" or "none".
	//
	// See also: https://docs.cometd.org/current/reference/#_reconnect_advice_field
	Reconnect string `json:"reconnect,omitempty"`
	// Timeout represents the period of time, in milliseconds, for the server
	// to delay requests to the `/meta/connect` channel.
	//
	// See also: https://docs.cometd.org/current/reference/#_timeout_advice_field
	Timeout int `json:"timeout,omitempty"`
	// Interval represents the minimum period of time, in milliseconds, for the
	// client to delay subsequent requests to the /meta/connect channel. A
	// negative interval means the client must not retry.
	//
	// See also: https://docs.cometd.org/current/reference/#_interval_advice_field
	Interval int `json:"interval,omitempty"`
	// MaxInterval is the CometD extension field giving the maximum period of
	// time, in milliseconds, the server waits for the next /meta/connect
	// before it expires the session. Clients use it to switch from retrying
	// connects to a new handshake once the session has certainly expired.
	MaxInterval int `json:"maxInterval,omitempty"`
	// MultipleClients indicates that the server has detected multiple Bayeux
	// client instances running within the same web client.
	//
	// See also: https://docs.cometd.org/current/reference/#_bayeux_multiple_clients_advice
	MultipleClients bool `json:"multiple-clients,omitempty"`
	// Hosts is an array of strings which if present indicates a list of host
	// names or IP addresses that MAY be used as alternate servers. If a
	// re-handshake advice is received by a client and the current server is
	// not in the supplied hosts list, then the client SHOULD try the hosts in
	// order.
	//
	// See also: https://docs.cometd.org/current/reference/#_hosts_advice_field
	Hosts []string `json:"hosts,omitempty"`

	set adviceField
}

// IntervalAsDuration returns the Interval field as a time.Duration for
// scheduling. (gobayeux returned the timeout here; this returns the
// interval, as its name says.)
func (a Advice) IntervalAsDuration() time.Duration {
	return time.Duration(a.Interval) * time.Millisecond
}

// TimeoutAsDuration returns the Timeout field as a time.Duration for
// scheduling.
func (a Advice) TimeoutAsDuration() time.Duration {
	return time.Duration(a.Timeout) * time.Millisecond
}

// MaxIntervalAsDuration returns the MaxInterval field as a time.Duration.
func (a Advice) MaxIntervalAsDuration() time.Duration {
	return time.Duration(a.MaxInterval) * time.Millisecond
}

// MustNotRetryOrHandshake indicates whether neither a handshake or retry is
// allowed: the advice is reconnect "none", or a negative interval.
func (a Advice) MustNotRetryOrHandshake() bool {
	return a.Reconnect == ReconnectNone || a.Interval < 0
}

// ShouldHandshake indicates whether the advice is that a handshake should
// occur.
func (a Advice) ShouldHandshake() bool {
	return a.Reconnect == ReconnectHandshake
}

// ShouldRetry indicates whether a retry should occur.
func (a Advice) ShouldRetry() bool {
	return a.Reconnect == ReconnectRetry
}

// HasTimeout reports whether Timeout was present on the wire or set with
// SetTimeout (a non-zero Timeout always counts as present).
func (a Advice) HasTimeout() bool { return a.Timeout != 0 || a.set&adviceTimeout != 0 }

// HasInterval reports whether Interval was present on the wire or set with
// SetInterval (a non-zero Interval always counts as present).
func (a Advice) HasInterval() bool { return a.Interval != 0 || a.set&adviceInterval != 0 }

// HasMaxInterval reports whether MaxInterval was present on the wire or set
// with SetMaxInterval (a non-zero MaxInterval always counts as present).
func (a Advice) HasMaxInterval() bool {
	return a.MaxInterval != 0 || a.set&adviceMaxInterval != 0
}

// SetTimeout sets Timeout and marks it present, so that a zero is encoded.
func (a *Advice) SetTimeout(ms int) { a.Timeout = ms; a.set |= adviceTimeout }

// SetInterval sets Interval and marks it present, so that a zero is encoded.
func (a *Advice) SetInterval(ms int) { a.Interval = ms; a.set |= adviceInterval }

// SetMaxInterval sets MaxInterval and marks it present, so that a zero is
// encoded.
func (a *Advice) SetMaxInterval(ms int) { a.MaxInterval = ms; a.set |= adviceMaxInterval }

// Merge returns a copy of a updated with the fields that newer carries: "newer
// advice always supersedes older", field by field. A nil newer returns a.
func (a Advice) Merge(newer *Advice) Advice {
	if newer == nil {
		return a
	}
	if newer.Reconnect != "" {
		a.Reconnect = newer.Reconnect
	}
	if newer.HasTimeout() {
		a.SetTimeout(newer.Timeout)
	}
	if newer.HasInterval() {
		a.SetInterval(newer.Interval)
	}
	if newer.HasMaxInterval() {
		a.SetMaxInterval(newer.MaxInterval)
	}
	a.MultipleClients = newer.MultipleClients
	if newer.Hosts != nil {
		a.Hosts = append([]string(nil), newer.Hosts...)
	}
	return a
}
