package raw

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
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

// kind is the JSON type a Bayeux field must have.
type kind int

const (
	kString kind = iota
	kBool
	kObject
	kStrings
	kStringOrStrings
	kAny
)

// fields are the message fields of Bayeux 1.0 and their types.
var fields = map[string]kind{
	"channel": kString, "version": kString, "minimumVersion": kString,
	"supportedConnectionTypes": kStrings, "clientId": kString, "advice": kObject,
	"connectionType": kString, "id": kString, "timestamp": kString, "data": kAny,
	"successful": kBool, "subscription": kStringOrStrings, "error": kString,
	"ext": kObject, "authSuccessful": kBool, "connectionId": kString,
	"json-comment-filtered": kBool,
}

// ErrNotArray reports a body that is not a JSON array of objects.
var ErrNotArray = errors.New("not a JSON array of objects")

// DecodeArray decodes a JSON array of message objects strictly.
func DecodeArray(b []byte) ([]Msg, error) {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || b[0] != '[' {
		return nil, ErrNotArray
	}
	var elems []json.RawMessage
	if err := json.Unmarshal(b, &elems); err != nil {
		return nil, fmt.Errorf("bad JSON: %w", err)
	}
	out := make([]Msg, 0, len(elems))
	for i, e := range elems {
		m, err := DecodeObject(e)
		if err != nil {
			return nil, fmt.Errorf("message %d: %w", i, err)
		}
		out = append(out, m)
	}
	return out, nil
}

// DecodeObject decodes one message object strictly.
func DecodeObject(b []byte) (Msg, error) {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || b[0] != '{' {
		return Msg{}, ErrNotArray
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	if _, err := dec.Token(); err != nil {
		return Msg{}, err
	}
	m := Msg{Raw: append(json.RawMessage(nil), b...), Fields: map[string]json.RawMessage{}}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return Msg{}, err
		}
		key, _ := tok.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return Msg{}, err
		}
		if _, seen := m.Fields[key]; seen {
			m.Dups = append(m.Dups, key)
			continue
		}
		m.Fields[key] = v
		k, known := fields[key]
		switch {
		case known:
			if !hasKind(v, k) {
				m.WrongType = append(m.WrongType, key)
			}
		case foldedField(key) != "":
			m.Folded = append(m.Folded, key)
		default:
			m.Unknown = append(m.Unknown, key)
		}
	}
	return m, nil
}

func foldedField(key string) string {
	for f := range fields {
		if strings.EqualFold(f, key) {
			return f
		}
	}
	return ""
}

func hasKind(v json.RawMessage, k kind) bool {
	if len(v) == 0 {
		return false
	}
	switch k {
	case kString:
		return v[0] == '"'
	case kBool:
		return string(v) == "true" || string(v) == "false"
	case kObject:
		return v[0] == '{'
	case kStrings:
		var s []string
		return v[0] == '[' && json.Unmarshal(v, &s) == nil
	case kStringOrStrings:
		return v[0] == '"' || hasKind(v, kStrings)
	}
	return true
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
