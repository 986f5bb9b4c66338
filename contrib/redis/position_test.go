package bayeuxredis

import (
	"errors"
	"testing"
)

func TestParsePosition(t *testing.T) {
	good := map[string]int64{"0": 0, "1": 1, "42": 42, "-1": -1, "-2": -2, "9223372036854775807": 1<<63 - 1}
	for s, want := range good {
		got, err := parsePosition("/event/X", s)
		if err != nil || got != want {
			t.Errorf("parsePosition(%q) = %d, %v; want %d", s, got, err, want)
		}
		if back := formatPosition(got); back != s {
			t.Errorf("formatPosition(%d) = %q, want %q", got, back, s)
		}
	}
	for _, s := range []string{"", "-", "-3", "-0", "01", "+1", " 1", "1 ", "1.5", "1e3", "abc", "9223372036854775808", "0x10", "-9223372036854775808"} {
		_, err := parsePosition("/event/X", s)
		var pe *PositionError
		if !errors.As(err, &pe) || !errors.Is(err, ErrCorruptPosition) || pe.Value != s {
			t.Errorf("parsePosition(%q) error = %v, want a *PositionError wrapping ErrCorruptPosition", s, err)
		}
	}
}

// FuzzParsePosition checks that any stored value either parses to an id
// that formats back to the same text, or is refused with a *PositionError.
func FuzzParsePosition(f *testing.F) {
	for _, s := range []string{"0", "123", "-1", "-2", "-3", "", "01", "9223372036854775807", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		id, err := parsePosition("/c", s)
		if err != nil {
			if !errors.Is(err, ErrCorruptPosition) {
				t.Fatalf("parsePosition(%q): untyped error %v", s, err)
			}
			return
		}
		if id < -2 {
			t.Fatalf("parsePosition(%q) = %d, below StartAll", s, id)
		}
		if back := formatPosition(id); back != s {
			t.Fatalf("parsePosition(%q) = %d, which formats as %q", s, id, back)
		}
	})
}
