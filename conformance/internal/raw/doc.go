// Package raw adapts the SDK's wire package to the conformance suite:
// HTTP exchanges sent without retries that keep the status, headers,
// cookies and body as the server sent them; websocket connections read and
// written frame by frame; and messages decoded strictly (wire.Decode) with
// accessors for the fields a case inspects and the findings (case-folded
// keys, duplicate keys, unknown fields, wrong types) sorted per message.
// Nothing here retries, queues or matches replies: the suite must see the
// server as it is.
package raw
