// Package salesforce connects to Salesforce's Streaming API (Change Data
// Capture, Platform Events, PushTopics) in one call, with the settings a
// consumer that must not miss an event needs, and gets the access tokens
// from Salesforce's OAuth 2.0 token endpoint.
//
// NewClient returns a *bayeux.Client for the endpoint
// https://MyDomain.my.salesforce.com/cometd/62.0, with the long-polling
// transport, ext/auth (a bearer token from a token source, replaced when
// Salesforce refuses it), ext/replay (the replay id of the last event
// handled on each channel, in the replay.Store you give) and subscription
// queues that apply backpressure rather than drop events:
//
//	ts, err := salesforce.NewJWTSource(ctx, salesforce.JWTConfig{
//		ClientID: consumerKey, Username: "integration@acme.com", PrivateKey: pemKey,
//	})
//	...
//	c, err := salesforce.NewClient(ctx, ts, salesforce.WithReplayStore(store))
//	...
//	err = c.Connect(ctx)
//	sub, err := c.Subscribe(ctx, "/data/AccountChangeEvent", handle)
//
// The token sources, NewRefreshTokenSource (the refresh token flow) and
// NewJWTSource (the JWT bearer flow), are built on golang.org/x/oauth2
// and golang.org/x/oauth2/jwt. They ask the token endpoint for a new
// token each time ext/auth asks them, which it does only for the first
// request and after Salesforce refused its token: Salesforce's token
// responses carry no expiry. They keep the instance_url of the response,
// from which NewClient builds the endpoint when WithInstanceURL is not
// given.
//
// This package is a module of its own
// (github.com/bayeux-go/sdk/contrib/salesforce), so that programs that do
// not use it get no golang.org/x/oauth2 in their go.sum.
package salesforce
