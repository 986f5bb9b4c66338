package bayeuxredis

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bayeux-go/sdk/bayeux"
	"github.com/bayeux-go/sdk/ext/replay"
	"github.com/redis/go-redis/v9"
)

// ErrFenced is returned by Store.Flush when Redis refused the write
// because the store's token no longer holds the group's lease: another
// member took over (or the lease expired), and this store changes the
// shared position no more.
var ErrFenced = errors.New("bayeuxredis: write refused: the lease is held by another token")

// ErrStoreClosed is returned by Store.Flush after Close.
var ErrStoreClosed = errors.New("bayeuxredis: store closed")

// DefaultFlushInterval is how long a Store waits after a change before it
// writes the changed positions to Redis, so that one round trip carries the
// changes of every event handled in the interval.
const DefaultFlushInterval = 20 * time.Millisecond

// commitScript writes positions only while the lease holds the writer's
// token: KEYS[1] the lease, KEYS[2] the positions hash, ARGV[1] the token,
// then channel, id pairs. It returns 1 when written, 0 when refused.
var commitScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return 0
end
for i = 2, #ARGV, 2 do
  redis.call('HSET', KEYS[2], ARGV[i], ARGV[i+1])
end
return 1`)

// StoreOption configures a Store.
type StoreOption func(*Store)

// WithStoreFlushInterval sets how long a change waits before it is written
// (DefaultFlushInterval by default; zero or negative: the default).
func WithStoreFlushInterval(d time.Duration) StoreOption {
	return func(s *Store) {
		if d > 0 {
			s.interval = d
		}
	}
}

// WithStoreErrorHandler sets a function called with each failed background
// write, ErrFenced included. It must not block.
func WithStoreErrorHandler(fn func(error)) StoreOption {
	return func(s *Store) { s.onError = fn }
}

// Store is a replay.Store kept in Redis and fenced by a group's lease: the
// shared position of a group, per channel the replay id of the last event
// the group finished with. Load reads the positions loaded when the store
// was opened and changed since; Save changes them in memory and a
// background goroutine writes the changes to Redis, batched: one Lua
// script per flush interval, whatever the number of events, which writes
// only while the lease still holds the store's token. Once Redis refuses a
// write (ErrFenced) the store is fenced: it writes nothing more.
//
// A Store serves one tenure of one lease; Consumer opens one per tenure.
type Store struct {
	rdb      redis.UniversalClient
	keys     keys
	token    string
	interval time.Duration
	onError  func(error)

	mu      sync.Mutex
	pos     map[bayeux.Channel]int64 // every position, as Load sees it
	dirty   map[bayeux.Channel]int64 // changed and not yet written
	closed  bool
	flushMu sync.Mutex // one write at a time

	fenced atomic.Bool
	wake   chan struct{}
	stop   chan struct{}
	done   chan struct{}
	// runCtx bounds the background writes; shut cancels it.
	runCtx    context.Context
	cancelRun context.CancelFunc

	writes  atomic.Int64 // scripts run (round trips)
	written atomic.Int64 // positions written
}

// OpenStore reads the positions of group from Redis and returns a Store
// whose writes are fenced by token (a Lease's Token). The caller must
// Close it.
func OpenStore(ctx context.Context, rdb redis.UniversalClient, group, token string, opts ...StoreOption) (*Store, error) {
	k := groupKeys(group)
	all, err := rdb.HGetAll(ctx, k.positions).Result()
	if err != nil {
		return nil, fmt.Errorf("bayeuxredis: read positions %s: %w", k.positions, err)
	}
	s := &Store{rdb: rdb, keys: k, token: token, interval: DefaultFlushInterval,
		pos: make(map[bayeux.Channel]int64, len(all)), dirty: make(map[bayeux.Channel]int64),
		wake: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	for ch, v := range all {
		id, err := parsePosition(ch, v)
		if err != nil {
			return nil, err
		}
		s.pos[bayeux.Channel(ch)] = id
	}
	for _, o := range opts {
		if o != nil {
			o(s)
		}
	}
	s.runCtx, s.cancelRun = context.WithCancel(context.Background())
	go s.run()
	return s, nil
}

// Load returns the position of channel.
func (s *Store) Load(channel bayeux.Channel) (int64, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id, ok := s.pos[channel]
	return id, ok
}

// Save sets the position of channel and schedules its write. It never
// blocks on Redis. After Close, or once fenced, it changes nothing.
func (s *Store) Save(channel bayeux.Channel, id int64) {
	if s.fenced.Load() {
		return
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.pos[channel] = id
	s.dirty[channel] = id
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Snapshot returns a copy of every position, as Load sees them.
func (s *Store) Snapshot() map[bayeux.Channel]int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := make(map[bayeux.Channel]int64, len(s.pos))
	for k, v := range s.pos {
		m[k] = v
	}
	return m
}

// Fenced reports whether Redis refused a write of this store because its
// token no longer holds the lease.
func (s *Store) Fenced() bool { return s.fenced.Load() }

// Writes returns how many writes (Lua scripts, one round trip each) the
// store sent to Redis, and how many positions they carried.
func (s *Store) Writes() (scripts, positions int64) { return s.writes.Load(), s.written.Load() }

// Flush writes the changes not yet written now. It returns ErrFenced when
// Redis refused them, ErrStoreClosed after Close.
func (s *Store) Flush(ctx context.Context) error {
	s.flushMu.Lock()
	defer s.flushMu.Unlock()
	if s.fenced.Load() {
		return ErrFenced
	}
	s.mu.Lock()
	if len(s.dirty) == 0 {
		s.mu.Unlock()
		return nil
	}
	batch := s.dirty
	s.dirty = make(map[bayeux.Channel]int64, len(batch))
	s.mu.Unlock()

	args := make([]any, 0, 1+2*len(batch))
	args = append(args, s.token)
	for ch, id := range batch {
		args = append(args, string(ch), formatPosition(id))
	}
	s.writes.Add(1)
	n, err := commitScript.Run(ctx, s.rdb, []string{s.keys.lease, s.keys.positions}, args...).Int()
	if err == nil && n != 1 {
		s.fenced.Store(true)
		return ErrFenced
	}
	if err != nil {
		// Keep the batch for the next flush, unless newer changes
		// replaced it meanwhile.
		s.mu.Lock()
		for ch, id := range batch {
			if _, newer := s.dirty[ch]; !newer {
				s.dirty[ch] = id
			}
		}
		s.mu.Unlock()
		return fmt.Errorf("bayeuxredis: write positions %s: %w", s.keys.positions, err)
	}
	s.written.Add(int64(len(batch)))
	return nil
}

// Close writes the changes not yet written (within ctx) and stops the
// store: later Saves change nothing. It returns the error of that last
// write. It is safe to call more than once.
func (s *Store) Close(ctx context.Context) error {
	s.shut()
	return s.Flush(ctx)
}

// abandon stops the store without writing its pending changes, as a
// process that dies does.
func (s *Store) abandon() {
	s.shut()
	s.mu.Lock()
	clear(s.dirty)
	s.mu.Unlock()
}

func (s *Store) shut() {
	s.mu.Lock()
	already := s.closed
	s.closed = true
	s.mu.Unlock()
	if !already {
		close(s.stop)
		s.cancelRun()
	}
	<-s.done
}

// run writes the changes at most once per interval.
func (s *Store) run() {
	defer close(s.done)
	for {
		select {
		case <-s.stop:
			return
		case <-s.wake:
		}
		t := time.NewTimer(s.interval)
		select {
		case <-s.stop:
			t.Stop()
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(s.runCtx, 5*time.Second)
		err := s.Flush(ctx)
		cancel()
		if err != nil && s.onError != nil && s.runCtx.Err() == nil {
			s.onError(err)
		}
		if err != nil && !errors.Is(err, ErrFenced) {
			// Retry after an interval.
			select {
			case s.wake <- struct{}{}:
			default:
			}
		}
		if s.fenced.Load() {
			return
		}
	}
}

var _ replay.Store = (*Store)(nil)
