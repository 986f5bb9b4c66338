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
// reply (on a /meta/connect Salesforce advises reconnect "none": the
// client handshakes again all the same, with the new token), or a
// handshake denied for authentication (Salesforce's "403::Handshake
// denied" whose ext.sfdc.failureReason is "401::Authentication invalid"),
// which is retried with the new token after the client's backoff, up to
// WithMaxRefreshes times in a row, even though the server advised not to
// retry. Over websocket, a new token also opens a new connection, since
// the server checks the token of the upgrade.
//
// Any other denial is not a token's fault and is left as the server sent
// it: a handshake denied for Salesforce's concurrent-client limit or daily
// limit ends the client with the server's advice, and its
// *bayeux.ServerError matches bayeux.ErrConcurrentClientLimit or
// bayeux.ErrDailyLimit (a bad token, once the refreshes are spent,
// matches bayeux.ErrAuthentication).
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
