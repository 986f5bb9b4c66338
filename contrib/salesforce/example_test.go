package salesforce_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"time"

	"github.com/bayeux-go/sdk/bayeux"
	"github.com/bayeux-go/sdk/bayeux/bayeuxtest"
	"github.com/bayeux-go/sdk/contrib/salesforce"
	"github.com/bayeux-go/sdk/ext/replay"
)

// org is a Salesforce-like org on 127.0.0.1 for the examples: an OAuth
// token endpoint, whose answers carry the instance URL, and the Streaming
// API at /cometd/62.0, where a few Account change events wait.
type org struct {
	loginURL string
	stream   *bayeuxtest.Server
	oauth    *httptest.Server
}

func startOrg() *org {
	tokens := bayeuxtest.NewTokens()
	stream := bayeuxtest.NewServer(
		bayeuxtest.WithPath("/cometd/62.0"),
		bayeuxtest.WithReplay(72*time.Hour),
		bayeuxtest.WithOneChannelSubscriptions(true),
		bayeuxtest.WithBearerAuth(tokens.Valid, bayeuxtest.AuthBayeuxError),
		bayeuxtest.WithConnectionTypes("long-polling"),
	)
	instance := strings.TrimSuffix(stream.URL, "/cometd/62.0")
	oauth := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]string{
			"access_token": tokens.Issue(time.Hour), "token_type": "Bearer", "instance_url": instance,
		})
	}))
	for _, rec := range []string{"001xx000003DGb2AAG", "001xx000003DGb3AAG"} {
		_, _ = stream.PublishEvent("/data/AccountChangeEvent", map[string]any{
			"ChangeEventHeader": map[string]any{"entityName": "Account", "changeType": "UPDATE", "recordIds": []string{rec}},
		})
	}
	return &org{loginURL: oauth.URL, stream: stream, oauth: oauth}
}

func (o *org) close() {
	o.oauth.Close()
	o.stream.Close()
}

// Follow Account change events with a token from the refresh token flow.
// The endpoint comes from the instance_url of the token response.
func Example() {
	org := startOrg()
	defer org.close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	ts, err := salesforce.NewRefreshTokenSource(ctx, salesforce.RefreshTokenConfig{
		ClientID:     "3MVG9...consumer-key",
		ClientSecret: "consumer-secret",
		RefreshToken: "5Aep861...refresh-token",
		LoginURL:     org.loginURL, // salesforce.LoginURL (the default) for a production org
	})
	if err != nil {
		log.Fatal(err)
	}
	c, err := salesforce.NewClient(ctx, ts,
		// A replay.FileStore keeps the position across restarts.
		salesforce.WithReplayStore(replay.NewMemoryStore()),
		salesforce.WithReplayStart(replay.StartAll))
	if err != nil {
		log.Fatal(err)
	}
	if err := c.Connect(ctx); err != nil {
		log.Fatal(err)
	}
	defer c.Disconnect(ctx)
	fmt.Println("transport:", c.TransportName())

	events := make(chan string)
	_, err = c.Subscribe(ctx, "/data/AccountChangeEvent", func(m bayeux.Message) {
		var ev struct {
			Payload struct {
				Header struct {
					ChangeType string   `json:"changeType"`
					RecordIDs  []string `json:"recordIds"`
				} `json:"ChangeEventHeader"`
			} `json:"payload"`
			Event struct {
				ReplayID int64 `json:"replayId"`
			} `json:"event"`
		}
		if err := m.Decode(&ev); err != nil {
			log.Print(err)
			return
		}
		events <- fmt.Sprintf("replay id %d: %s %v", ev.Event.ReplayID, ev.Payload.Header.ChangeType, ev.Payload.Header.RecordIDs)
	})
	if err != nil {
		log.Fatal(err)
	}
	for range 2 {
		fmt.Println(<-events)
	}
	// Output:
	// transport: long-polling
	// replay id 1: UPDATE [001xx000003DGb2AAG]
	// replay id 2: UPDATE [001xx000003DGb3AAG]
}

// A server-to-server integration authenticates with the JWT bearer flow:
// a connected app with a certificate, and a user who approved it.
func ExampleNewJWTSource() {
	ctx := context.Background()
	key, err := os.ReadFile("server.key") // the certificate's private key
	if err != nil {
		log.Fatal(err)
	}
	ts, err := salesforce.NewJWTSource(ctx, salesforce.JWTConfig{
		ClientID:   "3MVG9...consumer-key",
		Username:   "integration@acme.com",
		PrivateKey: key,
		LoginURL:   salesforce.TestLoginURL, // a sandbox
	})
	if err != nil {
		log.Fatal(err)
	}
	store, err := replay.OpenFileStore("replay-ids.json")
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
	c, err := salesforce.NewClient(ctx, ts, salesforce.WithReplayStore(store))
	if err != nil {
		log.Fatal(err)
	}
	if err := c.Connect(ctx); err != nil {
		log.Fatal(err)
	}
	defer c.Disconnect(ctx)
	// c.Subscribe(ctx, "/event/Order_Placed__e", handle) ...
}
