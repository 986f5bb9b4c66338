package raw

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/bayeux-go/sdk/wire"
)

// Msg is one Bayeux message decoded strictly: every field kept as sent.
type Msg struct {
	// Raw is the message's bytes.
	Raw json.RawMessage
	// Fields maps each key, exactly as sent, to its first value.
	Fields map[string]json.RawMessage
	// Dups lists keys that occur more than once.
	Dups []string
	// Folded lists keys that equal a Bayeux field name except for case
	// ("Channel").
	Folded []string
	// Unknown lists keys that are not Bayeux fields (nor case-folded ones).
	Unknown []string
	// WrongType lists Bayeux fields whose value has the wrong JSON type.
	WrongType []string
}

// ErrNotArray reports a body that is not a JSON array of objects.
var ErrNotArray = errors.New("not a JSON array of message objects")

// DecodeArray decodes a JSON array of message objects strictly.
func DecodeArray(b []byte) ([]Msg, error) {
	p, err := wire.Decode(b)
	if err != nil {
		return nil, err
	}
	if !p.Array {
		return nil, fmt.Errorf("%w: a single object", ErrNotArray)
	}
	out := make([]Msg, len(p.Messages))
	for i, rm := range p.Messages {
		out[i] = Msg{Raw: rm.Raw, Fields: map[string]json.RawMessage{}}
		for _, f := range rm.Fields {
			if _, seen := out[i].Fields[f.Key]; !seen {
				out[i].Fields[f.Key] = f.Value
			}
		}
	}
	for _, f := range p.Findings {
		m := &out[f.Message]
		switch f.Kind {
		case wire.NotObject:
			return nil, fmt.Errorf("%w: message %d is %s", ErrNotArray, f.Message, f.Detail)
		case wire.DuplicateKey:
			m.Dups = append(m.Dups, f.Key)
		case wire.FoldedKey:
			m.Folded = append(m.Folded, f.Key)
		case wire.UnknownField:
			m.Unknown = append(m.Unknown, f.Key)
		case wire.WrongType:
			m.WrongType = append(m.WrongType, f.Key)
		}
	}
	return out, nil
}

// Has reports whether the field is present.
func (m Msg) Has(k string) bool { _, ok := m.Fields[k]; return ok }

// Str returns a string field ("" and false when absent or not a string).
func (m Msg) Str(k string) (string, bool) {
	var s string
	v, ok := m.Fields[k]
	if !ok || len(v) == 0 || v[0] != '"' || json.Unmarshal(v, &s) != nil {
		return "", false
	}
	return s, true
}

// S returns a string field or "".
func (m Msg) S(k string) string { s, _ := m.Str(k); return s }

// Bool returns a boolean field; ok is false when absent or not a boolean.
func (m Msg) Bool(k string) (v, ok bool) {
	switch string(m.Fields[k]) {
	case "true":
		return true, true
	case "false":
		return false, true
	}
	return false, false
}

// Successful reports whether successful is the boolean true.
func (m Msg) Successful() bool { v, ok := m.Bool("successful"); return v && ok }

// Object decodes an object field into a map of raw values.
func (m Msg) Object(k string) (map[string]json.RawMessage, bool) {
	v, ok := m.Fields[k]
	if !ok || len(v) == 0 || v[0] != '{' {
		return nil, false
	}
	var o map[string]json.RawMessage
	return o, json.Unmarshal(v, &o) == nil
}

// Strings decodes a string-array field.
func (m Msg) Strings(k string) ([]string, bool) {
	var s []string
	v, ok := m.Fields[k]
	if !ok || len(v) == 0 || v[0] != '[' {
		return nil, false
	}
	return s, json.Unmarshal(v, &s) == nil
}

// Number decodes a numeric member of an object field (such as
// advice.timeout); ok is false when absent or not a number.
func (m Msg) Number(obj, k string) (float64, bool) {
	o, ok := m.Object(obj)
	if !ok {
		return 0, false
	}
	var f float64
	v, ok := o[k]
	if !ok || json.Unmarshal(v, &f) != nil {
		return 0, false
	}
	return f, true
}

// Member returns a member of an object field as raw JSON.
func (m Msg) Member(obj, k string) (json.RawMessage, bool) {
	o, ok := m.Object(obj)
	if !ok {
		return nil, false
	}
	v, ok := o[k]
	return v, ok
}

// IsReply reports whether the message is a reply: it has successful, or it
// is on a /meta channel without data. Anything else is an event (so a
// /meta message with data that a server wrongly delivers is seen as one).
func (m Msg) IsReply() bool {
	return m.Has("successful") || (strings.HasPrefix(m.S("channel"), "/meta/") && !m.Has("data"))
}

// Anomalies describes what a strict reader objects to, or "".
func (m Msg) Anomalies() string {
	var parts []string
	add := func(what string, keys []string) {
		if len(keys) > 0 {
			s := slices.Clone(keys)
			slices.Sort(s)
			parts = append(parts, what+" "+strings.Join(s, ","))
		}
	}
	add("duplicate keys", m.Dups)
	add("case-folded keys", m.Folded)
	add("wrong-typed fields", m.WrongType)
	return strings.Join(parts, "; ")
}
