package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/bayeux-go/sdk/bayeux/bayeuxtest"
	"github.com/bayeux-go/sdk/contrib/salesforce"
)

// apiVersion is the Salesforce API version of the embedded endpoint.
const apiVersion = "62.0"

// salesforceLike starts a bayeuxtest server that behaves like Salesforce's
// Streaming API: endpoint /cometd/<version>, a replay event log, bearer
// tokens checked on every request, one channel per subscription.
func salesforceLike(tokens *bayeuxtest.Tokens) *bayeuxtest.Server {
	return bayeuxtest.NewServer(
		bayeuxtest.WithPath("/cometd/"+apiVersion),
		bayeuxtest.WithReplay(72*time.Hour),
		bayeuxtest.WithOneChannelSubscriptions(true),
		bayeuxtest.WithBearerAuth(tokens.Valid, bayeuxtest.AuthBayeuxError),
		bayeuxtest.WithConnectionTypes("long-polling"),
	)
}

// demo runs the program twice against an embedded Salesforce-like server,
// with a simulator that publishes change events, revokes the token and
// drops the session in the middle of the first run, and publishes one
// event between the two runs.
func demo(ctx context.Context, cfg config, out io.Writer) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	tokens := bayeuxtest.NewTokens()
	srv := salesforceLike(tokens)
	defer srv.Close()
	// The OAuth server: its token endpoint answers the refresh token flow
	// with a token valid for an hour, which the simulator revokes
	// earlier, and the org's instance URL, from which the client builds
	// the streaming endpoint.
	oauth := tokenEndpoint(tokens, strings.TrimSuffix(srv.URL, "/cometd/"+apiVersion))
	defer oauth.Close()
	ts, err := salesforce.NewRefreshTokenSource(ctx, salesforce.RefreshTokenConfig{
		ClientID: demoClientID, ClientSecret: "demo-secret", RefreshToken: demoRefreshToken, LoginURL: oauth.URL,
	})
	if err != nil {
		return err
	}
	cfg.tokens, cfg.instance, cfg.version = ts, "", apiVersion

	handled := make(chan int64, 16)
	cfg.handled = func(id int64) { handled <- id }
	ids := make([]int64, 0, 6)
	publish := func(record string, fields ...string) error {
		id, err := srv.PublishEvent(cfg.channel, changePayload(record, fields))
		ids = append(ids, id)
		return err
	}
	waitFor := func(id int64) error {
		for {
			select {
			case got := <-handled:
				if got == id {
					return nil
				}
			case <-ctx.Done():
				return fmt.Errorf("event %d was not handled: %w", id, context.Cause(ctx))
			}
		}
	}

	fmt.Fprintln(out, "-- first run")
	for _, rec := range []string{"001xx000003DGb2AAG", "001xx000003DGb3AAG", "001xx000003DGb4AAG"} {
		if err := publish(rec, "Name"); err != nil {
			return err
		}
	}
	first := make(chan error, 1)
	cfg1 := cfg
	cfg1.events = 5
	go func() { first <- run(ctx, cfg1, out) }()
	if err := waitFor(ids[2]); err != nil {
		return err
	}
	// The token is revoked and the session dropped; two records change
	// before the client is back.
	tokens.ExpireAll()
	srv.ExpireAllSessions()
	if err := publish("001xx000003DGb2AAG", "BillingCity"); err != nil {
		return err
	}
	if err := publish("001xx000003DGb5AAG", "Phone", "Website"); err != nil {
		return err
	}
	if err := <-first; err != nil {
		return err
	}

	// While the program is down, one more record changes.
	if err := publish("001xx000003DGb6AAG", "Industry"); err != nil {
		return err
	}
	fmt.Fprintln(out, "-- second run, after a restart")
	cfg2 := cfg
	cfg2.events = 1
	if err := run(ctx, cfg2, out); err != nil {
		return err
	}
	fmt.Fprintf(out, "-- %d tokens issued\n", tokens.Issued())
	return nil
}

// The demo's connected app and the refresh token its user granted it.
const (
	demoClientID     = "3MVG9demo"
	demoRefreshToken = "5Aep861demo"
)

// tokenEndpoint starts an OAuth 2.0 token endpoint that, like
// Salesforce's, answers a refresh token grant with an access token (of
// tokens, valid for an hour, with no expires_in) and the instance URL.
func tokenEndpoint(tokens *bayeuxtest.Tokens, instance string) *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = r.ParseForm()
		f := r.PostForm
		if f.Get("grant_type") != "refresh_token" || f.Get("client_id") != demoClientID || f.Get("refresh_token") != demoRefreshToken {
			w.WriteHeader(http.StatusBadRequest)
			_ = json.NewEncoder(w).Encode(map[string]string{"error": "invalid_grant", "error_description": "authentication failure"})
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]string{
			"access_token": tokens.Issue(time.Hour), "token_type": "Bearer", "instance_url": instance,
		})
	}))
}

// changePayload is the payload of an Account change event.
func changePayload(record string, fields []string) map[string]any {
	return map[string]any{
		"ChangeEventHeader": map[string]any{
			"entityName":      "Account",
			"recordIds":       []string{record},
			"changeType":      "UPDATE",
			"changeOrigin":    "com/salesforce/api/rest/62.0",
			"transactionKey":  "0002343d-9d90-e395-ed20-cf416ba652ad",
			"sequenceNumber":  1,
			"commitTimestamp": time.Now().UnixMilli(),
			"commitUser":      "005xx000001X8UzAAK",
			"changedFields":   fields,
		},
	}
}
