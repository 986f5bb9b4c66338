package bayeux_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bayeux-go/sdk/bayeux"
	"github.com/bayeux-go/sdk/transport/longpoll"
)

// cookieCheckingServer answers handshakes with a clientId and a cookie
// naming it, /meta/connect after a short wait, and counts the requests
// whose cookie names another session than their clientId.
type cookieCheckingServer struct {
	next, connects, wrong atomic.Int64
}

func (s *cookieCheckingServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	msgs, err := bayeux.DecodeMessages(body)
	if err != nil || len(msgs) == 0 {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	replies := make([]bayeux.Message, 0, len(msgs))
	for _, m := range msgs {
		reply := bayeux.Message{ID: m.ID, Channel: m.Channel, Subscription: m.Subscription, ClientID: m.ClientID}
		reply.SetSuccessful(true)
		if m.Channel == bayeux.MetaHandshake {
			reply.ClientID = fmt.Sprintf("c%d", s.next.Add(1))
			reply.Version = "1.0"
			reply.SupportedConnectionTypes = []string{bayeux.ConnectionTypeLongPolling}
			reply.Advice = &bayeux.Advice{Reconnect: bayeux.ReconnectRetry}
			reply.Advice.SetInterval(0)
			http.SetCookie(w, &http.Cookie{Name: "session", Value: reply.ClientID, Path: "/"})
		} else if c, err := r.Cookie("session"); err != nil || c.Value != m.ClientID {
			s.wrong.Add(1)
		}
		if m.Channel == bayeux.MetaConnect {
			s.connects.Add(1)
			time.Sleep(5 * time.Millisecond)
		}
		replies = append(replies, reply)
	}
	out, _ := bayeux.EncodeMessages(replies)
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(out)
}

// Clients made with WithSharedTransport share connections, not cookies:
// each request carries the cookie its own session was given.
func TestSharedTransportKeepsCookiesApart(t *testing.T) {
	leakCheck(t)
	// Runs after the clients and the server are closed, before the leak
	// check: the shared pool outlives every client.
	t.Cleanup(bayeux.SharedTransport().CloseIdleConnections)
	h := &cookieCheckingServer{}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	const n = 4
	for i := 0; i < n; i++ {
		c, err := bayeux.NewClient(srv.URL, bayeux.WithTransports(longpoll.New()), bayeux.WithSharedTransport())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.Disconnect(ctxT(t)) })
		connect(t, c)
	}
	deadline := time.Now().Add(5 * time.Second)
	for h.connects.Load() < 10*n && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if got := h.connects.Load(); got < 10*n {
		t.Fatalf("%d /meta/connect in 5 s", got)
	}
	if w := h.wrong.Load(); w != 0 {
		t.Fatalf("%d requests carried another session's cookie (or none)", w)
	}
}

// Many sessions in one process (one per user, say) share one connection
// pool; each keeps its own cookies.
func ExampleWithSharedTransport() {
	for _, user := range []string{"ann", "bob"} {
		c, err := bayeux.NewClient("https://example.com/cometd/"+user,
			bayeux.WithTransports(longpoll.New()), bayeux.WithSharedTransport())
		if err != nil {
			fmt.Println(err)
			return
		}
		_ = c // c.Connect(ctx), c.Subscribe(...)
	}
	// Once every such client is disconnected:
	bayeux.SharedTransport().CloseIdleConnections()
}
