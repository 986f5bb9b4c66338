package wire

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Kind is the kind of a Finding.
type Kind int

// The kinds of findings of Decode.
const (
	// FoldedKey: a key that matches a Bayeux field only when case is
	// ignored ("Channel").
	FoldedKey Kind = iota + 1
	// DuplicateKey: a key that appears more than once in one object.
	DuplicateKey
	// UnknownField: a key that is no Bayeux field.
	UnknownField
	// WrongType: a Bayeux field whose value has the wrong JSON type (an
	// "id" that is a number, a "successful" that is a string...).
	WrongType
	// NotObject: a message that is not a JSON object.
	NotObject
)

// String returns the kind's name.
func (k Kind) String() string {
	switch k {
	case FoldedKey:
		return "folded key"
	case DuplicateKey:
		return "duplicate key"
	case UnknownField:
		return "unknown field"
	case WrongType:
		return "wrong type"
	case NotObject:
		return "not an object"
	}
	return "kind " + strconv.Itoa(int(k))
}

// Finding is something a forgiving decoder would have hidden.
type Finding struct {
	// Message is the index of the message in the payload.
	Message int
	// Key is the key concerned, as sent ("advice.timeout" for a field of
	// the advice); empty for NotObject.
	Key  string
	Kind Kind
	// Detail says what was seen and expected.
	Detail string
}

// String returns a one-line description.
func (f Finding) String() string {
	return fmt.Sprintf("message %d: %s %q: %s", f.Message, f.Kind, f.Key, f.Detail)
}

// Field is one member of a message object, as sent.
type Field struct {
	Key   string
	Value json.RawMessage
}

// RawMessage is one message of a payload as sent.
type RawMessage struct {
	// Raw holds the message's bytes exactly as in the payload.
	Raw json.RawMessage
	// Fields are the object's members in order, duplicates included (nil
	// when the message is not an object).
	Fields []Field
}

// Get returns the value of the first member whose key is exactly key.
func (m *RawMessage) Get(key string) (json.RawMessage, bool) {
	for _, f := range m.Fields {
		if f.Key == key {
			return f.Value, true
		}
	}
	return nil, false
}

// GetString returns the value of the first member key when it is a JSON
// string.
func (m *RawMessage) GetString(key string) (string, bool) {
	v, ok := m.Get(key)
	if !ok || len(v) == 0 || v[0] != '"' {
		return "", false
	}
	var s string
	if json.Unmarshal(v, &s) != nil {
		return "", false
	}
	return s, true
}

// Payload is a strictly decoded Bayeux payload.
type Payload struct {
	// Array is true when the payload was a JSON array, false for a single
	// object.
	Array bool
	// Messages are the messages in order.
	Messages []RawMessage
	// Findings list, in order, what a forgiving decoder would hide.
	Findings []Finding
}

// ErrNotPayload is matched (errors.Is) by the error of Decode for a body
// that is not a JSON array or object.
var ErrNotPayload = errors.New("not a Bayeux payload (a JSON array of messages or one message object)")

// Decode decodes a payload, a JSON array of messages or one message
// object, without normalising anything: each message keeps its raw bytes
// and members, and what is not plain Bayeux (keys in another case,
// duplicate keys, unknown fields, values of the wrong type, elements that
// are not objects) is reported as Findings. The error (matching
// ErrNotPayload) is only for a body that is not one valid JSON array or
// object.
func Decode(payload []byte) (*Payload, error) {
	trimmed := bytes.Trim(payload, " \t\r\n") // JSON whitespace only
	if len(trimmed) == 0 || (trimmed[0] != '[' && trimmed[0] != '{') {
		return nil, fmt.Errorf("%w: starts with %q", ErrNotPayload, head(trimmed))
	}
	if !json.Valid(trimmed) {
		return nil, fmt.Errorf("%w: invalid JSON", ErrNotPayload)
	}
	p := &Payload{}
	if trimmed[0] == '{' {
		p.add(0, trimmed)
		return p, nil
	}
	p.Array = true
	dec := json.NewDecoder(bytes.NewReader(trimmed))
	if _, err := dec.Token(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNotPayload, err)
	}
	for i := 0; dec.More(); i++ {
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, fmt.Errorf("%w: element %d: %v", ErrNotPayload, i, err)
		}
		p.add(i, raw)
	}
	return p, nil
}

func head(b []byte) []byte {
	if len(b) > 16 {
		return b[:16]
	}
	return b
}

// add decodes message i, raw, and records its findings.
func (p *Payload) add(i int, raw []byte) {
	m := RawMessage{Raw: json.RawMessage(raw)}
	if raw[0] != '{' {
		p.Messages = append(p.Messages, m)
		p.Findings = append(p.Findings, Finding{Message: i, Kind: NotObject, Detail: "a JSON " + jsonType(raw) + " where a message object belongs"})
		return
	}
	m.Fields = members(raw)
	p.Messages = append(p.Messages, m)
	p.check(i, "", m.Fields, messageFields)
	for _, f := range m.Fields {
		if f.Key == "advice" && len(f.Value) > 0 && f.Value[0] == '{' {
			p.check(i, "advice.", members(f.Value), adviceFields)
		}
	}
}

// members returns the members of a valid JSON object, in order.
func members(obj []byte) []Field {
	dec := json.NewDecoder(bytes.NewReader(obj))
	if _, err := dec.Token(); err != nil { // '{'
		return nil
	}
	var out []Field
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return out
		}
		key, _ := tok.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return out
		}
		out = append(out, Field{Key: key, Value: v})
	}
	if _, err := dec.Token(); err != nil && err != io.EOF { // '}'
		return out
	}
	return out
}

// typeRule says which JSON types a field accepts.
type typeRule uint8

const (
	tString typeRule = 1 << iota
	tNumber
	tBool
	tObject
	tArrayOfStrings
	tNull
	tAny = tString | tNumber | tBool | tObject | tArrayOfStrings | tNull | tArray
	// tArray is any array (only within tAny).
	tArray typeRule = 1 << 7
)

var messageFields = map[string]typeRule{
	"channel":                  tString,
	"id":                       tString,
	"clientId":                 tString,
	"data":                     tAny,
	"version":                  tString,
	"minimumVersion":           tString,
	"supportedConnectionTypes": tArrayOfStrings,
	"connectionType":           tString,
	"timestamp":                tString,
	"successful":               tBool,
	"authSuccessful":           tBool,
	"subscription":             tString | tArrayOfStrings,
	"error":                    tString,
	"ext":                      tObject,
	"advice":                   tObject,
}

var adviceFields = map[string]typeRule{
	"reconnect":        tString,
	"timeout":          tNumber,
	"interval":         tNumber,
	"maxInterval":      tNumber,
	"multiple-clients": tBool,
	"hosts":            tArrayOfStrings,
}

// check records the findings of one object's fields against known.
func (p *Payload) check(i int, prefix string, fields []Field, known map[string]typeRule) {
	seen := make(map[string]bool, len(fields))
	for _, f := range fields {
		key := prefix + f.Key
		if seen[f.Key] {
			p.Findings = append(p.Findings, Finding{Message: i, Key: key, Kind: DuplicateKey, Detail: "the key appears more than once"})
			continue
		}
		seen[f.Key] = true
		rule, ok := known[f.Key]
		if !ok {
			if name := foldMatch(f.Key, known); name != "" {
				p.Findings = append(p.Findings, Finding{Message: i, Key: key, Kind: FoldedKey, Detail: "the field is " + strconv.Quote(prefix+name)})
			} else {
				p.Findings = append(p.Findings, Finding{Message: i, Key: key, Kind: UnknownField, Detail: "not a Bayeux field"})
			}
			continue
		}
		if !accepts(rule, f.Value) {
			p.Findings = append(p.Findings, Finding{Message: i, Key: key, Kind: WrongType,
				Detail: "a JSON " + jsonType(f.Value) + " where " + ruleString(rule) + " belongs"})
		}
	}
}

func foldMatch(key string, known map[string]typeRule) string {
	for name := range known {
		if strings.EqualFold(name, key) {
			return name
		}
	}
	return ""
}

func accepts(rule typeRule, v []byte) bool {
	switch jsonType(v) {
	case "string":
		return rule&tString != 0
	case "number":
		return rule&tNumber != 0
	case "boolean":
		return rule&tBool != 0
	case "object":
		return rule&tObject != 0
	case "null":
		return rule&tNull != 0
	case "array":
		if rule&tArray != 0 {
			return true
		}
		if rule&tArrayOfStrings == 0 {
			return false
		}
		var ss []string
		return json.Unmarshal(v, &ss) == nil
	}
	return false
}

func ruleString(rule typeRule) string {
	var parts []string
	if rule&tString != 0 {
		parts = append(parts, "a string")
	}
	if rule&tNumber != 0 {
		parts = append(parts, "a number")
	}
	if rule&tBool != 0 {
		parts = append(parts, "a boolean")
	}
	if rule&tObject != 0 {
		parts = append(parts, "an object")
	}
	if rule&tArrayOfStrings != 0 {
		parts = append(parts, "an array of strings")
	}
	return strings.Join(parts, " or ")
}

// jsonType names the JSON type of a valid JSON value.
func jsonType(v []byte) string {
	if len(v) == 0 {
		return "nothing"
	}
	switch v[0] {
	case '"':
		return "string"
	case '{':
		return "object"
	case '[':
		return "array"
	case 't', 'f':
		return "boolean"
	case 'n':
		return "null"
	}
	return "number"
}
