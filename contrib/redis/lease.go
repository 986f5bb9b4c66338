package bayeuxredis

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// ErrLeaseLost is returned by Lease.Renew when the lease is no longer held
// by this token: it expired, or another member of the group holds it now.
var ErrLeaseLost = errors.New("bayeuxredis: lease lost")

// renewScript extends the lease only while it holds the caller's token.
var renewScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0`)

// releaseScript deletes the lease only while it holds the caller's token.
var releaseScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0`)

// Lease is one tenure of a group's lease: a Redis key set with NX and a TTL
// holding a random token. At most one Lease of a group holds the key at a
// time. Renew and Release change the key only while it still holds this
// Lease's token (a compare-and-set in a Lua script), so a holder that lost
// the lease can neither extend nor delete its successor's.
//
// A Lease is not safe for concurrent use.
type Lease struct {
	rdb   redis.UniversalClient
	key   string
	token string
	ttl   time.Duration
}

// AcquireLease tries once to take the lease of group for ttl. It returns
// (nil, nil) when another member holds it, and an error when Redis could
// not be asked.
func AcquireLease(ctx context.Context, rdb redis.UniversalClient, group string, ttl time.Duration) (*Lease, error) {
	if ttl < time.Millisecond {
		return nil, fmt.Errorf("bayeuxredis: lease TTL %v is below 1ms", ttl)
	}
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, err
	}
	l := &Lease{rdb: rdb, key: groupKeys(group).lease, token: hex.EncodeToString(b[:]), ttl: ttl}
	ok, err := rdb.SetNX(ctx, l.key, l.token, ttl).Result()
	if err != nil {
		return nil, fmt.Errorf("bayeuxredis: acquire lease %s: %w", l.key, err)
	}
	if !ok {
		return nil, nil
	}
	return l, nil
}

// Token returns the lease's random token, which fences the writes of the
// holder's Store.
func (l *Lease) Token() string { return l.token }

// TTL returns the lease's time to live, set again by each Renew.
func (l *Lease) TTL() time.Duration { return l.ttl }

// Renew sets the lease's time to live to TTL again, if it still holds this
// token; otherwise it returns ErrLeaseLost.
func (l *Lease) Renew(ctx context.Context) error {
	n, err := renewScript.Run(ctx, l.rdb, []string{l.key}, l.token, l.ttl.Milliseconds()).Int()
	if err != nil {
		return fmt.Errorf("bayeuxredis: renew lease %s: %w", l.key, err)
	}
	if n != 1 {
		return ErrLeaseLost
	}
	return nil
}

// Release deletes the lease if it still holds this token, so that another
// member takes over at once instead of after the TTL.
func (l *Lease) Release(ctx context.Context) error {
	if err := releaseScript.Run(ctx, l.rdb, []string{l.key}, l.token).Err(); err != nil {
		return fmt.Errorf("bayeuxredis: release lease %s: %w", l.key, err)
	}
	return nil
}
