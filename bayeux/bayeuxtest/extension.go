package bayeuxtest

import "github.com/bayeux-go/sdk/bayeux"

// Extension is a server-side extension: it sees, and may change, every
// message the server receives and sends, meta messages included, like the
// server extensions of CometD and Faye. The ack, replay and timesync
// extensions of later issues plug in here.
//
// Incoming is called for each message the server processes, in the order
// extensions were added, before the server acts on it. It may change the
// message in place; setting m.Error makes the server answer the message
// unsuccessfully with that error instead of processing it (a handshake
// denied this way also gets advice {"reconnect":"none"}). Messages that the
// specification says to ignore (those batched with a handshake) are not
// passed to Incoming; Server.Received still records them.
//
// Outgoing is called for each message the server sends (replies and
// events), in reverse order of addition, just before it is encoded. It may
// change the message in place. An event delivered to several sessions is
// passed to Outgoing once per session, each time as its own copy (its Ext
// map is copied one level deep; Data must not be modified in place, assign
// a new slice instead).
//
// Both methods are called from the goroutines serving requests, concurrently,
// and never with the server's lock held, so they may call Server methods.
type Extension interface {
	Incoming(m *bayeux.Message)
	Outgoing(m *bayeux.Message)
}

// ExtensionFuncs adapts two functions to Extension; a nil function is
// skipped.
type ExtensionFuncs struct {
	// In is called as Extension.Incoming.
	In func(m *bayeux.Message)
	// Out is called as Extension.Outgoing.
	Out func(m *bayeux.Message)
}

// Incoming calls f.In if it is set.
func (f ExtensionFuncs) Incoming(m *bayeux.Message) {
	if f.In != nil {
		f.In(m)
	}
}

// Outgoing calls f.Out if it is set.
func (f ExtensionFuncs) Outgoing(m *bayeux.Message) {
	if f.Out != nil {
		f.Out(m)
	}
}
