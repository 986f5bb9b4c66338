// Package auth authenticates a Bayeux client with an OAuth access token
// that can be refreshed: the token of a TokenSource is sent as an HTTP
// "Authorization: Bearer <token>" header on every request and websocket
// upgrade (and, with WithExtField, in the handshake's ext), and replaced
// when the server refuses it, as Salesforce's Streaming API requires.
//
// The token is refreshed (the source is asked again) when it expired (its
// Expiry passed, or an adapted golang.org/x/oauth2 token is no longer
// Valid), and when the server refuses it, in any of the ways servers do:
// an HTTP 401 or 403 answer, an error "401::Authentication invalid" in a
// reply (the client then handshakes again), or a denied handshake, which
// is retried with the new token after the client's backoff, up to
// WithMaxRefreshes times in a row, even when the server advised not to
// retry (Salesforce's "403::Handshake denied"). Over websocket, a new
// token also opens a new connection, since the server checks the token
// of the upgrade.
//
// A golang.org/x/oauth2 TokenSource is used as it is, through FromOAuth2;
// this package does not depend on golang.org/x/oauth2:
//
//	c, err := bayeux.NewClient(url, bayeux.WithExtensions(auth.New(auth.FromOAuth2(ts))))
//
// Tokens never appear in logs or errors: a Token prints and logs as
// "[redacted]", and the errors of a source are wrapped in ErrTokenSource
// without the token.
package auth
