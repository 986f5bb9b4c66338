package websocket

import (
	"errors"
	"maps"
	"net/http"
	"slices"
)

// withClientHeader returns header with the client's headers (WithHeader,
// HeaderExtension) added, and records them as those of the connection
// being dialed.
func (t *Transport) withClientHeader(header http.Header) http.Header {
	if t.cfg.Header == nil {
		return header
	}
	client := make(http.Header)
	t.cfg.Header(client)
	header = header.Clone()
	if header == nil {
		header = make(http.Header, len(client))
	}
	maps.Copy(header, client)
	t.mu.Lock()
	t.dialed = client
	t.mu.Unlock()
	return header
}

// redialIfHeaderChanged tears the open connection before a handshake when
// the client's headers changed since it was dialed (a refreshed
// Authorization token, say): a server that authenticates the upgrade binds
// the connection to the old headers, so the new session needs a new
// connection.
func (t *Transport) redialIfHeaderChanged() {
	if t.cfg.Header == nil {
		return
	}
	now := make(http.Header)
	t.cfg.Header(now)
	t.mu.Lock()
	c, dialed := t.conn, t.dialed
	t.mu.Unlock()
	if c == nil || c.torn.Load() || maps.EqualFunc(now, dialed, slices.Equal) {
		return
	}
	t.logger.Debug("bayeux websocket redials: the client's headers changed", "client", t.cfg.ClientName)
	c.tear(transportError(errors.New("websocket: the client's headers changed")))
}

// refusedCredentials reports whether an HTTP status refusing the upgrade
// asks for credentials (401, 403) rather than refusing the transport: the
// client may then try again with new ones.
func refusedCredentials(status int) bool {
	return status == http.StatusUnauthorized || status == http.StatusForbidden
}
