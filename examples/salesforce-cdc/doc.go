// Command salesforce-cdc follows Salesforce Change Data Capture events the
// way a production client should: it authenticates with an OAuth access
// token that it refreshes when Salesforce refuses it (ext/auth), and keeps
// the replay id of the last event it handled in a file (ext/replay's
// FileStore), so that after a dropped connection, an expired session or a
// restart of the program it resumes right after that event, without
// missing any.
//
//	go run ./examples/salesforce-cdc            # on an embedded server that behaves like Salesforce
//	SF_ACCESS_TOKEN=... go run ./examples/salesforce-cdc \
//	    -url https://MyDomain.my.salesforce.com/cometd/62.0 -channel /data/AccountChangeEvent
//
// Without -url, the embedded bayeuxtest server is configured like
// Salesforce's Streaming API (a replay event log, bearer tokens that
// expire, one channel per subscription); a simulator publishes change
// events, and in the middle revokes the client's token and drops its
// session: the client gets a new token, handshakes again and resumes from
// its last replay id. Then the program "restarts" (a second client with
// the same file) and handles only the event published while it was down.
//
// With -url, the token comes from the SF_ACCESS_TOKEN environment variable
// and cannot be refreshed; a long-running program gives auth.New an OAuth
// token source instead (auth.FromOAuth2 adapts golang.org/x/oauth2's).
package main
