package wire_test

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/bayeux-go/sdk/wire"
	"github.com/google/go-cmp/cmp"
)

func kinds(p *wire.Payload) []string {
	var out []string
	for _, f := range p.Findings {
		out = append(out, f.Kind.String()+" "+f.Key)
	}
	return out
}

func TestDecodeFindings(t *testing.T) {
	tests := []struct {
		name, in string
		array    bool
		n        int
		want     []string
	}{
		{"clean", `[{"channel":"/meta/connect","id":"1","successful":true,"advice":{"reconnect":"retry","timeout":30000},"ext":{"x":1},"data":null}]`, true, 1, nil},
		{"single object", `{"channel":"/a","data":[1]}`, false, 1, nil},
		{"folded key", `[{"Channel":"/a"}]`, true, 1, []string{"folded key Channel"}},
		{"duplicate", `[{"channel":"/a","channel":"/b"}]`, true, 1, []string{"duplicate key channel"}},
		{"unknown", `[{"channel":"/a","foo":1}]`, true, 1, []string{"unknown field foo"}},
		{"id number", `[{"channel":"/a","id":7}]`, true, 1, []string{"wrong type id"}},
		{"successful string", `[{"channel":"/a","successful":"true"}]`, true, 1, []string{"wrong type successful"}},
		{"subscription forms", `[{"subscription":"/a"},{"subscription":["/a","/b"]},{"subscription":[1]}]`, true, 3, []string{"wrong type subscription"}},
		{"advice", `[{"advice":{"timeout":"1","Interval":0,"x":1}}]`, true, 1, []string{"wrong type advice.timeout", "folded key advice.Interval", "unknown field advice.x"}},
		{"not object", `[{"channel":"/a"},3,"x"]`, true, 3, []string{"not an object ", "not an object "}},
		{"empty array", ` [ ] `, true, 0, nil},
		{"null id", `[{"id":null}]`, true, 1, []string{"wrong type id"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := wire.Decode([]byte(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			if p.Array != tt.array || len(p.Messages) != tt.n {
				t.Fatalf("array %v, %d messages", p.Array, len(p.Messages))
			}
			if diff := cmp.Diff(tt.want, kinds(p)); diff != "" {
				t.Errorf("findings (-want +got):\n%s\n%v", diff, p.Findings)
			}
		})
	}
}

// Each message keeps its bytes and members as sent.
func TestDecodeKeepsRawBytes(t *testing.T) {
	in := `[ {"channel" : "/a", "data":{"b": 1.50}} ,{"id":"2","id":"3"}]`
	p, err := wire.Decode([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	if string(p.Messages[0].Raw) != `{"channel" : "/a", "data":{"b": 1.50}}` {
		t.Fatalf("raw %q", p.Messages[0].Raw)
	}
	if d, _ := p.Messages[0].Get("data"); string(d) != `{"b": 1.50}` {
		t.Fatalf("data %q", d)
	}
	if id, ok := p.Messages[1].GetString("id"); !ok || id != "2" || len(p.Messages[1].Fields) != 2 {
		t.Fatalf("first id %q, fields %v", id, p.Messages[1].Fields)
	}
	if f := p.Findings[0]; f.Message != 1 || f.String() != `message 1: duplicate key "id": the key appears more than once` {
		t.Fatalf("finding %v", f)
	}
}

func TestDecodeRejects(t *testing.T) {
	for _, in := range []string{``, `  `, `"x"`, `3`, `[1,]`, `[{"a":1}] x`, `{"a":}`, `<html>`} {
		if _, err := wire.Decode([]byte(in)); !errors.Is(err, wire.ErrNotPayload) {
			t.Errorf("Decode(%q) = %v", in, err)
		}
	}
}

func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		`[{"channel":"/meta/connect","id":"1","successful":true,"advice":{"timeout":0}}]`,
		`{"Channel":"/a","channel":"/b","id":1}`,
		`[1,"x",null,{"subscription":[1]}]`,
		`[{"advice":{"hosts":["a"],"multiple-clients":"x"}}]`,
		`[`, `{}`, `[{"a":{"b":[{}]}}]`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		p, err := wire.Decode(in)
		if err != nil {
			if !errors.Is(err, wire.ErrNotPayload) {
				t.Fatalf("error %v does not match ErrNotPayload", err)
			}
			return
		}
		if !json.Valid(in) {
			t.Fatalf("invalid JSON %q accepted", in)
		}
		if p.Array {
			var elems []json.RawMessage
			if err := json.Unmarshal(in, &elems); err != nil || len(elems) != len(p.Messages) {
				t.Fatalf("%d messages, json.Unmarshal %d (%v)", len(p.Messages), len(elems), err)
			}
		}
		for i, m := range p.Messages {
			if !json.Valid(m.Raw) {
				t.Fatalf("message %d raw %q invalid", i, m.Raw)
			}
			for _, fl := range m.Fields {
				if !json.Valid(fl.Value) {
					t.Fatalf("message %d field %q value %q invalid", i, fl.Key, fl.Value)
				}
			}
		}
		for _, fd := range p.Findings {
			if fd.Message < 0 || fd.Message >= len(p.Messages) {
				t.Fatalf("finding %v out of range", fd)
			}
		}
	})
}

// Only JSON whitespace surrounds a payload: a non-breaking space or a BOM
// is not JSON.
func TestDecodeRejectsNonJSONSpace(t *testing.T) {
	for _, in := range []string{"\u00a0[]", "[]\u0085", "\ufeff[]"} {
		if _, err := wire.Decode([]byte(in)); !errors.Is(err, wire.ErrNotPayload) {
			t.Errorf("Decode(%q) = %v", in, err)
		}
	}
}
