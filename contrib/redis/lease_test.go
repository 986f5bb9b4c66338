package bayeuxredis

import (
	"errors"
	"testing"
	"time"
)

func TestLease(t *testing.T) {
	withBackends(t, func(t *testing.T, b *backend) {
		ctx := testCtx(t, 10*time.Second)
		rdb := newRedis(t, b)
		const ttl = 300 * time.Millisecond
		a, err := AcquireLease(ctx, rdb, "lease-test", ttl)
		if err != nil || a == nil {
			t.Fatalf("first AcquireLease = %v, %v; want the lease", a, err)
		}
		if other, err := AcquireLease(ctx, rdb, "lease-test", ttl); err != nil || other != nil {
			t.Fatalf("second AcquireLease while held = %v, %v; want nil, nil", other, err)
		}
		if err := a.Renew(ctx); err != nil {
			t.Fatalf("Renew of the holder: %v", err)
		}
		if pttl := rdb.PTTL(ctx, groupKeys("lease-test").lease).Val(); pttl <= 0 || pttl > ttl {
			t.Fatalf("lease PTTL after renew = %v, want in (0, %v]", pttl, ttl)
		}
		// Let it expire; another member takes it; the old one can neither
		// renew nor release the new one's lease.
		waitFor(t, 3*time.Second, "the lease to expire", func() bool {
			return rdb.Exists(ctx, groupKeys("lease-test").lease).Val() == 0
		})
		bl, err := AcquireLease(ctx, rdb, "lease-test", ttl)
		if err != nil || bl == nil {
			t.Fatalf("AcquireLease after expiry = %v, %v", bl, err)
		}
		if err := a.Renew(ctx); !errors.Is(err, ErrLeaseLost) {
			t.Fatalf("Renew of the deposed holder = %v, want ErrLeaseLost", err)
		}
		if err := a.Release(ctx); err != nil {
			t.Fatal(err)
		}
		if got := rdb.Get(ctx, groupKeys("lease-test").lease).Val(); got != bl.Token() {
			t.Fatalf("the deposed holder's Release changed the lease to %q", got)
		}
		if err := bl.Release(ctx); err != nil {
			t.Fatal(err)
		}
		if n := rdb.Exists(ctx, groupKeys("lease-test").lease).Val(); n != 0 {
			t.Fatal("Release of the holder left the lease")
		}
	})
}

func TestAcquireLeaseRefusesTinyTTL(t *testing.T) {
	b := newMiniredis(t)
	if _, err := AcquireLease(testCtx(t, time.Second), newRedis(t, b), "g", time.Microsecond); err == nil {
		t.Fatal("AcquireLease with a 1µs TTL succeeded")
	}
}
