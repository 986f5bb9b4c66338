// Package bayeuxredis runs a Bayeux consumer as a group of processes that
// share one replay position in Redis, so that a service consuming
// Salesforce Change Data Capture or Platform Events (or any server with the
// replay extension) can run several replicas without processing each event
// once per replica, and without an outage when one replica dies.
//
// It is a module of its own (github.com/bayeux-go/sdk/contrib/redis) so
// that programs that do not use Redis get no go-redis in their go.sum.
//
// # How it works
//
// Every member of a group (same group name, same Redis) runs a Consumer.
// At most one holds the group's lease, a Redis key set with SET NX PX and a
// random token; it renews the lease every renew interval and releases it on
// a clean shutdown. The holder subscribes with the replay extension,
// resuming each channel right after the group's shared position; the others
// try to take the lease every acquire interval and take over when it is
// released or expires.
//
// The shared position (per channel, the replay id of the last event the
// group finished with) is a Redis hash written by a fenced Store: each write
// carries the writer's lease token, and one Lua script refuses it when the
// token no longer holds the lease. A deposed holder therefore moves the
// position neither back nor forward. Writes leave the delivery path: a
// commit changes the position in memory, and a background goroutine writes
// the changes of each flush interval in one round trip.
//
// # The guarantee: at least once
//
// The position moves only after the handler returned (or when the
// application calls Event.Ack, with WithManualAck). A new holder resumes
// right after the last position written: no event is skipped. The events
// that were processed but whose position was not yet written when the
// previous holder died (at most those of its last flush interval, plus
// those handled while Redis was unreachable) are delivered again to the new
// holder. Handlers must therefore be idempotent; the event's replay id
// (Event.ReplayID) is the natural key. Within one tenure each event is
// handled once.
//
// A holder that cannot renew its lease stops delivering (no handler is
// called after, the handler's context is cancelled, the session is
// disconnected) at the time its last successful renewal was sent plus the
// TTL minus a safety margin: before Redis can let the lease expire and
// give it to another member, as long as the clocks of the holder and of
// Redis run at rates that differ by less than margin/TTL. docs/ha.md gives
// the timing argument and what a failover of Redis itself can do.
package bayeuxredis
