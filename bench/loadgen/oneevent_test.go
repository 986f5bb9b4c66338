package loadgen

import (
	"fmt"
	"io"
	"net/http"

	"github.com/bayeux-go/sdk/bayeux"
)

// oneEventHandler is a long-polling server that answers a handshake and
// subscriptions, and every /meta/connect at once with one event of about
// 250 bytes followed by the connect reply: one round trip per delivered
// message.
func oneEventHandler() http.Handler {
	const event = `{"channel":"/event/Order__e","data":{"schema":"dffQ2QLzDNHqwB8_sHMxdA","payload":` +
		`{"CreatedDate":"2026-11-28T10:00:00.000Z","CreatedById":"005xx000001X8UzAAK","Order_Number__c":"ON-000001",` +
		`"Amount__c":1234.5,"Status__c":"Shipped"},"event":{"replayId":1}}}`
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			return
		}
		msgs, err := bayeux.DecodeMessages(body)
		if err != nil || len(msgs) == 0 {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		m := msgs[0]
		switch m.Channel {
		case bayeux.MetaHandshake:
			fmt.Fprintf(w, `[{"id":%q,"channel":"/meta/handshake","successful":true,"version":"1.0","clientId":"c1",`+
				`"supportedConnectionTypes":["long-polling"],"advice":{"reconnect":"retry","interval":0,"timeout":30000}}]`, m.ID)
		case bayeux.MetaConnect:
			fmt.Fprintf(w, `[%s,{"id":%q,"channel":"/meta/connect","successful":true}]`, event, m.ID)
		default:
			out := make([]bayeux.Message, len(msgs))
			for i, m := range msgs {
				out[i] = bayeux.Message{ID: m.ID, Channel: m.Channel, ClientID: "c1", Subscription: m.Subscription}
				out[i].SetSuccessful(true)
			}
			enc, _ := bayeux.EncodeMessages(out)
			_, _ = w.Write(enc)
		}
	})
}
