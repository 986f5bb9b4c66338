package extfield

import (
	"encoding/json"
	"math"
	"testing"
)

func TestInt(t *testing.T) {
	for _, c := range []struct {
		in   any
		want int64
		ok   bool
	}{
		{float64(3), 3, true}, {float64(-2), -2, true}, {1.5, 0, false}, {math.Inf(1), 0, false},
		{float64(1 << 60), 0, false}, {7, 7, true}, {int64(8), 8, true},
		{json.Number("12"), 12, true}, {json.Number("1.2"), 0, false}, {"3", 0, false}, {nil, 0, false},
	} {
		got, ok := Int(c.in)
		if got != c.want || ok != c.ok {
			t.Errorf("Int(%#v) = %d, %v; want %d, %v", c.in, got, ok, c.want, c.ok)
		}
	}
}

func TestWithCopies(t *testing.T) {
	orig := map[string]any{"a": 1}
	got := With(orig, "b", 2)
	if len(orig) != 1 || got["a"] != 1 || got["b"] != 2 {
		t.Fatalf("With: orig %v, got %v", orig, got)
	}
	if m := With(nil, "x", true); m["x"] != true {
		t.Fatalf("With(nil) = %v", m)
	}
}

func TestEnabled(t *testing.T) {
	for in, want := range map[string]bool{`true`: true, `false`: false, `{"enabled":true,"batch":0}`: true, `{"enabled":false}`: false, `1`: false, `null`: false} {
		var v any
		if err := json.Unmarshal([]byte(in), &v); err != nil {
			t.Fatal(err)
		}
		if got := Enabled(v); got != want {
			t.Errorf("Enabled(%s) = %v", in, got)
		}
	}
}
