package replay_test

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/bayeux-go/sdk/bayeux"
	"github.com/bayeux-go/sdk/ext/replay"
)

// A process that restarts resumes from the file: the second client
// receives exactly the events published while no client ran.
func TestFileStoreAcrossRestart(t *testing.T) {
	srv := salesforceServer(t, nil)
	path := filepath.Join(t.TempDir(), "replay.json")

	run := func(handled []int64) []int64 {
		store, err := replay.OpenFileStore(path, replay.WithFlushInterval(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		c := connect(t, srv, "long-polling", nil, replay.New(replay.WithStore(store)))
		got := newIDs()
		if _, err := c.Subscribe(testCtx(t), orders, got.handle); err != nil {
			t.Fatal(err)
		}
		if handled == nil {
			handled = publish(t, srv, orders, 3)
		}
		all := got.until(t, handled[len(handled)-1])
		if err := c.Disconnect(testCtx(t)); err != nil {
			t.Fatal(err)
		}
		if err := store.Close(); err != nil {
			t.Fatal(err)
		}
		return all
	}
	first := run(nil)
	missed := publish(t, srv, orders, 2)
	if second := run(missed); !slices.Equal(second, missed) {
		t.Fatalf("after the restart handled %v, want %v (first run: %v)", second, missed, first)
	}
}

func TestFileStoreRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ids.json")
	s, err := replay.OpenFileStore(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := s.Load(orders); ok {
		t.Fatal("a new store has ids")
	}
	s.Save(orders, 7)
	s.Save("/data/ChangeEvents", -2)
	if err := s.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if err := s.Flush(); !errors.Is(err, replay.ErrStoreClosed) {
		t.Fatalf("Flush after Close: %v", err)
	}
	s.Save(orders, 8) // ignored after Close
	r, err := replay.OpenFileStore(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	want := map[bayeux.Channel]int64{orders: 7, "/data/ChangeEvents": -2}
	if got := r.Snapshot(); len(got) != 2 || got[orders] != 7 || got["/data/ChangeEvents"] != -2 {
		t.Fatalf("reopened %v, want %v", got, want)
	}
}

// Saves are coalesced: nothing is written before the interval, then the
// last value is.
func TestFileStoreCoalescesWrites(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ids.json")
	s, err := replay.OpenFileStore(path, replay.WithFlushInterval(50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 1000 {
				s.Save(bayeux.Channel("/event/E"+string(rune('a'+g))+"__e"), int64(i))
			}
		})
	}
	wg.Wait()
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("written before the interval: %v", err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		b, err := os.ReadFile(path)
		if err == nil {
			r, err := replay.OpenFileStore(path)
			if err != nil {
				t.Fatalf("file %s: %v", b, err)
			}
			got := r.Snapshot()
			r.Close()
			if len(got) != 4 || got["/event/Ea__e"] != 999 || got["/event/Ed__e"] != 999 {
				t.Fatalf("file holds %v", got)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("never written")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if tmps, _ := filepath.Glob(filepath.Join(filepath.Dir(path), ".ids.json.tmp-*")); len(tmps) != 0 {
		t.Errorf("temporary files left: %v", tmps)
	}
}

// A crash during a write leaves a temporary file and the previous file
// intact: the store opens with the previous ids.
func TestFileStoreSurvivesInterruptedWrite(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "ids.json")
	s, _ := replay.OpenFileStore(path)
	s.Save(orders, 5)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, ".ids.json.tmp-123"), []byte(`{"version":1,"replayIds":{"/event/Or`), 0o600); err != nil {
		t.Fatal(err)
	}
	r, err := replay.OpenFileStore(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if id, ok := r.Load(orders); !ok || id != 5 {
		t.Fatalf("Load = %d, %v; want 5", id, ok)
	}
}

func TestFileStoreCorrupt(t *testing.T) {
	for _, content := range []string{`{"version":1,"replayIds":{"/event/Or`, `{"version":2,"replayIds":{}}`, `{"version":1,"replayIds":{"no-slash":1}}`, `[]`} {
		path := filepath.Join(t.TempDir(), "ids.json")
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := replay.OpenFileStore(path); !errors.Is(err, replay.ErrCorruptFile) {
			t.Errorf("OpenFileStore(%s) error %v, want ErrCorruptFile", content, err)
		}
	}
}

// A failed background write goes to the error handler, and Flush returns
// it.
func TestFileStoreWriteError(t *testing.T) {
	path := filepath.Join(t.TempDir(), "missing-dir", "ids.json")
	failed := make(chan error, 1)
	s, err := replay.OpenFileStore(path, replay.WithFlushInterval(time.Millisecond),
		replay.WithErrorHandler(func(err error) {
			select {
			case failed <- err:
			default:
			}
		}))
	if err != nil {
		t.Fatal(err)
	}
	s.Save(orders, 1)
	select {
	case err := <-failed:
		if !errors.Is(err, os.ErrNotExist) {
			t.Errorf("reported %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("write error not reported")
	}
	if err := s.Flush(); err == nil {
		t.Error("Flush succeeded into a missing directory")
	}
	if err := s.Close(); err == nil {
		t.Error("Close succeeded into a missing directory")
	}
}
