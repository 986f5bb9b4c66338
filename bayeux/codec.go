package bayeux

import (
	"encoding/json"
	"strconv"
	"unicode/utf8"
)

// DecodeMessages decodes a Bayeux payload: a JSON array of messages or, as
// the specification allows, a single message object. Data and other raw
// fields alias body, which must not be modified afterwards. Malformed input
// returns a *DecodeError (errors.Is(err, ErrMalformed)); it never panics.
func DecodeMessages(body []byte) ([]Message, error) {
	return decodeMessages(body)
}

// EncodeMessages encodes msgs as a JSON array, the form every transport
// sends.
func EncodeMessages(msgs []Message) ([]byte, error) {
	n := 2
	for i := range msgs {
		n += len(msgs[i].Data) + 128
	}
	return AppendMessages(make([]byte, 0, n), msgs)
}

// AppendMessages appends the JSON array encoding of msgs to dst.
// On error dst is returned as it was given.
func AppendMessages(dst []byte, msgs []Message) ([]byte, error) {
	orig := len(dst)
	dst = append(dst, '[')
	for i := range msgs {
		if i > 0 {
			dst = append(dst, ',')
		}
		var err error
		if dst, err = AppendMessage(dst, &msgs[i]); err != nil {
			return dst[:orig], err
		}
	}
	return append(dst, ']'), nil
}

// MarshalJSON encodes the message; see Message for how Successful and
// Subscription are written.
func (m Message) MarshalJSON() ([]byte, error) {
	return AppendMessage(nil, &m)
}

// UnmarshalJSON decodes one message object.
func (m *Message) UnmarshalJSON(b []byte) error {
	return decodeMessage(b, m)
}

// AppendMessage appends the JSON encoding of m to dst. Fields are written in
// the order of the Message struct, as gobayeux did. On error dst is
// returned as it was given.
func AppendMessage(dst []byte, m *Message) ([]byte, error) {
	orig := len(dst)
	dst = append(dst, '{')
	first := true
	key := func(k string) {
		if !first {
			dst = append(dst, ',')
		}
		first = false
		dst = append(dst, '"')
		dst = append(dst, k...)
		dst = append(dst, '"', ':')
	}
	if m.Advice != nil {
		key("advice")
		dst = appendAdvice(dst, m.Advice)
	}
	if m.ID != "" {
		key("id")
		dst = appendString(dst, m.ID)
	}
	key("channel")
	dst = appendString(dst, string(m.Channel))
	if m.ClientID != "" {
		key("clientId")
		dst = appendString(dst, m.ClientID)
	}
	if len(m.Data) > 0 {
		if !validJSON(m.Data) {
			return dst[:orig], &EncodeError{Field: "data", Reason: "not valid JSON"}
		}
		key("data")
		dst = append(dst, m.Data...)
	}
	if m.Version != "" {
		key("version")
		dst = appendString(dst, m.Version)
	}
	if m.MinimumVersion != "" {
		key("minimumVersion")
		dst = appendString(dst, m.MinimumVersion)
	}
	if len(m.SupportedConnectionTypes) > 0 {
		key("supportedConnectionTypes")
		dst = append(dst, '[')
		for i, t := range m.SupportedConnectionTypes {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendString(dst, t)
		}
		dst = append(dst, ']')
	}
	if m.ConnectionType != "" {
		key("connectionType")
		dst = appendString(dst, m.ConnectionType)
	}
	if m.Timestamp != "" {
		key("timestamp")
		dst = appendString(dst, m.Timestamp)
	}
	if m.HasSuccessful() {
		key("successful")
		dst = strconv.AppendBool(dst, m.Successful)
	}
	if m.AuthSuccessful {
		key("authSuccessful")
		dst = append(dst, "true"...)
	}
	if len(m.Subscription) > 0 {
		key("subscription")
		if len(m.Subscription) == 1 && !m.subscriptionArray {
			dst = appendString(dst, string(m.Subscription[0]))
		} else {
			dst = append(dst, '[')
			for i, c := range m.Subscription {
				if i > 0 {
					dst = append(dst, ',')
				}
				dst = appendString(dst, string(c))
			}
			dst = append(dst, ']')
		}
	}
	if m.Error != "" {
		key("error")
		dst = appendString(dst, m.Error)
	}
	if len(m.Ext) > 0 {
		b, err := json.Marshal(m.Ext)
		if err != nil {
			return dst[:orig], &EncodeError{Field: "ext", Reason: err.Error()}
		}
		key("ext")
		dst = append(dst, b...)
	}
	return append(dst, '}'), nil
}

// MarshalJSON encodes the advice; numeric fields that are present (see
// HasTimeout) are written even when zero.
func (a Advice) MarshalJSON() ([]byte, error) {
	return appendAdvice(nil, &a), nil
}

func appendAdvice(dst []byte, a *Advice) []byte {
	dst = append(dst, '{')
	first := true
	key := func(k string) {
		if !first {
			dst = append(dst, ',')
		}
		first = false
		dst = append(dst, '"')
		dst = append(dst, k...)
		dst = append(dst, '"', ':')
	}
	if a.Reconnect != "" {
		key("reconnect")
		dst = appendString(dst, a.Reconnect)
	}
	if a.HasTimeout() {
		key("timeout")
		dst = strconv.AppendInt(dst, int64(a.Timeout), 10)
	}
	if a.HasInterval() {
		key("interval")
		dst = strconv.AppendInt(dst, int64(a.Interval), 10)
	}
	if a.HasMaxInterval() {
		key("maxInterval")
		dst = strconv.AppendInt(dst, int64(a.MaxInterval), 10)
	}
	if a.MultipleClients {
		key("multiple-clients")
		dst = append(dst, "true"...)
	}
	if len(a.Hosts) > 0 {
		key("hosts")
		dst = append(dst, '[')
		for i, h := range a.Hosts {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendString(dst, h)
		}
		dst = append(dst, ']')
	}
	return append(dst, '}')
}

// UnmarshalJSON decodes advice, recording which numeric fields were present.
func (a *Advice) UnmarshalJSON(b []byte) error {
	var raw struct {
		Reconnect       *string         `json:"reconnect"`
		Timeout         *json.Number    `json:"timeout"`
		Interval        *json.Number    `json:"interval"`
		MaxInterval     *json.Number    `json:"maxInterval"`
		MultipleClients *bool           `json:"multiple-clients"`
		Hosts           []string        `json:"hosts"`
		_               json.RawMessage `json:"-"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return &DecodeError{Reason: "advice: " + err.Error()}
	}
	*a = Advice{}
	if raw.Reconnect != nil {
		a.Reconnect = *raw.Reconnect
	}
	num := func(n *json.Number, set func(int)) error {
		if n == nil {
			return nil
		}
		f, err := strconv.ParseFloat(string(*n), 64)
		if err != nil || f > 1<<31 || f < -(1<<31) {
			return &DecodeError{Reason: "advice: number out of range", Input: string(*n)}
		}
		set(int(f))
		return nil
	}
	if err := num(raw.Timeout, a.SetTimeout); err != nil {
		return err
	}
	if err := num(raw.Interval, a.SetInterval); err != nil {
		return err
	}
	if err := num(raw.MaxInterval, a.SetMaxInterval); err != nil {
		return err
	}
	if raw.MultipleClients != nil {
		a.MultipleClients = *raw.MultipleClients
	}
	a.Hosts = raw.Hosts
	return nil
}

// appendString appends s as a JSON string, escaping as encoding/json does
// (including <, > and & so that JSONP bodies are safe, U+2028/U+2029, and
// invalid UTF-8 as U+FFFD).
func appendString(dst []byte, s string) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hex[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
