package replay

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/bayeux-go/sdk/bayeux"
)

// DefaultFlushInterval is how long a FileStore waits after a change before
// writing the file, so that it writes at most once per interval however
// many events arrive.
const DefaultFlushInterval = 500 * time.Millisecond

// ErrCorruptFile is wrapped by the error of OpenFileStore when the file is
// not a replay id file.
var ErrCorruptFile = errors.New("replay: corrupt replay id file")

// ErrStoreClosed is returned by Flush after Close.
var ErrStoreClosed = errors.New("replay: file store closed")

// FileStore is a Store kept in a file, so that a process that restarts
// resumes each channel where the previous one stopped. Save changes the
// ids in memory and schedules a write; the file is written at most once
// per flush interval, atomically (a temporary file in the same directory,
// synced, then renamed over the file, and the directory synced), so that
// after a crash the file holds either the previous or the new ids, never
// a mix or a truncated file. A crash loses at most the changes of the last
// interval: the events after the id on file are delivered again after
// the restart, none is missed.
//
// Close writes the last changes; call it before the process exits.
type FileStore struct {
	path     string
	interval time.Duration

	mu      sync.Mutex
	ids     map[bayeux.Channel]int64
	dirty   bool
	pending bool // the timer is set
	closed  bool
	timer   *time.Timer
	report  func(error)

	wmu sync.Mutex // serializes writes, so an older snapshot never wins
}

// FileOption configures a FileStore.
type FileOption func(*FileStore)

// WithFlushInterval sets the longest time a change waits before it is
// written (DefaultFlushInterval by default). Zero or negative: the
// default.
func WithFlushInterval(d time.Duration) FileOption {
	return func(s *FileStore) {
		if d > 0 {
			s.interval = d
		}
	}
}

// WithErrorHandler sets a function called with each failed background
// write (the replay extension also passes them to the client's error
// handler). It must not block.
func WithErrorHandler(fn func(error)) FileOption {
	return func(s *FileStore) { s.report = fn }
}

// fileFormat is the content of the file.
type fileFormat struct {
	Version   int              `json:"version"`
	ReplayIDs map[string]int64 `json:"replayIds"`
}

// OpenFileStore opens the replay id file at path, creating nothing until
// the first write; a missing file is an empty store. A file that cannot be
// read is an error (wrapping ErrCorruptFile when its content is not a
// replay id file).
func OpenFileStore(path string, opts ...FileOption) (*FileStore, error) {
	s := &FileStore{path: path, interval: DefaultFlushInterval}
	for _, o := range opts {
		if o != nil {
			o(s)
		}
	}
	b, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		s.ids = make(map[bayeux.Channel]int64)
	case err != nil:
		return nil, fmt.Errorf("replay: open file store: %w", err)
	default:
		if s.ids, err = parseFile(b); err != nil {
			return nil, fmt.Errorf("replay: open file store %s: %w", path, err)
		}
	}
	s.timer = time.AfterFunc(time.Hour, s.flushLater)
	s.timer.Stop()
	return s, nil
}

// parseFile decodes the content of a replay id file.
func parseFile(b []byte) (map[bayeux.Channel]int64, error) {
	var f fileFormat
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrCorruptFile, err)
	}
	if f.Version != 1 {
		return nil, fmt.Errorf("%w: version %d, want 1", ErrCorruptFile, f.Version)
	}
	ids := make(map[bayeux.Channel]int64, len(f.ReplayIDs))
	for ch, id := range f.ReplayIDs {
		if err := bayeux.Channel(ch).Validate(); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrCorruptFile, err)
		}
		ids[bayeux.Channel(ch)] = id
	}
	return ids, nil
}

// Path returns the file's path.
func (s *FileStore) Path() string { return s.path }

// Load returns the id stored for channel.
func (s *FileStore) Load(channel bayeux.Channel) (int64, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id, ok := s.ids[channel]
	return id, ok
}

// Save stores id for channel and schedules a write. It never blocks on
// I/O. After Close it changes nothing.
func (s *FileStore) Save(channel bayeux.Channel, id int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	if old, ok := s.ids[channel]; ok && old == id {
		return
	}
	s.ids[channel] = id
	s.dirty = true
	if !s.pending {
		s.pending = true
		s.timer.Reset(s.interval)
	}
}

// Flush writes the changes not yet on file now.
func (s *FileStore) Flush() error {
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if closed {
		return ErrStoreClosed
	}
	return s.write()
}

// Close writes the changes not yet on file and stops the store: later
// Saves change nothing. It is safe to call more than once.
func (s *FileStore) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.timer.Stop()
	s.mu.Unlock()
	return s.write()
}

// flushLater is the timer's function: a background write.
func (s *FileStore) flushLater() {
	if err := s.write(); err != nil {
		s.mu.Lock()
		report := s.report
		s.mu.Unlock()
		if report != nil {
			report(err)
		}
	}
}

func (s *FileStore) reportErrorsTo(fn func(error)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if prev := s.report; prev != nil {
		s.report = func(err error) { prev(err); fn(err) }
		return
	}
	s.report = fn
}

// write writes a snapshot of the ids if they changed since the last write.
func (s *FileStore) write() error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	s.mu.Lock()
	s.pending = false
	if !s.dirty {
		s.mu.Unlock()
		return nil
	}
	f := fileFormat{Version: 1, ReplayIDs: make(map[string]int64, len(s.ids))}
	for ch, id := range s.ids {
		f.ReplayIDs[string(ch)] = id
	}
	s.dirty = false
	s.mu.Unlock()
	b, err := json.Marshal(f)
	if err == nil {
		err = writeAtomic(s.path, b)
	}
	if err != nil {
		s.mu.Lock()
		s.dirty = true // the next Save, Flush or Close tries again
		s.mu.Unlock()
		return fmt.Errorf("replay: write %s: %w", s.path, err)
	}
	return nil
}

// Snapshot returns a copy of every stored id.
func (s *FileStore) Snapshot() map[bayeux.Channel]int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.ids)
}

// writeAtomic replaces the file at path with b: it writes a temporary
// file in the same directory, syncs it, renames it over path and syncs
// the directory, so that path holds the old or the new content whatever
// happens.
func writeAtomic(path string, b []byte) (err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	tmp, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if _, err = tmp.Write(b); err != nil {
		return err
	}
	if err = tmp.Sync(); err != nil {
		return err
	}
	if err = tmp.Close(); err != nil {
		return err
	}
	if err = os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	if d, derr := os.Open(dir); derr == nil {
		_ = d.Sync() // not supported everywhere; the rename is done
		d.Close()
	}
	return nil
}
