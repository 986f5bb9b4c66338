package ack_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	gws "github.com/gorilla/websocket"

	"github.com/bayeux-go/sdk/bayeux"
	"github.com/bayeux-go/sdk/ext/ack"
	"github.com/bayeux-go/sdk/transport/websocket"
)

// TestStaleConnectCopyOverWebSocket is TestStaleConnectCopy over
// websocket, with a scripted server that frames each /meta/connect reply
// with its events as CometD does (events first, then the reply, in one
// frame). The second batch went to a stale copy of a /meta/connect whose
// reply the client never read, so the third batch repeats events 1-3
// before event 4. The client must handle the reply, whose skipped batch
// id shows the repeat, before the events of its frame, and deliver 1-4
// once each, whatever the reply's place in the frame.
func TestStaleConnectCopyOverWebSocket(t *testing.T) {
	for _, eventsFirst := range []bool{true, false} {
		name := "reply-after-events"
		if !eventsFirst {
			name = "reply-before-events"
		}
		t.Run(name, func(t *testing.T) {
			srv := newAckScript(t, eventsFirst)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			ext := ack.New()
			c, err := bayeux.NewClient(srv.URL, bayeux.WithTransports(websocket.New()), bayeux.WithExtensions(ext))
			if err != nil {
				t.Fatal(err)
			}
			if err := c.Connect(ctx); err != nil {
				t.Fatal(err)
			}
			defer func() { _ = c.Disconnect(ctx) }()
			got := numbered{ch: make(chan int, 100)}
			if _, err := c.Subscribe(ctx, channel, got.handler); err != nil {
				t.Fatal(err)
			}
			var out []int
			for len(out) < 4 {
				select {
				case n := <-got.ch:
					out = append(out, n)
				case <-ctx.Done():
					t.Fatalf("got %v, want [1 2 3 4]", out)
				}
			}
			// Anything more would be a copy delivered twice.
			select {
			case n := <-got.ch:
				out = append(out, n)
			case <-time.After(200 * time.Millisecond):
			}
			checkAll(t, out, 4)
			if d := ext.Dropped(); d != 3 {
				t.Errorf("dropped %d copies, want 3", d)
			}
		})
	}
}

// ackScript is a websocket Bayeux peer playing one scripted session with
// the acknowledgement extension: batch 1 holds events 1-3; batch 2 went to
// a stale /meta/connect copy (it is never sent); batch 3 holds 1-3 again
// and 4. Later /meta/connects are held until /meta/disconnect.
type ackScript struct {
	*httptest.Server
	eventsFirst bool
	wg          sync.WaitGroup
}

func newAckScript(t *testing.T, eventsFirst bool) *ackScript {
	s := &ackScript{eventsFirst: eventsFirst}
	up := gws.Upgrader{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		s.wg.Add(1)
		defer s.wg.Done()
		defer ws.Close()
		s.play(t, ws)
	}))
	t.Cleanup(func() {
		s.CloseClientConnections()
		s.Close()
		s.wg.Wait()
	})
	return s
}

func (s *ackScript) play(t *testing.T, ws *gws.Conn) {
	connects, subscribed := 0, false
	var held *bayeux.Message // the second /meta/connect, until the subscription
	events := func(from, to int) []bayeux.Message {
		var out []bayeux.Message
		for i := from; i <= to; i++ {
			out = append(out, bayeux.Message{Channel: channel, Data: json.RawMessage(strconv.Itoa(i))})
		}
		return out
	}
	send := func(evs []bayeux.Message, r bayeux.Message) {
		frame := append([]bayeux.Message{r}, evs...)
		if s.eventsFirst {
			frame = append(evs, r)
		}
		if err := ws.WriteJSON(frame); err != nil {
			t.Logf("script: write: %v", err)
		}
	}
	connectReply := func(m *bayeux.Message, batch int) bayeux.Message {
		r := bayeux.Message{ID: m.ID, Channel: bayeux.MetaConnect, ClientID: "script-1",
			Ext: map[string]any{"ack": batch}, Advice: &bayeux.Advice{Reconnect: "retry", Timeout: 30000}}
		r.SetSuccessful(true)
		return r
	}
	for {
		var msgs []bayeux.Message
		if err := ws.ReadJSON(&msgs); err != nil {
			return
		}
		for i := range msgs {
			m := &msgs[i]
			r := bayeux.Message{ID: m.ID, Channel: m.Channel, ClientID: "script-1", Subscription: m.Subscription}
			r.SetSuccessful(true)
			switch m.Channel {
			case bayeux.MetaHandshake:
				r.Version, r.SupportedConnectionTypes = "1.0", []string{bayeux.ConnectionTypeWebSocket}
				r.Ext = map[string]any{"ack": true}
				send(nil, r)
			case bayeux.MetaConnect:
				connects++
				switch connects {
				case 1:
					send(nil, connectReply(m, 0))
				case 2:
					if subscribed {
						send(events(1, 3), connectReply(m, 1))
					} else {
						held = m
					}
				case 3:
					if n, _ := m.Ext["ack"].(float64); n != 1 {
						t.Errorf("third /meta/connect acknowledges %v, want 1", m.Ext["ack"])
					}
					send(events(1, 4), connectReply(m, 3))
				}
			case bayeux.MetaSubscribe:
				subscribed = true
				send(nil, r)
				if held != nil {
					send(events(1, 3), connectReply(held, 1))
					held = nil
				}
			case bayeux.MetaDisconnect:
				send(nil, r)
				return
			}
		}
	}
}
