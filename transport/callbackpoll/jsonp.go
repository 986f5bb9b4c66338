package callbackpoll

import (
	"bytes"
	"encoding/json"
	"strconv"

	"github.com/bayeux-go/sdk/bayeux"
)

// ParseResponse extracts the JSON array from a JSONP answer that calls
// callback, without evaluating anything. The accepted form is, with
// optional JSON whitespace between the parts:
//
//	[/**/] callback ( [ ... ] ) [;]
//
// The returned slice aliases body. Any other form returns a
// *bayeux.DecodeError whose Reason says what is wrong.
func ParseResponse(body []byte, callback string) ([]byte, error) {
	arg, err := callbackArgument(body, callback)
	if err != nil {
		return nil, err
	}
	if !json.Valid(arg) {
		return nil, jsonpError("the callback's argument is not exactly one JSON array (invalid JSON, or more code)", arg)
	}
	return arg, nil
}

// callbackArgument is ParseResponse without the final check that the
// argument is exactly one valid JSON value: the transport hands it to
// bayeux.DecodeMessages, which checks that while it decodes (and refuses
// anything after the array), so the body is scanned once, not twice.
func callbackArgument(body []byte, callback string) ([]byte, error) {
	b := body
	i := skipSpace(b, 0)
	if bytes.HasPrefix(b[i:], []byte("/**/")) {
		i = skipSpace(b, i+4)
	}
	if !bytes.HasPrefix(b[i:], []byte(callback)) || callback == "" {
		return nil, jsonpError("the answer does not call the expected callback "+strconv.Quote(callback), b[i:])
	}
	i = skipSpace(b, i+len(callback))
	if i >= len(b) || b[i] != '(' {
		return nil, jsonpError("the callback name is not followed by '('", b[i:])
	}
	i++
	j := len(b)
	j = trimSpaceEnd(b, j)
	if j > i && b[j-1] == ';' {
		j = trimSpaceEnd(b, j-1)
	}
	if j <= i || b[j-1] != ')' {
		return nil, jsonpError("the answer does not end with the callback's ')' and an optional ';'", tail(b[i:]))
	}
	arg := b[skipSpace(b[:j-1], i) : j-1]
	arg = arg[:trimSpaceEnd(arg, len(arg))]
	if len(arg) == 0 || arg[0] != '[' || arg[len(arg)-1] != ']' {
		return nil, jsonpError("the callback's argument is not a JSON array", arg)
	}
	return arg, nil
}

func jsonpError(reason string, at []byte) error {
	const max = 64
	in := at
	if len(in) > max {
		in = in[:max]
	}
	return &bayeux.DecodeError{Reason: "JSONP: " + reason, Input: string(in)}
}

func tail(b []byte) []byte {
	const max = 64
	if len(b) > max {
		return b[len(b)-max:]
	}
	return b
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func skipSpace(b []byte, i int) int {
	for i < len(b) && isSpace(b[i]) {
		i++
	}
	return i
}

func trimSpaceEnd(b []byte, j int) int {
	for j > 0 && isSpace(b[j-1]) {
		j--
	}
	return j
}
