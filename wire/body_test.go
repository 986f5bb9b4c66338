package wire

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/bayeux-go/sdk/bayeux"
)

func TestReadBody(t *testing.T) {
	data := bytes.Repeat([]byte("0123456789"), 5000) // 50,000 bytes
	tests := []struct {
		name    string
		r       io.Reader
		cl, max int64
		want    []byte
		tooBig  bool
		err     bool
	}{
		{"known", bytes.NewReader(data), int64(len(data)), 1 << 20, data, false, false},
		{"known at limit", bytes.NewReader(data), int64(len(data)), int64(len(data)), data, false, false},
		{"known over", bytes.NewReader(data), int64(len(data)), int64(len(data)) - 1, nil, true, false},
		{"short", bytes.NewReader(data[:10]), 20, 100, nil, false, true},
		{"unknown", iotest.HalfReader(bytes.NewReader(data)), -1, 1 << 20, data, false, false},
		{"unknown at limit", iotest.OneByteReader(bytes.NewReader(data)), -1, int64(len(data)), data, false, false},
		{"unknown over", bytes.NewReader(data), -1, int64(len(data)) - 1, nil, true, false},
		{"unknown tiny limit", bytes.NewReader(data), -1, 1, nil, true, false},
		{"empty", bytes.NewReader(nil), -1, 10, []byte{}, false, false},
		{"reader error", iotest.ErrReader(errors.New("boom")), -1, 10, nil, false, true},
		{"data then error", iotest.TimeoutReader(bytes.NewReader(data)), -1, 1 << 20, nil, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ReadBody(tt.r, tt.cl, tt.max)
			checkReadBody(t, tt.want, tt.tooBig, tt.err, got, err)
		})
	}
}

// A size hint (the last body's size) changes how the buffer grows, never
// what is read.
func TestReadBodySized(t *testing.T) {
	data := bytes.Repeat([]byte("0123456789"), 5000) // 50,000 bytes
	n := len(data)
	for _, hint := range []int{0, 1, 100, n - 1, n, n + 1, 2 * n, 10 * n} {
		for _, max := range []int64{int64(n) - 1, int64(n), 1 << 20} {
			for _, one := range []bool{false, true} {
				t.Run(fmt.Sprintf("hint=%d/max=%d/onebyte=%v", hint, max, one), func(t *testing.T) {
					var r io.Reader = bytes.NewReader(data)
					if one {
						r = iotest.OneByteReader(r)
					}
					cr := &countingReader{r: r}
					got, err := ReadBodySized(cr, -1, max, hint)
					checkReadBody(t, data, int64(n) > max, false, got, err)
					if cr.n > int(max)+1 {
						t.Fatalf("read %d bytes for a limit of %d", cr.n, max)
					}
				})
			}
		}
	}
	// With a hint of the body's size, one allocation and no copy.
	if allocs := testing.AllocsPerRun(10, func() {
		if _, err := ReadBodySized(bytes.NewReader(data), -1, 1<<20, n); err != nil {
			t.Fatal(err)
		}
	}); allocs > 2 { // the buffer, and the bytes.Reader
		t.Fatalf("%v allocations with an exact hint", allocs)
	}
}

func checkReadBody(t *testing.T, want []byte, tooBig, isErr bool, got []byte, err error) {
	t.Helper()
	switch {
	case tooBig:
		if !errors.Is(err, bayeux.ErrTooLarge) {
			t.Fatalf("err = %v, want ErrTooLarge", err)
		}
	case isErr:
		if err == nil || errors.Is(err, bayeux.ErrTooLarge) {
			t.Fatalf("err = %v, want a read error", err)
		}
	default:
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("ReadBody = %d bytes, %v", len(got), err)
		}
	}
}

// Reading an over-long body of unknown length stops soon after the limit.
func TestReadBodyStopsAtLimit(t *testing.T) {
	r := &countingReader{r: strings.NewReader(strings.Repeat("x", 10<<20))}
	if _, err := ReadBody(r, -1, 1000); !errors.Is(err, bayeux.ErrTooLarge) {
		t.Fatal(err)
	}
	if r.n > 1001 {
		t.Fatalf("read %d bytes for a limit of 1000", r.n)
	}
}

type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

func FuzzReadBody(f *testing.F) {
	f.Add([]byte("[]"), int64(10), int64(-1), uint8(3))
	f.Add([]byte("hello world"), int64(5), int64(11), uint8(1))
	f.Add([]byte(strings.Repeat("a", 40000)), int64(39999), int64(-1), uint8(0))
	f.Add([]byte("abc"), int64(3), int64(4), uint8(2))
	f.Fuzz(func(t *testing.T, data []byte, max, cl int64, chunk uint8) {
		if max < 0 || max > 1<<20 {
			return
		}
		if cl > int64(len(data)) {
			cl = int64(len(data)) + 1 // short body
		}
		var r io.Reader = bytes.NewReader(data)
		if chunk%2 == 1 {
			r = iotest.OneByteReader(r)
		}
		got, err := ReadBodySized(r, cl, max, int(chunk)*97)
		size := int64(len(data))
		if cl >= 0 {
			size = cl
		}
		switch {
		case size > max:
			if !errors.Is(err, bayeux.ErrTooLarge) {
				t.Fatalf("size %d max %d: err = %v", size, max, err)
			}
		case cl > int64(len(data)):
			if err == nil {
				t.Fatalf("short body accepted")
			}
		default:
			if err != nil || !bytes.Equal(got, data[:size]) {
				t.Fatalf("ReadBody = %q, %v", got, err)
			}
		}
	})
}

func TestAddHeaderFullCapacity(t *testing.T) {
	h := AddHeader(nil, "x-a", "1")
	h = AddHeader(h, "X-A", "2")
	if vs := h["X-A"]; len(vs) != 2 || cap(vs) != 2 {
		t.Fatalf("X-A = %v (cap %d)", vs, cap(vs))
	}
	// Appending to a request's copy must not write into the shared slice.
	r1 := http.Header{"X-A": h["X-A"]}
	r2 := http.Header{"X-A": h["X-A"]}
	r1.Add("X-A", "r1")
	r2.Add("X-A", "r2")
	if h.Get("X-A") != "1" || len(h["X-A"]) != 2 || r1.Values("X-A")[2] != "r1" {
		t.Fatalf("shared header changed: %v %v %v", h, r1, r2)
	}
}

func TestRedactURL(t *testing.T) {
	tests := map[string]string{
		"https://user:pw@example.com/cometd?jsonp=cb&message=%5B%5D#frag": "https://example.com/cometd",
		"http://127.0.0.1:8080/bayeux":                                    "http://127.0.0.1:8080/bayeux",
		"://bad":                                                          "(invalid URL)",
	}
	for in, want := range tests {
		if got := RedactURL(in); got != want {
			t.Errorf("RedactURL(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestBackoff(t *testing.T) {
	min, max := 10*time.Millisecond, 50*time.Millisecond
	want := []time.Duration{10, 20, 40, 50, 50}
	for i, w := range want {
		if got := backoff(min, max, i, nil); got != w*time.Millisecond {
			t.Errorf("attempt %d: %v, want %v", i, got, w*time.Millisecond)
		}
	}
	resp := &http.Response{StatusCode: 503, Header: http.Header{"Retry-After": {"3600"}}}
	if got := backoff(min, max, 0, resp); got != max {
		t.Errorf("Retry-After beyond max: %v", got)
	}
	resp.Header.Set("Retry-After", "0")
	if got := backoff(min, max, 2, resp); got != min {
		t.Errorf("Retry-After 0: %v", got)
	}
}
