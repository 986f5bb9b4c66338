package bayeux

// MessageExtender defines the interface that extensions are expected to
// implement. Extensions see and may change every message the client sends
// and receives, meta messages included.
//
// Order: Incoming runs in registration order; Outgoing runs in reverse
// registration order, as CometD does, so that the first extension
// registered is the closest to the wire in both directions.
//
// Outgoing receives the message about to be sent (after the client set its
// id, clientId and fields) and may change it in place; the changes are what
// goes on the wire (the gobayeux seed lost them). Incoming receives each
// message as decoded, before the client acts on it; changes are what the
// client and subscribers see. Registered is called when the extension is
// added with UseExtension, with its name and the low-level client it is
// attached to; Unregistered when it is removed or the client is
// disconnected.
type MessageExtender interface {
	Outgoing(*Message)
	Incoming(*Message)
	Registered(extensionName string, client *BayeuxClient)
	Unregistered()
}

// NamedExtension may be implemented by a MessageExtender to give the name
// passed to Registered; otherwise the name is the extension's Go type.
type NamedExtension interface {
	Name() string
}
