package bayeux

import (
	"encoding/json"
	"testing"
)

func TestRawField(t *testing.T) {
	data := []byte(` {"schema":"x","event":{"createdDate":"2026-11-28","replayId":4242,"weird\"key":[1,{"a":2}]},"payload":{"Id":"001"}} `)
	tests := []struct {
		path []string
		want string
		ok   bool
	}{
		{[]string{"event", "replayId"}, "4242", true},
		{[]string{"payload"}, `{"Id":"001"}`, true},
		{[]string{"payload", "Id"}, `"001"`, true},
		{[]string{"event", "weird\"key"}, `[1,{"a":2}]`, true},
		{[]string{"event", "missing"}, "", false},
		{[]string{"schema", "x"}, "", false},
		{nil, string(data[1 : len(data)-1]), true},
	}
	for _, tt := range tests {
		got, ok := RawField(data, tt.path...)
		if ok != tt.ok || string(got) != tt.want {
			t.Errorf("RawField(%q) = %q, %v; want %q, %v", tt.path, got, ok, tt.want, tt.ok)
		}
	}
	if n, ok := RawInt(data, "event", "replayId"); !ok || n != 4242 {
		t.Errorf("RawInt = %d, %v", n, ok)
	}
	for _, bad := range []string{`{"event":{"replayId":12.5}}`, `{"event":{"replayId":"7"}}`, `{"event":{"replayId":99999999999999999999}}`, `{"event":`, `[1]`, ``} {
		if n, ok := RawInt([]byte(bad), "event", "replayId"); ok {
			t.Errorf("RawInt(%s) = %d, true", bad, n)
		}
	}
	if n, ok := RawInt([]byte(`{"event":{"replayId":-2}}`), "event", "replayId"); !ok || n != -2 {
		t.Errorf("RawInt(-2) = %d, %v", n, ok)
	}
}

func TestRawFieldAllocatesNothing(t *testing.T) {
	data := []byte(`{"schema":"abc","event":{"createdDate":"2026-11-28T10:00:00Z","replayId":4242},"payload":{"Name":"x","Amount":12}}`)
	allocs := testing.AllocsPerRun(1000, func() {
		if _, ok := RawInt(data, "event", "replayId"); !ok {
			t.Fatal("not found")
		}
	})
	if allocs != 0 {
		t.Fatalf("RawInt allocates %v times per call", allocs)
	}
}

// FuzzRawField checks RawField against encoding/json: whatever it returns
// is valid JSON, and it never panics.
func FuzzRawField(f *testing.F) {
	f.Add([]byte(`{"event":{"replayId":1}}`), "event", "replayId")
	f.Add([]byte(`{"a":"\u0041","b":[{"c":{}}]}`), "b", "c")
	f.Add([]byte(`{"a":1,"a":2}`), "a", "")
	f.Fuzz(func(t *testing.T, data []byte, k1, k2 string) {
		path := []string{k1}
		if k2 != "" {
			path = append(path, k2)
		}
		got, ok := RawField(data, path...)
		if ok && !json.Valid(got) {
			t.Fatalf("RawField returned invalid JSON %q", got)
		}
		_, _ = RawInt(data, path...)
	})
}

func BenchmarkRawInt(b *testing.B) {
	data := []byte(`{"schema":"abc","event":{"createdDate":"2026-11-28T10:00:00Z","replayId":4242},"payload":{"Name":"x","Amount":12,"Description":"a longer text field of a change event"}}`)
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := RawInt(data, "event", "replayId"); !ok {
			b.Fatal("not found")
		}
	}
}
