package bayeuxtest_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/bayeux-go/sdk/bayeux"
	"github.com/bayeux-go/sdk/bayeux/bayeuxtest"
)

func timesyncOf(t *testing.T, m bayeux.Message) map[string]int64 {
	t.Helper()
	ts, ok := m.Ext["timesync"].(map[string]any)
	if !ok {
		t.Fatalf("reply %+v has no ext.timesync", m)
	}
	out := map[string]int64{}
	for _, k := range []string{"tc", "ts", "p", "a"} {
		v, ok := ts[k].(float64)
		if !ok {
			t.Fatalf("ext.timesync.%s = %v", k, ts[k])
		}
		out[k] = int64(v)
	}
	return out
}

func TestTimesyncServer(t *testing.T) {
	const offset = 7 * time.Second
	ts := bayeuxtest.NewTimesync(offset)
	srv := newServer(t, bayeuxtest.WithExtension(ts), bayeuxtest.WithTimeout(100*time.Millisecond))
	p := newPeer(t, srv)
	tc := time.Now().UnixMilli()
	r := p.post(fmt.Sprintf(`[{"channel":"/meta/handshake","version":"1.0","supportedConnectionTypes":["long-polling"],"id":"1","ext":{"timesync":{"tc":%d,"l":0,"o":0}}}]`, tc))
	got := timesyncOf(t, r[0])
	if got["tc"] != tc {
		t.Fatalf("tc echoed as %d, want %d", got["tc"], tc)
	}
	// ts is the server's (shifted) clock at receipt: between the client's
	// send and receive times, plus the offset.
	after := time.Now().UnixMilli()
	if got["ts"] < tc+offset.Milliseconds() || got["ts"] > after+offset.Milliseconds() {
		t.Fatalf("ts %d outside [%d, %d] shifted by %v", got["ts"], tc, after, offset)
	}
	if got["a"] != tc-got["ts"] {
		t.Fatalf("a = %d, want tc+o+l-ts = %d", got["a"], tc-got["ts"])
	}
	p.id = r[0].ClientID
	p.connect(`,"advice":{"timeout":0}`)
	// A held connect: p covers the hold.
	c := p.connect(fmt.Sprintf(`,"ext":{"timesync":{"tc":%d,"l":1,"o":%d}}`, time.Now().UnixMilli(), offset.Milliseconds()))
	if g := timesyncOf(t, c[0]); g["p"] < 100 {
		t.Fatalf("p = %d for a connect held 100 ms", g["p"])
	}
	// Messages without timesync get none.
	if ext := p.subscribe(`"/x"`).Ext; ext["timesync"] != nil {
		t.Fatalf("subscribe reply ext %v", ext)
	}
	if st := ts.ServerTime(); time.Until(st) < offset-time.Second {
		t.Fatalf("ServerTime %v is not shifted by %v", st, offset)
	}
}
