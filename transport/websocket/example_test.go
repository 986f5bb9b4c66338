package websocket_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/bayeux-go/sdk/bayeux"
	"github.com/bayeux-go/sdk/transport/websocket"
	gws "github.com/gorilla/websocket"
)

// exampleServer is a toy websocket Bayeux endpoint: it answers every
// message that has an id, and pushes one event after a subscribe reply.
func exampleServer() *httptest.Server {
	var up gws.Upgrader
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer ws.Close()
		for {
			_, frame, err := ws.ReadMessage()
			if err != nil {
				return
			}
			msgs, err := bayeux.DecodeMessages(frame)
			if err != nil {
				return
			}
			for _, m := range msgs {
				reply := bayeux.Message{ID: m.ID, Channel: m.Channel}
				reply.SetSuccessful(true)
				if m.Channel == bayeux.MetaHandshake {
					reply.ClientID, reply.Version = "abc", "1.0"
				}
				out := []bayeux.Message{reply}
				if m.Channel == bayeux.MetaSubscribe {
					out = append(out, bayeux.Message{Channel: "/news", Data: []byte(`{"headline":"hello"}`)})
				}
				b, _ := bayeux.EncodeMessages(out)
				if ws.WriteMessage(gws.TextMessage, b) != nil {
					return
				}
			}
		}
	}))
}

// The transport is normally given to a client with bayeux.WithTransports;
// this example drives it by hand, as a client does.
func Example() {
	srv := exampleServer()
	defer srv.Close()

	events := make(chan bayeux.Message, 1)
	tr := websocket.New(
		websocket.WithHeader("Authorization", "Bearer example-token"),
		websocket.WithPingInterval(10*time.Second),
	)
	err := tr.Init(bayeux.TransportConfig{
		HTTPClient: http.DefaultClient,
		Logger:     slog.New(slog.DiscardHandler),
		Receive: func(msgs []bayeux.Message) {
			for _, m := range msgs {
				events <- m
			}
		},
	})
	if err != nil {
		panic(err)
	}
	defer tr.Close()

	ctx := context.Background()
	replies, err := tr.RoundTrip(ctx, srv.URL, []bayeux.Message{{
		ID: "1", Channel: bayeux.MetaHandshake, Version: "1.0",
		SupportedConnectionTypes: []string{tr.Name()},
	}})
	if err != nil {
		panic(err)
	}
	fmt.Println(replies[0].Channel, replies[0].Successful, replies[0].ClientID)

	replies, err = tr.RoundTrip(ctx, srv.URL, []bayeux.Message{{
		ID: "2", Channel: bayeux.MetaSubscribe, ClientID: "abc", Subscription: []bayeux.Channel{"/news"},
	}})
	if err != nil {
		panic(err)
	}
	fmt.Println(replies[0].Channel, replies[0].Successful)
	e := <-events // pushed by the server, outside any reply
	fmt.Println(e.Channel, string(e.Data))
	// Output:
	// /meta/handshake true abc
	// /meta/subscribe true
	// /news {"headline":"hello"}
}
