package replay

import (
	"maps"
	"sync"

	"github.com/bayeux-go/sdk/bayeux"
)

// Store keeps the replay id of the last event handled on each channel.
// Implementations must be safe for concurrent use.
type Store interface {
	// Load returns the id stored for channel, and false when there is
	// none.
	Load(channel bayeux.Channel) (id int64, ok bool)
	// Save stores id for channel. It is called for every event handled,
	// on the subscription's goroutine: it must not block (no I/O on the
	// calling goroutine) and should not allocate once the channel is
	// known.
	Save(channel bayeux.Channel, id int64)
}

// MemoryStore is a Store in memory, for the life of the process.
type MemoryStore struct {
	mu  sync.Mutex
	ids map[bayeux.Channel]int64
}

// NewMemoryStore returns an empty MemoryStore.
func NewMemoryStore() *MemoryStore {
	return &MemoryStore{ids: make(map[bayeux.Channel]int64)}
}

// Load returns the id stored for channel.
func (s *MemoryStore) Load(channel bayeux.Channel) (int64, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id, ok := s.ids[channel]
	return id, ok
}

// Save stores id for channel.
func (s *MemoryStore) Save(channel bayeux.Channel, id int64) {
	s.mu.Lock()
	s.ids[channel] = id
	s.mu.Unlock()
}

// Snapshot returns a copy of every stored id.
func (s *MemoryStore) Snapshot() map[bayeux.Channel]int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.ids)
}
