package replay

import "github.com/bayeux-go/sdk/bayeux"

// replayID returns data.event.replayId. Salesforce's Platform Events and
// Change Data Capture events end with `"event":{"replayId":N}}`, after a
// payload of any size: that shape is read backwards from the end, in a
// few nanoseconds; any other goes through bayeux.RawInt. data is the data
// of a decoded message, so valid JSON: a suffix of that shape can then
// only be the last member of the top-level object (inside a string its
// quotes would be escaped).
func replayID(data []byte) (int64, bool) {
	if id, ok := replayIDSuffix(data); ok {
		return id, true
	}
	return bayeux.RawInt(data, "event", "replayId")
}

// replayIDSuffix matches `<'{' or ','> "event" : { "replayId" : N } }` at
// the end of data, with optional whitespace between the tokens.
func replayIDSuffix(b []byte) (int64, bool) {
	i := len(b)
	var ok bool
	if i, ok = backByte(b, i, '}'); !ok {
		return 0, false
	}
	if i, ok = backByte(b, i, '}'); !ok {
		return 0, false
	}
	i = backSpace(b, i)
	end := i
	for i > 0 && b[i-1] >= '0' && b[i-1] <= '9' {
		i--
	}
	digits := b[i:end]
	neg := i > 0 && b[i-1] == '-'
	if neg {
		i--
	}
	if len(digits) == 0 || len(digits) > 18 || (len(digits) > 1 && digits[0] == '0') {
		return 0, false
	}
	if i, ok = backByte(b, i, ':'); !ok {
		return 0, false
	}
	if i, ok = backWord(b, i, `"replayId"`); !ok {
		return 0, false
	}
	if i, ok = backByte(b, i, '{'); !ok {
		return 0, false
	}
	if i, ok = backByte(b, i, ':'); !ok {
		return 0, false
	}
	if i, ok = backWord(b, i, `"event"`); !ok {
		return 0, false
	}
	i = backSpace(b, i)
	if i == 0 || (b[i-1] != ',' && b[i-1] != '{') {
		return 0, false
	}
	var n int64
	for _, c := range digits {
		n = n*10 + int64(c-'0')
	}
	if neg {
		n = -n
	}
	return n, true
}

// backSpace returns the index before the JSON whitespace ending at i.
func backSpace(b []byte, i int) int {
	for i > 0 && (b[i-1] == ' ' || b[i-1] == '\t' || b[i-1] == '\n' || b[i-1] == '\r') {
		i--
	}
	return i
}

// backByte matches c, after whitespace, ending at i.
func backByte(b []byte, i int, c byte) (int, bool) {
	i = backSpace(b, i)
	if i == 0 || b[i-1] != c {
		return i, false
	}
	return i - 1, true
}

// backWord matches w, after whitespace, ending at i.
func backWord(b []byte, i int, w string) (int, bool) {
	i = backSpace(b, i)
	if i < len(w) || string(b[i-len(w):i]) != w {
		return i, false
	}
	return i - len(w), true
}
