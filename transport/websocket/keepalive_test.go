package websocket

import (
	"context"
	"errors"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bayeux-go/sdk/bayeux"
	gws "github.com/gorilla/websocket"
)

// The keep-alive waits on a timer: an idle connection has its reader as
// its only goroutine, and its pings still go out.
func TestKeepAliveHasNoGoroutine(t *testing.T) {
	var pings atomic.Int32
	srv := newWSServer(t, func(sc *sconn) {
		sc.ws.SetPingHandler(func(data string) error {
			pings.Add(1)
			return sc.ws.WriteControl(gws.PongMessage, []byte(data), time.Now().Add(time.Second))
		})
		bayeuxPeer(sc)
	})
	tr, _ := newTransport(t, bayeux.TransportConfig{},
		WithPingInterval(10*time.Millisecond), WithPongTimeout(200*time.Millisecond))
	if _, err := tr.RoundTrip(context.Background(), srv.URL, []bayeux.Message{handshake("1")}); err != nil {
		t.Fatal(err)
	}
	if n := connGoroutines(); n != 1 {
		t.Fatalf("%d connection goroutines, want the reader only", n)
	}
	eventually(t, func() bool { return pings.Load() >= 3 }, "three pings")
	if tr.current(srv.URL) == nil || srv.upgrades.Load() != 1 {
		t.Fatal("a healthy pinged connection was torn")
	}
}

// A torn connection's keep-alive stops: Close does not wait for a timer
// armed for an hour, and no step runs after the tear.
func TestKeepAliveStopsOnTear(t *testing.T) {
	hangUp := make(chan struct{})
	srv := newWSServer(t, func(sc *sconn) {
		// Answer the handshake, then close when told.
		msgs, err := sc.read()
		if err != nil {
			return
		}
		_ = sc.send(reply(msgs[0]))
		<-hangUp
		sc.ws.Close()
	})
	tr, _ := newTransport(t, bayeux.TransportConfig{}, WithPingInterval(time.Hour))
	if _, err := tr.RoundTrip(context.Background(), srv.URL, []bayeux.Message{handshake("1")}); err != nil {
		t.Fatal(err)
	}
	tr.mu.Lock()
	c := tr.conn
	tr.mu.Unlock()
	if c == nil {
		t.Fatal("no connection after the handshake")
	}
	close(hangUp)
	<-c.readerDone
	c.ka.mu.Lock()
	stopped := c.ka.stopped
	c.ka.mu.Unlock()
	if !stopped {
		t.Fatal("keep-alive still armed after the connection was torn")
	}
	closed := make(chan struct{})
	go func() {
		tr.Close()
		close(closed)
	}()
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatal("Close waits for a stopped keep-alive")
	}
}

// Keep-alive steps racing with tears and Close: no step runs after Close
// returns (the race detector and goleak watch), and none is left armed.
func TestKeepAliveRacesClose(t *testing.T) {
	srv := newWSServer(t, bayeuxPeer)
	for i := range 30 {
		tr := New(WithPingInterval(time.Duration(i%3)*time.Millisecond+time.Microsecond),
			WithPongTimeout(time.Millisecond))
		if err := tr.Init(bayeux.TransportConfig{HTTPClient: &http.Client{}}); err != nil {
			t.Fatal(err)
		}
		// With a pong timeout this short, the keep-alive may tear the
		// connection before the reply is read.
		if _, err := tr.RoundTrip(context.Background(), srv.URL, []bayeux.Message{handshake("1")}); err != nil && !errors.Is(err, ErrPongTimeout) {
			t.Fatal(err)
		}
		tr.mu.Lock()
		c := tr.conn
		tr.mu.Unlock()
		time.Sleep(time.Duration(i%5) * time.Millisecond)
		tr.Close()
		if c != nil {
			c.ka.mu.Lock()
			stopped := c.ka.stopped
			c.ka.mu.Unlock()
			if !stopped {
				t.Fatal("keep-alive armed after Close")
			}
		}
	}
}
