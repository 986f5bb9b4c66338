package loadgen

import (
	"bytes"
	"encoding/json"
	"strconv"
	"time"
)

// payload returns the data of one message: its publication time in
// nanoseconds since the Unix epoch, its sequence number, and padding up
// to size bytes:
//
//	{"t":1764320000000000000,"s":42,"p":"xxxx"}
func payload(buf []byte, sent time.Time, seq int64, size int) json.RawMessage {
	buf = append(buf[:0], `{"t":`...)
	buf = strconv.AppendInt(buf, sent.UnixNano(), 10)
	buf = append(buf, `,"s":`...)
	buf = strconv.AppendInt(buf, seq, 10)
	buf = append(buf, `,"p":"`...)
	for len(buf) < size-2 {
		buf = append(buf, 'x')
	}
	buf = append(buf, `"}`...)
	return json.RawMessage(bytes.Clone(buf))
}

var timePrefix = []byte(`{"t":`)

// sentAt reads the publication time of a message made by payload. It
// reports false for data of another shape.
func sentAt(data []byte) (time.Time, bool) {
	data = bytes.TrimLeft(data, " \t\r\n")
	if !bytes.HasPrefix(data, timePrefix) {
		return time.Time{}, false
	}
	data = data[len(timePrefix):]
	var ns int64
	n := 0
	for ; n < len(data) && n < 19 && '0' <= data[n] && data[n] <= '9'; n++ {
		ns = ns*10 + int64(data[n]-'0')
	}
	if n == 0 || n < len(data) && data[n] >= '0' && data[n] <= '9' {
		return time.Time{}, false
	}
	return time.Unix(0, ns), true
}
