package bayeuxtest_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/bayeux-go/sdk/bayeux"
	"github.com/bayeux-go/sdk/bayeux/bayeuxtest"
)

// post sends a raw Bayeux request and decodes the reply (examples only:
// errors end in an empty reply).
func post(c *http.Client, url, token, body string) []bayeux.Message {
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	msgs, _ := bayeux.DecodeMessages(b)
	return msgs
}

// A Salesforce-like replay log: events published with PublishEvent carry
// data.event.replayId, and a subscriber resumes after the last id it
// handled; an expired id is refused with Salesforce's error.
func ExampleWithReplay() {
	srv := bayeuxtest.NewServer(bayeuxtest.WithReplay(0), bayeuxtest.WithOneChannelSubscriptions(true))
	defer srv.Close()
	var ids []int64
	for _, name := range []string{"a", "b", "c"} {
		id, _ := srv.PublishEvent("/event/Order__e", map[string]string{"Name__c": name})
		ids = append(ids, id)
	}

	c := srv.Client()
	hs := post(c, srv.URL, "", `[{"channel":"/meta/handshake","version":"1.0","supportedConnectionTypes":["long-polling"],"ext":{"replay":true}}]`)
	cid := hs[0].ClientID
	subscribe := func(from int64) []bayeux.Message {
		return post(c, srv.URL, "", fmt.Sprintf(`[{"channel":"/meta/subscribe","clientId":%q,"subscription":"/event/Order__e","ext":{"replay":{"/event/Order__e":%d}}}]`, cid, from))
	}
	for _, m := range subscribe(ids[0])[1:] {
		var ev struct {
			Event struct {
				ReplayID int64 `json:"replayId"`
			} `json:"event"`
			Payload map[string]string `json:"payload"`
		}
		_ = json.Unmarshal(m.Data, &ev)
		fmt.Println(ev.Event.ReplayID, ev.Payload["Name__c"])
	}
	srv.ExpireEvents("/event/Order__e", ids[1])
	fmt.Println(subscribe(ids[0])[0].Error)
	// Output:
	// 2 b
	// 3 c
	// 400::The replayId {1} you provided was invalid.  Please provide a valid ID, -2 to replay all events, or -1 for new events.
}

// Bearer tokens that expire: a handshake without a valid token is denied as
// Salesforce denies it; a connect whose token has expired gets
// "401::Authentication invalid" with advice reconnect "none", as
// Salesforce documents it.
func ExampleWithBearerAuth() {
	tokens := bayeuxtest.NewTokens()
	srv := bayeuxtest.NewServer(bayeuxtest.WithBearerAuth(tokens.Valid, bayeuxtest.AuthBayeuxError))
	defer srv.Close()
	c := srv.Client()
	const handshake = `[{"channel":"/meta/handshake","version":"1.0","supportedConnectionTypes":["long-polling"]}]`

	fmt.Println(post(c, srv.URL, "", handshake)[0].Error)
	tok := tokens.Issue(0)
	hs := post(c, srv.URL, tok, handshake)
	fmt.Println(hs[0].Successful)
	tokens.Expire(tok)
	connect := fmt.Sprintf(`[{"channel":"/meta/connect","clientId":%q,"connectionType":"long-polling"}]`, hs[0].ClientID)
	r := post(c, srv.URL, tok, connect)[0]
	fmt.Println(r.Error, r.Advice.Reconnect)
	// Output:
	// 403::Handshake denied
	// true
	// 401::Authentication invalid none
}
