package replay_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/bayeux-go/sdk/ext/replay"
)

// FuzzOpenFileStore feeds arbitrary file contents to OpenFileStore: it
// returns a store or an error, never panics, and a store it opens writes
// a file it opens again with the same ids.
func FuzzOpenFileStore(f *testing.F) {
	f.Add([]byte(`{"version":1,"replayIds":{"/event/Order__e":12,"/data/ChangeEvents":-2}}`))
	f.Add([]byte(`{"version":1,"replayIds":{}}`))
	f.Add([]byte(`{"version":1,"replayIds":{"/a":1e3}}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, content []byte) {
		dir := t.TempDir()
		path := filepath.Join(dir, "ids.json")
		if err := os.WriteFile(path, content, 0o600); err != nil {
			t.Fatal(err)
		}
		s, err := replay.OpenFileStore(path)
		if err != nil {
			return
		}
		before := s.Snapshot()
		for ch, id := range before {
			s.Save(ch, id+1)
			s.Save(ch, id)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		r, err := replay.OpenFileStore(path)
		if err != nil {
			t.Fatalf("rewritten file does not open: %v", err)
		}
		defer r.Close()
		after := r.Snapshot()
		if len(after) != len(before) {
			t.Fatalf("ids %v became %v", before, after)
		}
		for ch, id := range before {
			if after[ch] != id {
				t.Fatalf("ids %v became %v", before, after)
			}
		}
	})
}
