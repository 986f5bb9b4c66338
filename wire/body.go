package wire

import (
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/bayeux-go/sdk/bayeux"
)

// errShortBody is returned when a body ends before its Content-Length.
var errShortBody = errors.New("response body shorter than its Content-Length")

// ReadBody reads a whole response body into one buffer and returns it. When
// contentLength is known (>= 0) the buffer is allocated once with exactly
// that size; otherwise it grows geometrically. A body longer than max bytes
// gives an error matching bayeux.ErrTooLarge, and nothing beyond max+1
// bytes is read. The returned slice is owned by the caller (decoded
// messages alias it).
func ReadBody(r io.Reader, contentLength, max int64) ([]byte, error) {
	return ReadBodySized(r, contentLength, max, 0)
}

// minBodyBuffer is the first buffer for a body of unknown length when
// there is no size hint.
const minBodyBuffer = 16 << 10

// ReadBodySized is ReadBody with a hint for a body of unknown length (a
// chunked reply): the size of the last similar body, or 0 for none. The
// buffer starts a little above the hint, so that a body of about the same
// size is read into one allocation without growing and copying (a stream
// of replies of 500 events would otherwise grow from 16 KiB by doubling,
// allocating and copying twice the body). A larger body still grows
// geometrically from there.
func ReadBodySized(r io.Reader, contentLength, max int64, hint int) ([]byte, error) {
	if contentLength > max {
		return nil, tooLarge(max, "Content-Length "+strconv.FormatInt(contentLength, 10))
	}
	if contentLength >= 0 {
		buf := make([]byte, contentLength)
		if _, err := io.ReadFull(r, buf); err != nil {
			if err == io.ErrUnexpectedEOF || err == io.EOF {
				return nil, errShortBody
			}
			return nil, err
		}
		return buf, nil
	}
	size := int64(minBodyBuffer)
	if h := int64(hint); h > 0 {
		// Room for the end of the body to be seen without growing: the
		// read that reports io.EOF needs spare capacity.
		size = h + h/8 + 512
	}
	if size > max+1 {
		size = max + 1
	}
	buf := make([]byte, 0, size)
	for {
		if len(buf) == cap(buf) {
			if int64(len(buf)) > max {
				return nil, tooLarge(max, "")
			}
			next := 2 * int64(cap(buf))
			if next > max+1 {
				next = max + 1
			}
			nb := make([]byte, len(buf), next)
			copy(nb, buf)
			buf = nb
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if int64(len(buf)) > max {
			return nil, tooLarge(max, "")
		}
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

func tooLarge(max int64, what string) error {
	if what == "" {
		what = "body"
	}
	return fmt.Errorf("response %s exceeds the limit of %d bytes: %w", what, max, bayeux.ErrTooLarge)
}
