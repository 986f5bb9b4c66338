package replay

import "testing"

// recentIDs forgets the oldest ids beyond its size, and only those.
func TestRecentIDs(t *testing.T) {
	var r recentIDs
	for id := range int64(recentSize + 10) {
		if r.seen(id) {
			t.Fatalf("%d seen before it was added", id)
		}
		r.add(id)
	}
	for id := range int64(recentSize + 10) {
		if want := id >= 10; r.seen(id) != want {
			t.Fatalf("seen(%d) = %v, want %v", id, !want, want)
		}
	}
	if len(r.set) != recentSize {
		t.Fatalf("%d ids remembered, want %d", len(r.set), recentSize)
	}
}
