package replay

import (
	"encoding/json"
	"testing"
)

func TestReplayID(t *testing.T) {
	for data, want := range map[string]int64{
		`{"schema":"x","payload":{"a":"}}"},"event":{"replayId":42}}`:            42,
		`{"payload":{},"event" : { "replayId" : -2 } }` + "\n":                   -2,
		`{"event":{"createdDate":"2026-11-28","replayId":7},"sobject":{"Id":1}}`: 7,
		`{"event":{"EventUuid":"u","replayId":9,"EventApiName":"E__e"}}`:         9,
	} {
		if got, ok := replayID([]byte(data)); !ok || got != want {
			t.Errorf("replayID(%s) = %d, %v; want %d", data, got, ok, want)
		}
	}
	for _, data := range []string{
		`{"payload":{"event":{"replayId":1}}}`,
		`{"payload":{"x":{"event":{"replayId":1}}}}`,
		`{"event":{"replayId":1.5}}`,
		`{"event":{"replayId":"1"}}`,
		`{}`,
		``,
		`"event":{"replayId":1}}`,
	} {
		if id, ok := replayID([]byte(data)); ok {
			t.Errorf("replayID(%s) = %d, true; want false", data, id)
		}
	}
}

// FuzzReplayID checks the suffix shortcut against encoding/json on valid
// JSON: whenever the shortcut finds an id, it is data.event.replayId.
func FuzzReplayID(f *testing.F) {
	f.Add([]byte(`{"schema":"x","payload":{"a":1},"event":{"replayId":42}}`))
	f.Add([]byte(`{"p":"\",\"event\":{\"replayId\":1}}","event":{"replayId":2}}`))
	f.Add([]byte(`{"a":{"event":{"replayId":3}}}`))
	f.Add([]byte(`{"event" :{ "replayId":-1 } }`))
	f.Fuzz(func(t *testing.T, data []byte) {
		id, ok := replayIDSuffix(data)
		if !ok || !json.Valid(data) {
			return
		}
		var v struct {
			Event map[string]json.Number `json:"event"`
		}
		if err := json.Unmarshal(data, &v); err != nil {
			t.Fatalf("shortcut matched %q (id %d), which encoding/json rejects: %v", data, id, err)
		}
		if want, err := v.Event["replayId"].Int64(); err != nil || want != id {
			t.Fatalf("shortcut says %d for %q; encoding/json says %s", id, data, v.Event["replayId"])
		}
	})
}

func TestReplayIDNegativeZero(t *testing.T) {
	if id, ok := replayID([]byte(`{"event":{"replayId":-0}}`)); !ok || id != 0 {
		t.Errorf("replayID(-0) = %d, %v", id, ok)
	}
}
