package raw

import (
	"slices"
	"testing"
)

func TestDecodeArrayReportsAnomalies(t *testing.T) {
	msgs, err := DecodeArray([]byte(`[{"channel":"/a","Channel":"/b","successful":"true","id":1,"x":2,"channel":"/c"}]`))
	if err != nil {
		t.Fatal(err)
	}
	m := msgs[0]
	if m.S("channel") != "/a" || !slices.Equal(m.Dups, []string{"channel"}) || !slices.Equal(m.Folded, []string{"Channel"}) ||
		!slices.Equal(m.Unknown, []string{"x"}) || !slices.Equal(m.WrongType, []string{"successful", "id"}) {
		t.Errorf("%+v", m)
	}
	if m.Anomalies() == "" || m.IsReply() != true {
		t.Errorf("anomalies %q, reply %v", m.Anomalies(), m.IsReply())
	}
	for _, bad := range []string{``, `{}`, `[1]`, `[{"a":}]`, `"x"`} {
		if _, err := DecodeArray([]byte(bad)); err == nil {
			t.Errorf("%q decoded", bad)
		}
	}
}

func FuzzDecodeArray(f *testing.F) {
	for _, s := range []string{`[{"channel":"/a","data":{"x":[1,2]}}]`, `[{"channel":"/a","channel":"/b"}]`, `[]`, `[{`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		msgs, err := DecodeArray(b)
		if err != nil {
			return
		}
		for _, m := range msgs {
			_ = m.Anomalies()
			_, _ = m.Object("advice")
			_, _ = m.Strings("supportedConnectionTypes")
			_ = m.IsReply()
		}
	})
}
