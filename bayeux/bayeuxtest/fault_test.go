package bayeuxtest_test

import (
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/bayeux-go/sdk/bayeux"
	"github.com/bayeux-go/sdk/bayeux/bayeuxtest"
)

func TestFaultStatusOnChannel(t *testing.T) {
	srv := newServer(t, bayeuxtest.WithTimeout(long))
	p, q := newPeer(t, srv), newPeer(t, srv)
	p.handshake()
	q.handshake()
	p.subscribe(`"/f"`)
	srv.InjectFault(bayeuxtest.Fault{Channel: bayeux.MetaConnect, Status: http.StatusInternalServerError})
	if srv.PendingFaults() != 1 {
		t.Fatal("fault not pending")
	}
	// A publish does not match the fault.
	if r := q.publish("/f", "1"); !r[0].Successful {
		t.Fatalf("publish %+v", r)
	}
	// The lone connect does, and is answered at once, unprocessed.
	status, body, _, err := p.do(testCtx(t), p.connectBody("c", ""))
	if err != nil || status != 500 {
		t.Fatalf("faulted connect: %d %v %s", status, err, body)
	}
	if srv.PendingFaults() != 0 {
		t.Error("fault not consumed")
	}
	// The event is still queued: the faulted connect took nothing.
	if got := p.poll(); len(got) != 1 || got[0].Channel != "/f" {
		t.Fatalf("after fault: %+v", got)
	}
}

func TestFaultNotProcessedUnlessAsked(t *testing.T) {
	srv := newServer(t)
	a, b := newPeer(t, srv), newPeer(t, srv)
	a.handshake()
	b.handshake()
	srv.InjectFault(bayeuxtest.Fault{Channel: bayeux.MetaSubscribe, Status: 503})
	status, _, _, _ := a.do(testCtx(t), `[{"channel":"/meta/subscribe","clientId":"`+a.id+`","subscription":"/x"}]`)
	if status != 503 || srv.Subscribers("/x") != 0 {
		t.Fatalf("status %d, subscribers %d", status, srv.Subscribers("/x"))
	}
	if n := srv.Count(bayeux.MetaSubscribe); n != 1 {
		t.Errorf("faulted message not in Received: %d", n)
	}
	a.subscribe(`"/x"`)
	// With Process the publish happens, but its response is lost.
	srv.InjectFault(bayeuxtest.Fault{Channel: "/x", Status: 502, Process: true})
	status, _, _, _ = b.do(testCtx(t), `[{"channel":"/x","clientId":"`+b.id+`","data":1}]`)
	if status != 502 {
		t.Fatalf("status %d", status)
	}
	if got := a.poll(); len(got) != 1 {
		t.Fatalf("processed publish not delivered: %+v", got)
	}
}

func TestFaultTear(t *testing.T) {
	srv := newServer(t)
	p := newPeer(t, srv)
	p.handshake()
	srv.InjectFault(bayeuxtest.Fault{Tear: true})
	if _, _, _, err := p.do(testCtx(t), p.connectBody("c", `,"advice":{"timeout":0}`)); err == nil {
		t.Fatal("torn request succeeded")
	}
	if r := p.poll(); len(r) != 0 {
		t.Fatalf("after tear: %+v", r)
	}
}

func TestFaultRawAndDelay(t *testing.T) {
	srv := newServer(t)
	p := newPeer(t, srv)
	p.handshake()
	srv.InjectFault(bayeuxtest.Fault{Raw: []byte(`[{"channel":`)})
	status, body, hdr, err := p.do(testCtx(t), p.connectBody("c", `,"advice":{"timeout":0}`))
	if err != nil || status != 200 || string(body) != `[{"channel":` || hdr.Get("Content-Type") == "" {
		t.Fatalf("raw fault: %d %v %q", status, err, body)
	}
	// A delay-only fault still answers properly.
	srv.InjectFault(bayeuxtest.Fault{Delay: 30 * time.Millisecond, Channel: "/meta/*"})
	if r := p.poll(); len(r) != 0 {
		t.Fatalf("delayed connect %+v", r)
	}
	if srv.PendingFaults() != 0 {
		t.Error("delay fault not consumed")
	}
}

func TestFaultTimesAndTransport(t *testing.T) {
	srv := newServer(t)
	p := newPeer(t, srv)
	p.handshake()
	srv.InjectFault(bayeuxtest.Fault{Status: 500, Times: 2})
	srv.InjectFault(bayeuxtest.Fault{Status: 418, Transport: "websocket", Times: -1})
	for i, want := range []int{500, 500, 200, 200} {
		status, _, _, _ := p.do(testCtx(t), p.connectBody("c", `,"advice":{"timeout":0}`))
		if status != want {
			t.Errorf("request %d: status %d, want %d", i, status, want)
		}
	}
	if srv.PendingFaults() != 1 {
		t.Errorf("PendingFaults %d", srv.PendingFaults())
	}
	srv.ClearFaults()
	if srv.PendingFaults() != 0 {
		t.Error("ClearFaults")
	}
	srv.InjectFault(bayeuxtest.Fault{Status: 99}) // invalid codes become 500
	if status, _, _, _ := p.do(testCtx(t), handshakeBody); status != 500 {
		t.Errorf("invalid status answered %d", status)
	}
}

func TestFaultOnHeldConnect(t *testing.T) {
	srv := newServer(t, bayeuxtest.WithTimeout(long))
	a, b := newPeer(t, srv), newPeer(t, srv)
	a.handshake()
	b.handshake()
	a.subscribe(`"/h"`)
	// Processed: the connect is held, then its response is torn after the
	// wake-up, and the event it carried is lost.
	srv.InjectFault(bayeuxtest.Fault{Channel: bayeux.MetaConnect, Tear: true, Process: true})
	ch := a.asyncPost(testCtx(t), a.connectBody("h", ""))
	if err := srv.WaitHeld(testCtx(t), 1); err != nil {
		t.Fatal(err)
	}
	b.publish("/h", "1")
	if r := <-ch; r.err == nil {
		t.Fatalf("torn held connect answered %d %s", r.status, r.body)
	}
	if got := a.poll(); len(got) != 0 {
		t.Errorf("lost event reappeared: %+v", got)
	}
}

func TestFaultWebSocket(t *testing.T) {
	srv := newServer(t)
	w, _ := dialWS(t, srv, nil)
	w.handshake()
	srv.InjectFault(bayeuxtest.Fault{Transport: "websocket", Raw: []byte(`not json`)})
	w.send(w.connect("3", `,"advice":{"timeout":0}`))
	_ = w.c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, b, err := w.c.ReadMessage(); err != nil || string(b) != "not json" {
		t.Fatalf("raw frame %q %v", b, err)
	}
	srv.InjectFault(bayeuxtest.Fault{Transport: "websocket", Delay: 20 * time.Millisecond})
	w.send(w.connect("4", `,"advice":{"timeout":0}`))
	if r := w.read(); r[0].ID != "4" {
		t.Fatalf("delayed reply %+v", r)
	}
	srv.InjectFault(bayeuxtest.Fault{Channel: bayeux.MetaConnect, Status: 500})
	w.send(w.connect("5", `,"advice":{"timeout":0}`))
	var ce *websocket.CloseError
	if err := w.readErr(); !errors.As(err, &ce) || ce.Code != websocket.CloseInternalServerErr {
		t.Fatalf("status fault: %v", err)
	}

	w2, _ := dialWS(t, srv, nil)
	w2.id = w.id
	srv.InjectFault(bayeuxtest.Fault{Tear: true})
	w2.send(w2.connect("6", `,"advice":{"timeout":0}`))
	if err := w2.readErr(); err == nil || (errors.As(err, &ce) && ce.Code != websocket.CloseAbnormalClosure) {
		t.Fatalf("tear: %v", err)
	}
}
