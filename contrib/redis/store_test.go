package bayeuxredis

import (
	"errors"
	"testing"
	"time"

	"github.com/bayeux-go/sdk/bayeux"
)

func TestStoreFencedWrites(t *testing.T) {
	withBackends(t, func(t *testing.T, b *backend) {
		ctx := testCtx(t, 10*time.Second)
		rdb := newRedis(t, b)
		k := groupKeys("store-test")
		a := must(AcquireLease(ctx, rdb, "store-test", 5*time.Second))
		s, err := OpenStore(ctx, rdb, "store-test", a.Token(), WithStoreFlushInterval(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		for i := int64(1); i <= 1000; i++ {
			s.Save("/event/A", i)
			s.Save("/event/B", 2*i)
		}
		if err := s.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		if got := rdb.HGetAll(ctx, k.positions).Val(); got["/event/A"] != "1000" || got["/event/B"] != "2000" {
			t.Fatalf("positions after flush = %v", got)
		}
		if scripts, positions := s.Writes(); scripts != 1 || positions != 2 {
			t.Fatalf("2000 saves flushed once: %d scripts, %d positions; want 1 and 2", scripts, positions)
		}

		// Another member takes over: the old store's writes are refused,
		// atomically, and it moves the position neither forward nor back.
		rdb.Del(ctx, k.lease)
		bl := must(AcquireLease(ctx, rdb, "store-test", 5*time.Second))
		s.Save("/event/A", 5000)
		s.Save("/event/B", 1)
		if err := s.Flush(ctx); !errors.Is(err, ErrFenced) {
			t.Fatalf("Flush after takeover = %v, want ErrFenced", err)
		}
		if !s.Fenced() {
			t.Fatal("Fenced() = false after a refused write")
		}
		s.Save("/event/A", 6000)
		if err := s.Close(ctx); !errors.Is(err, ErrFenced) {
			t.Fatalf("Close of a fenced store = %v, want ErrFenced", err)
		}
		if got := rdb.HGetAll(ctx, k.positions).Val(); got["/event/A"] != "1000" || got["/event/B"] != "2000" {
			t.Fatalf("a deposed store changed the positions: %v", got)
		}

		// The new holder's store reads them and writes.
		s2, err := OpenStore(ctx, rdb, "store-test", bl.Token())
		if err != nil {
			t.Fatal(err)
		}
		if id, ok := s2.Load("/event/A"); !ok || id != 1000 {
			t.Fatalf("new store Load = %d, %v; want 1000", id, ok)
		}
		s2.Save("/event/A", 1001)
		waitFor(t, 2*time.Second, "the background write", func() bool {
			return rdb.HGet(ctx, k.positions, "/event/A").Val() == "1001"
		})
		if err := s2.Close(ctx); err != nil {
			t.Fatal(err)
		}
		s2.Save("/event/A", 1002) // after Close: ignored
		if id, _ := s2.Load("/event/A"); id != 1001 {
			t.Fatalf("Save after Close changed the store to %d", id)
		}
	})
}

func TestStoreRefusesWhenLeaseExpired(t *testing.T) {
	b := newMiniredis(t)
	ctx := testCtx(t, 5*time.Second)
	rdb := newRedis(t, b)
	a := must(AcquireLease(ctx, rdb, "g", 50*time.Millisecond))
	s := must(OpenStore(ctx, rdb, "g", a.Token()))
	defer s.abandon()
	waitFor(t, 2*time.Second, "the lease to expire", func() bool {
		return rdb.Exists(ctx, groupKeys("g").lease).Val() == 0
	})
	s.Save(bayeux.Channel("/event/A"), 7)
	if err := s.Flush(ctx); !errors.Is(err, ErrFenced) {
		t.Fatalf("Flush with an expired lease = %v, want ErrFenced", err)
	}
	if n := rdb.Exists(ctx, groupKeys("g").positions).Val(); n != 0 {
		t.Fatal("a store whose lease expired wrote a position")
	}
}

func TestOpenStoreCorruptPosition(t *testing.T) {
	b := newMiniredis(t)
	ctx := testCtx(t, 5*time.Second)
	rdb := newRedis(t, b)
	rdb.HSet(ctx, groupKeys("g").positions, "/event/A", "twelve")
	_, err := OpenStore(ctx, rdb, "g", "token")
	var pe *PositionError
	if !errors.As(err, &pe) || pe.Channel != "/event/A" || pe.Value != "twelve" {
		t.Fatalf("OpenStore over a corrupt position = %v, want a *PositionError", err)
	}
}
