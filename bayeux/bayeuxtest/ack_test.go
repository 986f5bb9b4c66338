package bayeuxtest_test

import (
	"fmt"
	"testing"

	"github.com/bayeux-go/sdk/bayeux"
	"github.com/bayeux-go/sdk/bayeux/bayeuxtest"
)

// ackPeer handshakes with ext {"ack": true} and sends the first connect.
func ackPeer(t *testing.T, srv *bayeuxtest.Server) (*peer, bayeux.Message) {
	t.Helper()
	p := newPeer(t, srv)
	msgs := p.post(`[{"channel":"/meta/handshake","version":"1.0","supportedConnectionTypes":["long-polling"],"id":"1","ext":{"ack":true}}]`)
	if len(msgs) != 1 || !msgs[0].Successful {
		t.Fatalf("handshake: %+v", msgs)
	}
	p.id = msgs[0].ClientID
	return p, msgs[0]
}

func ackOf(t *testing.T, m bayeux.Message) int {
	t.Helper()
	v, ok := m.Ext["ack"].(float64)
	if !ok {
		t.Fatalf("reply %+v has no numeric ext.ack", m)
	}
	return int(v)
}

func TestAckNegotiationAndResend(t *testing.T) {
	srv := newServer(t, bayeuxtest.WithAckExtension(true), bayeuxtest.WithTimeout(long))
	p, hs := ackPeer(t, srv)
	if hs.Ext["ack"] != true {
		t.Fatalf("handshake reply ext = %v, want ack:true", hs.Ext)
	}
	first := p.connect(`,"advice":{"timeout":0}`)
	if got := ackOf(t, first[0]); got != 1 {
		t.Fatalf("first connect ack = %d, want 1", got)
	}
	if r := p.subscribe(`"/acked"`); !r.Successful {
		t.Fatalf("subscribe: %+v", r)
	}
	for i := 1; i <= 2; i++ {
		if err := srv.Publish("/acked", i); err != nil {
			t.Fatal(err)
		}
	}
	// Events ride only on /meta/connect: a publish reply carries none.
	if out := p.publish("/elsewhere", `0`); len(out) != 1 {
		t.Fatalf("publish reply carried events: %+v", out)
	}
	got := p.connect(`,"ext":{"ack":1}`)
	if len(got) != 3 || ackOf(t, got[0]) != 2 {
		t.Fatalf("connect ack 1: %+v", got)
	}
	// The response was "lost": acking 1 again resends both, in order.
	again := p.connect(`,"ext":{"ack":1}`)
	if len(again) != 3 || string(again[1].Data) != "1" || string(again[2].Data) != "2" {
		t.Fatalf("resend: %+v", again)
	}
	b := ackOf(t, again[0])
	if b != 3 {
		t.Fatalf("resend batch = %d, want 3", b)
	}
	// Acknowledged: nothing more is resent; the next event comes alone.
	if err := srv.Publish("/acked", 3); err != nil {
		t.Fatal(err)
	}
	next := p.connect(fmt.Sprintf(`,"ext":{"ack":%d}`, b))
	if len(next) != 2 || string(next[1].Data) != "3" {
		t.Fatalf("after ack: %+v", next)
	}
}

func TestAckOnlyWhenAsked(t *testing.T) {
	srv := newServer(t, bayeuxtest.WithAckExtension(true))
	p := newPeer(t, srv)
	p.handshake()
	p.subscribe(`"/a"`)
	if err := srv.Publish("/a", 1); err != nil {
		t.Fatal(err)
	}
	// Without the extension events ride on any reply, and connect replies
	// carry no ext.ack.
	out := p.publish("/b", `0`)
	if len(out) != 2 || out[1].Channel != "/a" {
		t.Fatalf("publish response: %+v", out)
	}
	if r := p.poll(); len(r) != 0 {
		t.Fatalf("poll: %+v", r)
	}
	// A server without the option does not answer ext.ack.
	srv2 := newServer(t)
	_, hs := ackPeer(t, srv2)
	if hs.Ext["ack"] != nil {
		t.Fatalf("server without ack answered %v", hs.Ext)
	}
}

// TestAckSurvivesTornConnects tears the response of connects that carry
// events, with the Client's own transport, and checks the raw protocol
// outcome: every event is eventually received exactly in order by a peer
// that acknowledges what it got.
func TestAckSurvivesTornConnects(t *testing.T) {
	srv := newServer(t, bayeuxtest.WithAckExtension(true), bayeuxtest.WithTimeout(long))
	p, _ := ackPeer(t, srv)
	last := ackOf(t, p.connect(`,"advice":{"timeout":0}`)[0])
	p.subscribe(`"/n"`)
	var got []string
	for i := 1; i <= 20; i++ {
		if err := srv.Publish("/n", i); err != nil {
			t.Fatal(err)
		}
		if i%3 == 0 {
			// The connect is processed (events taken) but its response
			// is lost.
			srv.InjectFault(bayeuxtest.Fault{Channel: bayeux.MetaConnect, Tear: true, Process: true})
			if _, _, _, err := p.do(testCtx(t), p.connectBody("t", fmt.Sprintf(`,"ext":{"ack":%d}`, last))); err == nil {
				t.Fatal("torn connect succeeded")
			}
		}
		out := p.connect(fmt.Sprintf(`,"ext":{"ack":%d}`, last))
		last = ackOf(t, out[0])
		for _, m := range out[1:] {
			got = append(got, string(m.Data))
		}
	}
	for i, s := range got {
		if s != fmt.Sprint(i+1) {
			t.Fatalf("events %v: want 1..20 once each, in order", got)
		}
	}
	if len(got) != 20 {
		t.Fatalf("got %d events: %v", len(got), got)
	}
}
