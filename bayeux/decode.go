package bayeux

// This file holds the fast decoder behind DecodeMessages and
// Message.UnmarshalJSON: a hand-written single-pass scanner over the
// payload. It decodes the fields of Message itself, keeps "data" (and the
// text of non-string ids) as sub-slices of the input after validating them,
// and interns channel names per payload, so that a typical event costs no
// allocation at all: a payload of n events costs one allocation for the
// []Message plus one per distinct channel.
//
// Its results are those of the encoding/json based reference implementation
// (decodeMessagesStd in codec_reference_test.go), which the differential fuzz test
// FuzzDecodeMessages checks, including encoding/json's quirks:
//
//   - leading and trailing Unicode white space of the payload is ignored
//     (bytes.TrimSpace), inside it only JSON white space is allowed;
//   - keys match field names exactly or, failing that, case-insensitively
//     (bytes.EqualFold), and the last of duplicate keys wins;
//   - null leaves string and bool fields unchanged and clears the others;
//   - invalid UTF-8 in decoded strings becomes U+FFFD, lone surrogates in
//     \u escapes too; "data" keeps its raw bytes;
//   - containers nest at most 10000 deep, counting the payload's array;
//   - "id" may be any JSON value: a string is decoded, anything else keeps
//     its JSON text; "subscription" is checked only in its last occurrence;
//   - advice numbers may be JSON numbers or strings holding one, and must
//     lie within ±2^31.
//
// Differences: error texts differ from the reference's (both return a
// *DecodeError), and Data aliases the input rather than being a copy.

import (
	"bytes"
	"encoding/json"
	"math/bits"
	"strconv"
	"sync/atomic"
	"unicode/utf16"
	"unicode/utf8"
)

// maxDecodeDepth is the deepest nesting of arrays and objects accepted, as
// in encoding/json; the payload's array counts as depth 1.
const maxDecodeDepth = 10000

// maxPooledMessages is a payload size (in messages) the tests use to
// check large payloads.
const maxPooledMessages = 1024

// decodeMessages is DecodeMessages.
func decodeMessages(body []byte) ([]Message, error) {
	b := bytes.TrimSpace(body)
	if len(b) == 0 {
		return nil, &DecodeError{Reason: "empty payload"}
	}
	d := decoder{b: b}
	switch b[0] {
	case '{':
		msgs := make([]Message, 1)
		if err := d.message(&msgs[0], 1); err != nil {
			return nil, err
		}
		if d.i != len(b) {
			return nil, d.syntaxError("after the message object")
		}
		return msgs, nil
	case '[':
		return d.messageArray()
	default:
		return nil, &DecodeError{Reason: "payload is neither a JSON array nor an object", Input: snippet(b, 0)}
	}
}

// decodeMessage is Message.UnmarshalJSON: b holds one message object,
// with optional JSON white space around it. Unlike DecodeMessages, the
// message does not alias b. m is left unchanged on error.
func decodeMessage(b []byte, m *Message) error {
	d := decoder{b: b}
	d.ws()
	if d.i >= len(b) {
		return &DecodeError{Reason: "empty message"}
	}
	if b[d.i] != '{' {
		return &DecodeError{Reason: "message is not a JSON object", Input: snippet(b, d.i)}
	}
	var tmp Message
	if err := d.message(&tmp, 1); err != nil {
		return err
	}
	d.ws()
	if d.i != len(b) {
		return d.syntaxError("after the message object")
	}
	// The json.Unmarshaler contract: b may be reused after the call (a
	// json.Decoder reuses its buffer), so Data must not alias it.
	if tmp.Data != nil {
		tmp.Data = bytes.Clone(tmp.Data)
	}
	*m = tmp
	return nil
}

// validJSON reports whether b is one valid JSON value with optional white
// space around it, as json.Valid does (nesting at most 10000 deep, UTF-8
// not checked), but several times faster. AppendMessage can use it to
// check Data.
func validJSON(b []byte) bool {
	d := decoder{b: b}
	d.ws()
	if d.i >= len(b) || d.skipValue(0) != nil {
		return false
	}
	d.ws()
	return d.i == len(b)
}

// decoder scans one payload. It lives on the caller's stack.
type decoder struct {
	b []byte
	i int
	// chans interns the channel names seen in this payload, so that the
	// events of one channel share a single string.
	chans [8]Channel
	nchan int
	// plainChan is the last channel decoded from a string without escapes
	// (see channel).
	plainChan Channel
}

// messageArray decodes the array at d.b[d.i] (d.b is trimmed, so the
// array must end the input).
func (d *decoder) messageArray() ([]Message, error) {
	d.i++ // '['
	d.ws()
	if d.i < len(d.b) && d.b[d.i] == ']' {
		d.i++
		if d.i != len(d.b) {
			return nil, d.syntaxError("after the top-level array")
		}
		return []Message{}, nil
	}
	// Decode straight into the result, sized from the previous payload's
	// bytes per message, so that a stream of similar batches costs one
	// allocation and no copy.
	s := make([]Message, 0, estimateMessages(len(d.b)))
	limit := payloadMessageLimit(len(d.b))
	for {
		if d.i >= len(d.b) {
			return nil, d.eofError()
		}
		if d.b[d.i] != '{' {
			return nil, d.elementError()
		}
		if len(s) == limit {
			return nil, &DecodeError{Reason: "payload of " + strconv.Itoa(len(d.b)) + " bytes holds more than " + strconv.Itoa(limit) + " messages", tooLarge: true}
		}
		if len(s) < cap(s) {
			// The spare capacity is zeroed memory that nothing wrote yet
			// (a failed message returns the error, not s): appending a
			// zero Message would write its 224 bytes again, with write
			// barriers while the GC runs.
			s = s[:len(s)+1]
		} else {
			s = append(s, Message{})
		}
		if err := d.message(&s[len(s)-1], 2); err != nil {
			return nil, err
		}
		d.ws()
		if d.i >= len(d.b) {
			return nil, d.eofError()
		}
		c := d.b[d.i]
		d.i++
		if c == ',' {
			d.ws()
			continue
		}
		if c == ']' {
			break
		}
		d.i--
		return nil, d.syntaxError("after an array element")
	}
	if d.i != len(d.b) {
		return nil, d.syntaxError("after the top-level array")
	}
	if len(s) > 0 {
		bytesPerMessage.Store(int64(len(d.b) / len(s)))
	}
	return s[:len(s):len(s)], nil
}

// bytesPerMessage is the average encoded size of a message in the last
// payload decoded, used to size the next result.
var bytesPerMessage atomic.Int64

// estimateMessages guesses how many messages a payload of n bytes holds,
// erring a little high (spare capacity is cheaper than growing), but only
// a little: spare capacity is allocated and cleared with every payload,
// and brings the next collection closer.
func estimateMessages(n int) int {
	per := int(bytesPerMessage.Load())
	if per < 64 {
		per = 64
	}
	est := n/per + n/per/32 + 2
	return min(est, n/16+1)
}

// elementError reports an array element that is not an object: a syntax
// error if it is not JSON at all, a type error otherwise.
func (d *decoder) elementError() error {
	start := d.i
	if err := d.skipValue(1); err != nil {
		return err
	}
	return &DecodeError{Reason: "array element is " + kindOf(d.b[start]) + ", not a message object", Input: snippet(d.b, start)}
}

// msgField identifies a Message field by its JSON key.
type msgField uint8

const (
	fUnknown msgField = iota
	fAdvice
	fID
	fChannel
	fClientID
	fData
	fVersion
	fMinimumVersion
	fSupportedConnectionTypes
	fConnectionType
	fTimestamp
	fSuccessful
	fAuthSuccessful
	fSubscription
	fError
	fExt
)

// msgFieldNames are the keys in msgField order, for case-insensitive
// matching.
var msgFieldNames = [...][]byte{
	fAdvice: []byte("advice"), fID: []byte("id"), fChannel: []byte("channel"),
	fClientID: []byte("clientId"), fData: []byte("data"), fVersion: []byte("version"),
	fMinimumVersion: []byte("minimumVersion"), fSupportedConnectionTypes: []byte("supportedConnectionTypes"),
	fConnectionType: []byte("connectionType"), fTimestamp: []byte("timestamp"),
	fSuccessful: []byte("successful"), fAuthSuccessful: []byte("authSuccessful"),
	fSubscription: []byte("subscription"), fError: []byte("error"), fExt: []byte("ext"),
}

// lookupMsgField returns the field that key names, as encoding/json
// matches them: exactly, else case-insensitively.
func lookupMsgField(key []byte) msgField {
	switch string(key) {
	case "channel":
		return fChannel
	case "data":
		return fData
	case "id":
		return fID
	case "clientId":
		return fClientID
	case "successful":
		return fSuccessful
	case "advice":
		return fAdvice
	case "subscription":
		return fSubscription
	case "error":
		return fError
	case "ext":
		return fExt
	case "version":
		return fVersion
	case "minimumVersion":
		return fMinimumVersion
	case "supportedConnectionTypes":
		return fSupportedConnectionTypes
	case "connectionType":
		return fConnectionType
	case "timestamp":
		return fTimestamp
	case "authSuccessful":
		return fAuthSuccessful
	}
	// encoding/json falls back to a case-insensitive match.
	for f := fAdvice; f <= fExt; f++ {
		if bytes.EqualFold(key, msgFieldNames[f]) {
			return f
		}
	}
	return fUnknown
}

// message decodes the object at d.b[d.i] == '{' into m, which must be the
// zero Message. depth is the nesting depth of the object itself.
func (d *decoder) message(m *Message, depth int) error {
	if depth > maxDecodeDepth {
		return d.depthError()
	}
	d.i++ // '{'
	hasChannel := false
	subAt := -1 // offset of the last non-null "subscription" value
	var kbuf [32]byte
	d.ws()
	if d.i < len(d.b) && d.b[d.i] == '}' {
		d.i++
		return &DecodeError{Reason: "message has no channel", Input: snippet(d.b, d.i-2)}
	}
	for {
		f, ok, err := d.fastKey()
		if !ok && err == nil {
			var key []byte
			key, err = d.key(kbuf[:0])
			f = lookupMsgField(key)
		}
		if err != nil {
			return err
		}
		c := d.b[d.i] // key ensures a value follows
		switch f {
		case fChannel:
			switch c {
			case '"':
				if m.Channel, err = d.channel(); err != nil {
					return err
				}
				hasChannel = true
			case 'n':
				err = d.null()
				m.Channel, hasChannel = "", false
			default:
				err = d.typeError("channel", "a string")
			}
		case fData:
			if c == 'n' {
				err = d.null()
				m.Data = nil
				break
			}
			start := d.i
			if err = d.skipValue(depth); err == nil {
				m.Data = d.b[start:d.i:d.i]
			}
		case fID:
			switch c {
			case '"':
				m.ID, err = d.str()
			case 'n':
				err = d.null()
				m.ID = ""
			default:
				// Some servers send numeric ids: keep the JSON text.
				start := d.i
				if err = d.skipValue(depth); err == nil {
					m.ID = string(d.b[start:d.i])
				}
			}
		case fClientID:
			err = d.stringField(&m.ClientID, "clientId")
		case fVersion:
			err = d.stringField(&m.Version, "version")
		case fMinimumVersion:
			err = d.stringField(&m.MinimumVersion, "minimumVersion")
		case fConnectionType:
			err = d.stringField(&m.ConnectionType, "connectionType")
		case fTimestamp:
			err = d.stringField(&m.Timestamp, "timestamp")
		case fError:
			err = d.stringField(&m.Error, "error")
		case fSuccessful:
			switch c {
			case 't', 'f':
				var v bool
				if v, err = d.boolean(); err == nil {
					m.SetSuccessful(v)
				}
			case 'n':
				err = d.null()
				m.Successful, m.successfulSet = false, false
			default:
				err = d.typeError("successful", "a boolean")
			}
		case fAuthSuccessful:
			switch c {
			case 't', 'f':
				m.AuthSuccessful, err = d.boolean()
			case 'n':
				err = d.null()
			default:
				err = d.typeError("authSuccessful", "a boolean")
			}
		case fSubscription:
			// Only the last occurrence is decoded (after the object), as
			// the reference keeps it raw.
			if c == 'n' {
				err = d.null()
				subAt = -1
				break
			}
			subAt = d.i
			err = d.skipValue(depth)
		case fAdvice:
			switch c {
			case '{':
				if m.Advice == nil {
					m.Advice = new(Advice)
				}
				err = d.advice(m.Advice, depth+1)
			case 'n':
				err = d.null()
				m.Advice = nil
			default:
				err = d.typeError("advice", "an object")
			}
		case fSupportedConnectionTypes:
			switch c {
			case '[':
				m.SupportedConnectionTypes, err = stringArray(d, m.SupportedConnectionTypes, depth+1, "supportedConnectionTypes")
			case 'n':
				err = d.null()
				m.SupportedConnectionTypes = nil
			default:
				err = d.typeError("supportedConnectionTypes", "an array of strings")
			}
		case fExt:
			switch c {
			case '{':
				// Rare: let encoding/json build the map (into the existing
				// one for a duplicate key, as the reference does).
				start := d.i
				if err = d.skipValue(depth); err == nil {
					if uerr := json.Unmarshal(d.b[start:d.i], &m.Ext); uerr != nil {
						err = &DecodeError{Reason: "ext: " + uerr.Error(), Input: snippet(d.b, start)}
					}
				}
			case 'n':
				err = d.null()
				m.Ext = nil
			default:
				err = d.typeError("ext", "an object")
			}
		default:
			err = d.skipValue(depth)
		}
		if err != nil {
			return err
		}
		end, err := d.nextMember()
		if err != nil {
			return err
		}
		if end {
			break
		}
	}
	if !hasChannel {
		return &DecodeError{Reason: "message has no channel", Input: snippet(d.b, d.i-1)}
	}
	if subAt >= 0 {
		end := d.i
		d.i = subAt
		var err error
		switch d.b[subAt] {
		case '"':
			var s Channel
			if s, err = d.channel(); err == nil {
				m.Subscription = []Channel{s}
			}
		case '[':
			// Like the reference, a fresh slice.
			if m.Subscription, err = stringArray[Channel](d, nil, depth+1, "subscription"); err == nil {
				m.subscriptionArray = true
			}
		default:
			err = d.typeError("subscription", "a string or an array of strings")
		}
		d.i = end
		if err != nil {
			return err
		}
	}
	return nil
}

// key scans an object key at d.b[d.i] and the ':' after it, and leaves d.i
// at the start of the value. The key is returned unescaped (into buf if it
// has escapes).
func (d *decoder) key(buf []byte) ([]byte, error) {
	if d.i >= len(d.b) {
		return nil, d.eofError()
	}
	if d.b[d.i] != '"' {
		return nil, d.syntaxError("looking for an object key")
	}
	start, end, verbatim, err := d.scanString()
	if err != nil {
		return nil, err
	}
	key := d.b[start:end]
	if !verbatim {
		key = unquote(buf, key)
	}
	return key, d.colon()
}

// colon consumes the ':' after an object key, with the white space around
// it, and checks that a value follows.
func (d *decoder) colon() error {
	// Compact JSON: the ':' and then the value.
	if i := d.i; i+1 < len(d.b) && d.b[i] == ':' && d.b[i+1] > ' ' {
		d.i = i + 1
		return nil
	}
	d.ws()
	if d.i >= len(d.b) {
		return d.eofError()
	}
	if d.b[d.i] != ':' {
		return d.syntaxError("after an object key")
	}
	d.i++
	d.ws()
	if d.i >= len(d.b) {
		return d.eofError()
	}
	return nil
}

// The keys of every event, as little-endian words: `"channel` (then '"')
// and `"data"` (six bytes).
const (
	wordChannelKey = uint64('"') | uint64('c')<<8 | uint64('h')<<16 | uint64('a')<<24 |
		uint64('n')<<32 | uint64('n')<<40 | uint64('e')<<48 | uint64('l')<<56
	wordDataKey = uint64('"') | uint64('d')<<8 | uint64('a')<<16 | uint64('t')<<24 |
		uint64('a')<<32 | uint64('"')<<40
)

// fastKey recognizes the keys "channel" and "data", written plainly, at
// d.b[d.i] with one comparison each, and consumes them and the ':' after
// them as key does. ok is false (and nothing consumed) for any other key.
func (d *decoder) fastKey() (f msgField, ok bool, err error) {
	if d.i+9 > len(d.b) {
		return fUnknown, false, nil
	}
	switch x := load64(d.b, d.i); {
	case x == wordChannelKey && d.b[d.i+8] == '"':
		f, d.i = fChannel, d.i+9
	case x&(1<<48-1) == wordDataKey:
		f, d.i = fData, d.i+6
	default:
		return fUnknown, false, nil
	}
	return f, true, d.colon()
}

// stringField decodes a string-or-null field; null leaves *dst unchanged,
// as encoding/json does.
func (d *decoder) stringField(dst *string, name string) error {
	switch d.b[d.i] {
	case '"':
		s, err := d.str()
		if err == nil {
			*dst = s
		}
		return err
	case 'n':
		return d.null()
	}
	return d.typeError(name, "a string")
}

// str decodes the string at d.b[d.i] == '"'.
func (d *decoder) str() (string, error) {
	start, end, verbatim, err := d.scanString()
	if err != nil {
		return "", err
	}
	if verbatim {
		return string(d.b[start:end]), nil
	}
	var buf [64]byte
	return string(unquote(buf[:0], d.b[start:end])), nil
}

// channel decodes the string at d.b[d.i] == '"' as a Channel, interned:
// without allocation for a channel already seen in this payload or a
// /meta/ channel.
func (d *decoder) channel() (Channel, error) {
	// Most events of a payload are on the channel of the one before: a
	// string whose bytes are those of that channel, which was written
	// plainly (no escape, no control character, valid UTF-8), is that
	// channel and needs no scan.
	if c := d.plainChan; c != "" {
		j := d.i + 1
		if e := j + len(c); e < len(d.b) && d.b[e] == '"' && string(d.b[j:e]) == string(c) {
			d.i = e + 1
			return c, nil
		}
	}
	start, end, verbatim, err := d.scanString()
	if err != nil {
		return "", err
	}
	c, err := d.internChannel(d.b[start:end], verbatim)
	if err == nil && verbatim {
		d.plainChan = c
	}
	return c, err
}

// internChannel returns the channel named by the content s of a JSON
// string (verbatim: s is its value).
func (d *decoder) internChannel(s []byte, verbatim bool) (Channel, error) {
	var buf [64]byte
	if !verbatim {
		s = unquote(buf[:0], s)
	}
	for i := 0; i < d.nchan; i++ {
		if string(d.chans[i]) == string(s) {
			return d.chans[i], nil
		}
	}
	var c Channel
	switch string(s) {
	case string(MetaConnect):
		c = MetaConnect
	case string(MetaHandshake):
		c = MetaHandshake
	case string(MetaSubscribe):
		c = MetaSubscribe
	case string(MetaUnsubscribe):
		c = MetaUnsubscribe
	case string(MetaDisconnect):
		c = MetaDisconnect
	default:
		c = Channel(s)
	}
	if d.nchan < len(d.chans) {
		d.chans[d.nchan] = c
		d.nchan++
	} else {
		// Keep the first entries (the payload's dominant channels are
		// usually seen first) and rotate the last slot.
		d.chans[len(d.chans)-1] = c
	}
	return c, nil
}

// boolean decodes true or false at d.b[d.i].
func (d *decoder) boolean() (bool, error) {
	if d.b[d.i] == 't' {
		return true, d.literal("true")
	}
	return false, d.literal("false")
}

// null consumes the null literal at d.b[d.i].
func (d *decoder) null() error { return d.literal("null") }

func (d *decoder) literal(lit string) error {
	if len(d.b)-d.i >= len(lit) && string(d.b[d.i:d.i+len(lit)]) == lit {
		d.i += len(lit)
		return nil
	}
	return d.literalError(d.i, lit)
}

// literalError reports a malformed literal at b[i], where lit was expected.
func (d *decoder) literalError(i int, lit string) error {
	j := 0
	for j < len(lit) && i+j < len(d.b) && d.b[i+j] == lit[j] {
		j++
	}
	if i+j >= len(d.b) {
		return d.eofError()
	}
	return d.syntaxErrorAt(i+j, "in literal "+lit)
}

// stringArray decodes the array of strings (or nulls) at d.b[d.i] == '['.
// depth is the depth of the array itself. Like encoding/json, it reuses
// old's backing array and leaves an element unchanged for null; an empty
// array gives a non-nil empty slice.
func stringArray[S ~string](d *decoder, old []S, depth int, name string) ([]S, error) {
	if depth > maxDecodeDepth {
		return nil, d.depthError()
	}
	d.i++ // '['
	d.ws()
	if d.i < len(d.b) && d.b[d.i] == ']' {
		d.i++
		return []S{}, nil
	}
	s := old[:0]
	for {
		if d.i >= len(d.b) {
			return nil, d.eofError()
		}
		n := len(s)
		if n < cap(s) {
			s = s[:n+1]
		} else {
			s = append(s, "")
		}
		switch d.b[d.i] {
		case '"':
			v, err := d.str()
			if err != nil {
				return nil, err
			}
			s[n] = S(v)
		case 'n':
			if err := d.null(); err != nil {
				return nil, err
			}
		default:
			return nil, d.typeError(name+" element", "a string")
		}
		d.ws()
		if d.i >= len(d.b) {
			return nil, d.eofError()
		}
		c := d.b[d.i]
		d.i++
		if c == ',' {
			d.ws()
			continue
		}
		if c == ']' {
			return s, nil
		}
		d.i--
		return nil, d.syntaxError("after an array element")
	}
}

// adviceKey identifies an Advice field by its JSON key.
type adviceKey uint8

const (
	aUnknown adviceKey = iota
	aReconnect
	aTimeout
	aInterval
	aMaxInterval
	aMultipleClients
	aHosts
)

// adviceKeyNames are the keys in adviceKey order.
var adviceKeyNames = [...][]byte{
	aReconnect: []byte("reconnect"), aTimeout: []byte("timeout"), aInterval: []byte("interval"),
	aMaxInterval: []byte("maxInterval"), aMultipleClients: []byte("multiple-clients"), aHosts: []byte("hosts"),
}

// lookupAdviceKey is lookupMsgField for the keys of an advice object.
func lookupAdviceKey(key []byte) adviceKey {
	switch string(key) {
	case "reconnect":
		return aReconnect
	case "timeout":
		return aTimeout
	case "interval":
		return aInterval
	case "maxInterval":
		return aMaxInterval
	case "multiple-clients":
		return aMultipleClients
	case "hosts":
		return aHosts
	}
	for k := aReconnect; k <= aHosts; k++ {
		if bytes.EqualFold(key, adviceKeyNames[k]) {
			return k
		}
	}
	return aUnknown
}

// advice decodes the advice object at d.b[d.i] == '{' into a, with the
// semantics of Advice.UnmarshalJSON. depth is the depth of the object.
func (d *decoder) advice(a *Advice, depth int) error {
	if depth > maxDecodeDepth {
		return d.depthError()
	}
	d.i++ // '{'
	*a = Advice{}
	// The text of the last timeout, interval and maxInterval: checked
	// after the object, as Advice.UnmarshalJSON does.
	var nums [3][]byte
	var kbuf [32]byte
	d.ws()
	if d.i < len(d.b) && d.b[d.i] == '}' {
		d.i++
		return nil
	}
	for {
		key, err := d.key(kbuf[:0])
		if err != nil {
			return err
		}
		k := lookupAdviceKey(key)
		c := d.b[d.i]
		switch k {
		case aReconnect:
			switch c {
			case '"':
				a.Reconnect, err = d.reconnect()
			case 'n':
				err = d.null()
				a.Reconnect = ""
			default:
				err = d.typeError("advice reconnect", "a string")
			}
		case aTimeout, aInterval, aMaxInterval:
			slot := &nums[k-aTimeout]
			switch {
			case c == '-' || (c >= '0' && c <= '9'):
				start := d.i
				if err = d.skipValue(depth); err == nil {
					*slot = d.b[start:d.i]
				}
			case c == '"':
				// encoding/json accepts a string holding a number for a
				// json.Number.
				var s string
				if s, err = d.str(); err == nil {
					if !validNumber([]byte(s)) {
						err = &DecodeError{Reason: "advice " + string(adviceKeyNames[k]) + ": string is not a number", Input: s}
					} else {
						*slot = []byte(s)
					}
				}
			case c == 'n':
				err = d.null()
				*slot = nil
			default:
				err = d.typeError("advice "+string(adviceKeyNames[k]), "a number")
			}
		case aMultipleClients:
			switch c {
			case 't', 'f':
				a.MultipleClients, err = d.boolean()
			case 'n':
				err = d.null()
				a.MultipleClients = false
			default:
				err = d.typeError("advice multiple-clients", "a boolean")
			}
		case aHosts:
			switch c {
			case '[':
				a.Hosts, err = stringArray(d, a.Hosts, depth+1, "advice hosts")
			case 'n':
				err = d.null()
				a.Hosts = nil
			default:
				err = d.typeError("advice hosts", "an array of strings")
			}
		default:
			err = d.skipValue(depth)
		}
		if err != nil {
			return err
		}
		end, err := d.nextMember()
		if err != nil {
			return err
		}
		if end {
			break
		}
	}
	setters := [3]func(*Advice, int){(*Advice).SetTimeout, (*Advice).SetInterval, (*Advice).SetMaxInterval}
	for i, text := range nums {
		if text == nil {
			continue
		}
		v, ok := adviceNumber(text)
		if !ok {
			return &DecodeError{Reason: "advice: number out of range", Input: string(text)}
		}
		setters[i](a, v)
	}
	return nil
}

// adviceNumber converts a valid JSON number to milliseconds as
// Advice.UnmarshalJSON does: through float64, truncated, within ±2^31.
func adviceNumber(text []byte) (int, bool) {
	// Fast path: a short integer, exact in a float64.
	if n := len(text); n > 0 && n <= 12 {
		neg := text[0] == '-'
		j := 0
		if neg {
			j = 1
		}
		v := int64(0)
		for ; j < n; j++ {
			c := text[j]
			if c < '0' || c > '9' {
				break
			}
			v = v*10 + int64(c-'0')
		}
		if j == n {
			if neg {
				v = -v
			}
			if v > 1<<31 || v < -(1<<31) {
				return 0, false
			}
			return int(v), true
		}
	}
	f, err := strconv.ParseFloat(string(text), 64)
	if err != nil || f > 1<<31 || f < -(1<<31) {
		return 0, false
	}
	return int(f), true
}

// reconnect decodes a reconnect advice string, without allocation for the
// three values the specification defines.
func (d *decoder) reconnect() (string, error) {
	start, end, verbatim, err := d.scanString()
	if err != nil {
		return "", err
	}
	s := d.b[start:end]
	var buf [32]byte
	if !verbatim {
		s = unquote(buf[:0], s)
	}
	switch string(s) {
	case ReconnectRetry:
		return ReconnectRetry, nil
	case ReconnectHandshake:
		return ReconnectHandshake, nil
	case ReconnectNone:
		return ReconnectNone, nil
	}
	return string(s), nil
}

// ws skips JSON white space.
func (d *decoder) ws() { d.i = skipSpace(d.b, d.i) }

// strPlain marks the bytes that a JSON string holds as they are: all but
// '"', '\\' and control characters.
var strPlain = func() (t [256]bool) {
	for c := 0x20; c < 256; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// escSimple marks the bytes that follow '\\' in a two-byte escape.
var escSimple = [256]bool{'"': true, '\\': true, '/': true, 'b': true, 'f': true, 'n': true, 'r': true, 't': true}

// hexVal maps hex digits to their value and other bytes to 0xff.
var hexVal = func() (t [256]byte) {
	for i := range t {
		t[i] = 0xff
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = byte(c - '0')
	}
	for c := 'a'; c <= 'f'; c++ {
		t[c] = byte(c - 'a' + 10)
		t[c-'a'+'A'] = byte(c - 'a' + 10)
	}
	return t
}()

// scanString validates the JSON string at d.b[d.i] == '"' and moves past
// it. It returns the bounds of its content, and whether the content is
// its own value (no escapes, valid UTF-8).
func (d *decoder) scanString() (start, end int, verbatim bool, err error) {
	b := d.b
	start = d.i + 1
	i := start
	escaped := false
	var high uint64 // ORs the string's bytes: its high bits flag non-ASCII
	for {
		for i+8 <= len(b) {
			x := load64(b, i)
			if m := swarSpecial(x); m != 0 {
				n := bits.TrailingZeros64(m) >> 3
				high |= x & (1<<(8*n) - 1)
				i += n
				goto special
			}
			high |= x
			i += 8
		}
		for i < len(b) && strPlain[b[i]] {
			high |= uint64(b[i])
			i++
		}
		if i >= len(b) {
			d.i = i
			return 0, 0, false, d.eofError()
		}
	special:
		switch b[i] {
		case '"':
			d.i = i + 1
			return start, i, !escaped && (high&swarHi == 0 || utf8.Valid(b[start:i])), nil
		case '\\':
			n, ok := escapeLen(b, i)
			if !ok {
				d.i = i
				return 0, 0, false, d.escapeError(i)
			}
			escaped = true
			i += n
		default:
			d.i = i
			return 0, 0, false, d.syntaxErrorAt(i, "control character in string")
		}
	}
}

// escapeLen validates the escape at b[i] == '\\' and returns its length.
func escapeLen(b []byte, i int) (int, bool) {
	if i+1 >= len(b) {
		return 0, false
	}
	switch b[i+1] {
	case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
		return 2, true
	case 'u':
		if i+5 < len(b) && hexVal[b[i+2]] != 0xff && hexVal[b[i+3]] != 0xff && hexVal[b[i+4]] != 0xff && hexVal[b[i+5]] != 0xff {
			return 6, true
		}
	}
	return 0, false
}

// SWAR (SIMD within a register) constants: strings are scanned eight or
// sixteen bytes at a time.
const (
	swarLo = 0x0101010101010101
	swarHi = 0x8080808080808080
)

// load64 returns the eight bytes at b[i:] as a little-endian word (one
// load once inlined).
func load64(b []byte, i int) uint64 {
	b = b[i : i+8]
	return uint64(b[0]) | uint64(b[1])<<8 | uint64(b[2])<<16 | uint64(b[3])<<24 |
		uint64(b[4])<<32 | uint64(b[5])<<40 | uint64(b[6])<<48 | uint64(b[7])<<56
}

// swarSpecial returns a mask whose lowest set bit (if any) is the high bit
// of the first byte of x (in memory order) that is '"', '\\' or a control
// character. Bits above the lowest one may be spurious (borrows), which is
// why only the lowest one is used.
//
// Flipping bit 1 maps '"' (0x22) to 0x20 and the control characters onto
// themselves, and no other byte below 0x21: one comparison finds both.
//
// Neither xor changes the high bit of a byte, so the "&^ q" and "&^ s" of
// the textbook zero-byte test are one mask of x's clear high bits, which
// does not wait for the subtractions: four operations deep, not five.
func swarSpecial(x uint64) uint64 {
	q := x ^ (0x02 * swarLo)
	s := x ^ ('\\' * swarLo)
	return ((q - 0x21*swarLo) | (s - swarLo)) & (swarHi &^ x)
}

// escapeError reports an invalid escape at b[i] == '\\', or the end of the
// input in the middle of a valid one.
func (d *decoder) escapeError(i int) error {
	rest := d.b[i:]
	truncated := len(rest) == 1 || (rest[1] == 'u' && len(rest) < 6)
	for j := 2; truncated && j < len(rest); j++ {
		truncated = hexVal[rest[j]] != 0xff
	}
	if truncated {
		return d.eofError()
	}
	return d.syntaxErrorAt(i, "invalid escape in string")
}

// getu4 decodes the four hex digits after "\u" at s[0:6], or returns -1.
func getu4(s []byte) rune {
	if len(s) < 6 || s[0] != '\\' || s[1] != 'u' {
		return -1
	}
	var r rune
	for _, c := range s[2:6] {
		v := hexVal[c]
		if v == 0xff {
			return -1
		}
		r = r<<4 | rune(v)
	}
	return r
}

// unquote appends the value of the validated JSON string content s to dst,
// as encoding/json decodes it: invalid UTF-8 and lone surrogates become
// U+FFFD.
func unquote(dst, s []byte) []byte {
	for r := 0; r < len(s); {
		c := s[r]
		switch {
		case c == '\\':
			if r+1 >= len(s) {
				return dst // cannot happen on validated input
			}
			switch s[r+1] {
			case 'b':
				dst = append(dst, '\b')
			case 'f':
				dst = append(dst, '\f')
			case 'n':
				dst = append(dst, '\n')
			case 'r':
				dst = append(dst, '\r')
			case 't':
				dst = append(dst, '\t')
			case 'u':
				rr := getu4(s[r:])
				if rr < 0 {
					return dst // cannot happen on validated input
				}
				r += 6
				if utf16.IsSurrogate(rr) {
					if dec := utf16.DecodeRune(rr, getu4(s[r:])); dec != utf8.RuneError {
						dst = utf8.AppendRune(dst, dec)
						r += 6
						continue
					}
					rr = utf8.RuneError
				}
				dst = utf8.AppendRune(dst, rr)
				continue
			default: // '"', '\\', '/'
				dst = append(dst, s[r+1])
			}
			r += 2
		case c < utf8.RuneSelf:
			// Copy the run of plain ASCII at once.
			j := r + 1
			for j < len(s) && s[j] < utf8.RuneSelf && s[j] != '\\' {
				j++
			}
			dst = append(dst, s[r:j]...)
			r = j
		default:
			rr, size := utf8.DecodeRune(s[r:])
			if rr == utf8.RuneError && size == 1 {
				dst = append(dst, "\uFFFD"...)
			} else {
				dst = append(dst, s[r:r+size]...)
			}
			r += size
		}
	}
	return dst
}

// kindStack records, for each open container of skipValue, whether it is
// an object (1) or an array (0): bit l-1 of bits for level l <= 64, then
// deep (only for hostile nesting).
type kindStack struct {
	bits  uint64
	deep  []uint64
	level int
}

// pushDeep records the kind of the container at s.level, beyond the 64th
// level (levels up to 64 are kept in s.bits by skipValue itself).
func (s *kindStack) pushDeep(obj bool) {
	var bit uint64
	if obj {
		bit = 1
	}
	l := s.level - 65
	for l>>6 >= len(s.deep) {
		s.deep = append(s.deep, 0)
	}
	sh := uint(l & 63)
	s.deep[l>>6] = s.deep[l>>6]&^(1<<sh) | bit<<sh
}

func (s *kindStack) topIsObject() bool {
	if s.level <= 64 {
		return s.bits>>uint(s.level-1)&1 == 1
	}
	l := s.level - 65
	return s.deep[l>>6]>>uint(l&63)&1 == 1
}

// isSpace reports whether c is JSON white space.
func isSpace(c byte) bool { return c <= ' ' && (c == ' ' || c == '\n' || c == '\r' || c == '\t') }

// skipValue validates the JSON value at d.b[d.i] and moves past it. depth
// is the nesting depth of the container holding the value.
//
// It is the hot loop of the decoder (it validates every event's data), so
// strings, keys included, are scanned inline, eight bytes at a time.
func (d *decoder) skipValue(depth int) error {
	b, i := d.b, d.i
	var st kindStack
	key := false // whether the string at i is an object key
	for {
		// A value (or a key) starts at i.
		if i >= len(b) {
			return d.eofError()
		}
		c := b[i]
		if c == '"' {
			i++
			for {
				// Eight bytes at a time: most strings of an event (keys,
				// short values) end within the first word, so it pays to
				// test each word as soon as it is loaded.
				for i+8 <= len(b) {
					if m := swarSpecial(load64(b, i)); m != 0 {
						i += bits.TrailingZeros64(m) >> 3
						goto special
					}
					i += 8
				}
				for i < len(b) && strPlain[b[i]] {
					i++
				}
				if i >= len(b) {
					return d.eofError()
				}
			special:
				if b[i] == '"' {
					i++
					break
				}
				if b[i] != '\\' {
					return d.syntaxErrorAt(i, "control character in string")
				}
				if i+1 < len(b) && escSimple[b[i+1]] {
					i += 2
					continue
				}
				n, ok := escapeLen(b, i)
				if !ok {
					return d.escapeError(i)
				}
				i += n
			}
			if key {
				if i < len(b) && b[i] == ':' {
					i++
				} else {
					i = skipSpace(b, i)
					if i >= len(b) {
						return d.eofError()
					}
					if b[i] != ':' {
						return d.syntaxErrorAt(i, "after object key")
					}
					i++
				}
				if i < len(b) && b[i] <= ' ' {
					i = skipSpace(b, i)
				}
				key = false
				continue
			}
		} else if key {
			return d.syntaxErrorAt(i, "looking for beginning of object key string")
		} else {
			switch {
			case c == '{' || c == '[':
				if depth+st.level >= maxDecodeDepth {
					d.i = i
					return d.depthError()
				}
				// Push the container's kind.
				st.level++
				if sh := uint(st.level-1) & 63; st.level <= 64 {
					st.bits &^= 1 << sh
					if c == '{' {
						st.bits |= 1 << sh
					}
				} else {
					st.pushDeep(c == '{')
				}
				i++
				if i < len(b) && b[i] <= ' ' {
					i = skipSpace(b, i)
				}
				if i < len(b) && b[i] == c+2 { // '}' or ']': empty
					i++
					st.level--
					break
				}
				key = c == '{'
				continue
			case c >= '1' && c <= '9':
				// An integer (most numbers of an event) is its digits;
				// a fraction or an exponent takes the general path.
				j := i + 1
				for j < len(b) && b[j]-'0' < 10 {
					j++
				}
				if j < len(b) && (b[j] == '.' || b[j]|0x20 == 'e') {
					n := numberLen(b[i:])
					if n == 0 {
						return d.syntaxErrorAt(i, "in numeric literal")
					}
					j = i + n
				}
				i = j
			case c == '0' || c == '-':
				n := numberLen(b[i:])
				if n == 0 {
					return d.syntaxErrorAt(i, "in numeric literal")
				}
				i += n
			case c == 't':
				if len(b)-i < 4 || string(b[i:i+4]) != "true" {
					return d.literalError(i, "true")
				}
				i += 4
			case c == 'f':
				if len(b)-i < 5 || string(b[i:i+5]) != "false" {
					return d.literalError(i, "false")
				}
				i += 5
			case c == 'n':
				if len(b)-i < 4 || string(b[i:i+4]) != "null" {
					return d.literalError(i, "null")
				}
				i += 4
			default:
				return d.syntaxErrorAt(i, "looking for beginning of value")
			}
		}
		// A value ended at i: close containers until one continues.
		for {
			if st.level == 0 {
				d.i = i
				return nil
			}
			if i < len(b) && b[i] <= ' ' {
				i = skipSpace(b, i)
			}
			if i >= len(b) {
				return d.eofError()
			}
			obj := st.topIsObject()
			c := b[i]
			if c == ',' {
				i++
				if i < len(b) && b[i] <= ' ' {
					i = skipSpace(b, i)
				}
				key = obj
				break
			}
			if c == '}' && obj || c == ']' && !obj {
				i++
				st.level--
				continue
			}
			if obj {
				return d.syntaxErrorAt(i, "after object key:value pair")
			}
			return d.syntaxErrorAt(i, "after array element")
		}
	}
}

// skipSpace returns the offset of the first byte at or after i that is not
// JSON white space.
func skipSpace(b []byte, i int) int {
	for i < len(b) && isSpace(b[i]) {
		i++
	}
	return i
}

// numberLen returns the length of the JSON number at the start of b, or 0
// if b does not start with one. A number must be followed by a delimiter,
// which the caller checks.
func numberLen(b []byte) int {
	i := 0
	if i < len(b) && b[i] == '-' {
		i++
	}
	if i >= len(b) {
		return 0
	}
	switch c := b[i]; {
	case c == '0':
		i++
	case c >= '1' && c <= '9':
		i++
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	default:
		return 0
	}
	if i < len(b) && b[i] == '.' {
		i++
		if i >= len(b) || b[i] < '0' || b[i] > '9' {
			return 0
		}
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i >= len(b) || b[i] < '0' || b[i] > '9' {
			return 0
		}
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	}
	return i
}

// validNumber reports whether s is exactly one JSON number.
func validNumber(s []byte) bool {
	n := numberLen(s)
	return n > 0 && n == len(s)
}

// kindOf names the kind of JSON value that starts with c.
func kindOf(c byte) string {
	switch c {
	case '"':
		return "a string"
	case '{':
		return "an object"
	case '[':
		return "an array"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	return "a number"
}

// typeError reports a field whose value at d.b[d.i] has the wrong type (or
// is no JSON value at all).
func (d *decoder) typeError(field, want string) error {
	c := d.b[d.i]
	switch {
	case c == '"' || c == '{' || c == '[' || c == 't' || c == 'f' || c == 'n' || c == '-' || (c >= '0' && c <= '9'):
		return &DecodeError{Reason: field + ": expected " + want + ", got " + kindOf(c), Input: snippet(d.b, d.i)}
	}
	return d.invalidValue()
}

// invalidValue reports a malformed literal at d.b[d.i].
func (d *decoder) invalidValue() error {
	return d.syntaxError("looking for beginning of value")
}

func (d *decoder) syntaxError(context string) error { return d.syntaxErrorAt(d.i, context) }

func (d *decoder) syntaxErrorAt(i int, context string) error {
	if i >= len(d.b) {
		return d.eofError()
	}
	reason := "invalid character " + strconv.QuoteRune(rune(d.b[i]))
	if d.b[i] >= utf8.RuneSelf {
		reason = "invalid byte " + strconv.Quote(string(d.b[i:i+1]))
	}
	if context != "" {
		reason += " " + context
	}
	return &DecodeError{Reason: reason + " at offset " + strconv.Itoa(i), Input: snippet(d.b, i)}
}

func (d *decoder) eofError() error {
	return &DecodeError{Reason: "unexpected end of JSON input", Input: snippet(d.b, len(d.b)-32)}
}

func (d *decoder) depthError() error {
	return &DecodeError{Reason: "exceeded max nesting depth of " + strconv.Itoa(maxDecodeDepth), Input: snippet(d.b, d.i)}
}

// snippet returns up to 64 bytes of b from offset i, for DecodeError.Input.
func snippet(b []byte, i int) string {
	const max = 64
	if i < 0 {
		i = 0
	}
	if i > len(b) {
		i = len(b)
	}
	b = b[i:]
	if len(b) > max {
		return string(b[:max]) + "..."
	}
	return string(b)
}

// nextMember consumes what follows an object member: "," (another member
// follows) or "}" (the object ends, reported by end).
func (d *decoder) nextMember() (end bool, err error) {
	if i := d.i; i+1 < len(d.b) && d.b[i+1] > ' ' {
		// Compact JSON: a ',' and the next key, or the '}'.
		switch d.b[i] {
		case ',':
			d.i = i + 1
			return false, nil
		case '}':
			d.i = i + 1
			return true, nil
		}
	}
	d.ws()
	if d.i >= len(d.b) {
		return false, d.eofError()
	}
	c := d.b[d.i]
	d.i++
	switch c {
	case ',':
		d.ws()
		return false, nil
	case '}':
		return true, nil
	}
	d.i--
	return false, d.syntaxError("after an object value")
}
