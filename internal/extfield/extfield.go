package extfield

import (
	"encoding/json"
	"maps"
	"math"
)

// With returns a copy of ext (a new map when ext is nil) with key set to v.
func With(ext map[string]any, key string, v any) map[string]any {
	out := make(map[string]any, len(ext)+1)
	maps.Copy(out, ext)
	out[key] = v
	return out
}

// Int returns v as an integer if it is one: a float64 without a fraction
// within ±2^53, an int, an int64 or a json.Number holding an integer.
func Int(v any) (int64, bool) {
	switch n := v.(type) {
	case float64:
		if n != math.Trunc(n) || math.Abs(n) > 1<<53 {
			return 0, false
		}
		return int64(n), true
	case int:
		return int64(n), true
	case int64:
		return n, true
	case json.Number:
		i, err := n.Int64()
		return i, err == nil
	}
	return 0, false
}

// Enabled reports whether v is true, or an object whose "enabled" field is
// true (the form {"enabled": true, ...} that CometD's ack extension
// answers in newer versions).
func Enabled(v any) bool {
	switch t := v.(type) {
	case bool:
		return t
	case map[string]any:
		b, _ := t["enabled"].(bool)
		return b
	}
	return false
}
