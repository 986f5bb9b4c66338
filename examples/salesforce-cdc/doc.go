// Command salesforce-cdc follows Salesforce Change Data Capture events the
// way a production client should, with the Salesforce preset of
// contrib/salesforce: it gets its OAuth access tokens from Salesforce's
// token endpoint (the refresh token or JWT bearer flow) and a new one when
// Salesforce refuses the one it has (ext/auth), builds the streaming
// endpoint from the instance_url of the token response, and keeps the
// replay id of the last event it handled in a file (ext/replay's
// FileStore), so that after a dropped connection, an expired session or a
// restart of the program it resumes right after that event, without
// missing any.
//
//	go run ./examples/salesforce-cdc            # on an embedded server that behaves like Salesforce
//	SF_CLIENT_ID=... SF_USERNAME=... SF_JWT_KEY_FILE=server.key \
//	    go run ./examples/salesforce-cdc -channel /data/AccountChangeEvent
//	SF_CLIENT_ID=... SF_CLIENT_SECRET=... SF_REFRESH_TOKEN=... go run ./examples/salesforce-cdc
//	SF_ACCESS_TOKEN=... go run ./examples/salesforce-cdc -instance https://MyDomain.my.salesforce.com
//
// SF_LOGIN_URL sets the login server (https://test.salesforce.com for a
// sandbox, or the org's My Domain). An access token alone
// (SF_ACCESS_TOKEN) cannot be refreshed.
//
// Without credentials, the embedded bayeuxtest server is configured like
// Salesforce's Streaming API (a replay event log, bearer tokens that
// expire, one channel per subscription), with a token endpoint of its
// own; a simulator publishes change events, and in the middle revokes the
// client's token and drops its session: the client gets a new token,
// handshakes again and resumes from its last replay id. Then the program
// "restarts" (a second client with the same file) and handles only the
// event published while it was down.
//
// It is a module of its own, as contrib/salesforce is, so that the SDK's
// go.mod does not require golang.org/x/oauth2: cd examples/salesforce-cdc
// && go test ./... runs its test.
package main
