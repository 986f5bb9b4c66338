//go:build unix

package main

import (
	"fmt"
	"io"
	"net/http"
	"strconv"

	"github.com/bayeux-go/sdk/bayeux"
	gws "github.com/gorilla/websocket"
)

// cannedEvent is a Salesforce Platform Event of about 250 bytes.
func cannedEvent(replayID int) []byte {
	return fmt.Appendf(nil, `{"channel":"/event/Order__e","data":{"schema":"dffQ2QLzDNHqwB8_sHMxdA",`+
		`"payload":{"CreatedDate":"2026-11-28T10:00:00.000Z","CreatedById":"005xx000001X8UzAAK",`+
		`"Order_Number__c":"ON-%06d","Amount__c":1234.5,"Status__c":"Shipped"},"event":{"replayId":%d}}}`,
		replayID, replayID)
}

// cannedServer answers handshakes and subscriptions, and every
// /meta/connect at once with batch events followed by the connect reply,
// over long-polling (with a Content-Length) and websocket alike.
func cannedServer(batch int) http.Handler {
	var events []byte
	for i := range batch {
		events = append(events, cannedEvent(i+1)...)
		events = append(events, ',')
	}
	up := gws.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if gws.IsWebSocketUpgrade(r) {
			conn, err := up.Upgrade(w, r, nil)
			if err != nil {
				return
			}
			defer conn.Close()
			for {
				_, data, err := conn.ReadMessage()
				if err != nil {
					return
				}
				if conn.WriteMessage(gws.TextMessage, answer(data, events)) != nil {
					return
				}
			}
		}
		body, err := io.ReadAll(r.Body)
		if err != nil {
			return
		}
		out := answer(body, events)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", strconv.Itoa(len(out)))
		_, _ = w.Write(out)
	})
}

// answer is the reply to one request: events (each followed by a comma)
// before the reply to a /meta/connect, plain replies to the rest.
func answer(req, events []byte) []byte {
	msgs, err := bayeux.DecodeMessages(req)
	if err != nil {
		return []byte(`[]`)
	}
	out := []byte{'['}
	replies := make([]bayeux.Message, 0, len(msgs))
	for _, m := range msgs {
		r := bayeux.Message{ID: m.ID, Channel: m.Channel, ClientID: "compare1", Subscription: m.Subscription}
		r.SetSubscriptionArray(m.SubscriptionIsArray())
		r.SetSuccessful(true)
		switch m.Channel {
		case bayeux.MetaHandshake:
			r.Version = "1.0"
			r.SupportedConnectionTypes = []string{"long-polling", "websocket"}
			r.Advice = &bayeux.Advice{Reconnect: "retry", Timeout: 30000}
			r.Advice.SetInterval(0)
		case bayeux.MetaConnect:
			out = append(out, events...)
		}
		replies = append(replies, r)
	}
	enc, err := bayeux.AppendMessages(nil, replies)
	if err != nil {
		return []byte(`[]`)
	}
	return append(out, enc[1:]...) // enc is "[...]": keep what follows its '['
}
