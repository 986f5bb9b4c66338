package bayeux

import "sync"

// registry holds the default transports registered by transport packages
// from their init functions. The mutex guards names and factories.
var registry struct {
	sync.Mutex
	names     []string
	factories map[string]func() Transport
}

// RegisterTransport makes a transport available to clients created without
// WithTransports (and to NewBayeuxClient): such a client uses a new
// instance of every registered transport, in registration order. The
// transport/longpoll package registers itself when imported, so that
//
//	import _ "github.com/bayeux-go/sdk/transport/longpoll"
//
// is enough for the defaults. Registering a name again replaces its factory.
// Clients given WithTransports ignore the registry.
func RegisterTransport(connectionType string, newTransport func() Transport) {
	registry.Lock()
	defer registry.Unlock()
	if registry.factories == nil {
		registry.factories = make(map[string]func() Transport)
	}
	if _, ok := registry.factories[connectionType]; !ok {
		registry.names = append(registry.names, connectionType)
	}
	registry.factories[connectionType] = newTransport
}

// registeredTransports returns new instances of the registered transports.
func registeredTransports() []Transport {
	registry.Lock()
	defer registry.Unlock()
	ts := make([]Transport, 0, len(registry.names))
	for _, n := range registry.names {
		ts = append(ts, registry.factories[n]())
	}
	return ts
}
