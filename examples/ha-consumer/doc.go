// Command ha-consumer is one member of a highly available consumer group
// (contrib/redis): run it three times with the same -group and -redis, and
// one of them consumes -channel while the others wait; kill that one and
// another takes over, resuming right after the last event the group
// committed.
//
//	bayeux serve --replay &                       # a server with a replay log
//	go run ./examples/ha-consumer -name a &       # three members of the group
//	go run ./examples/ha-consumer -name b &
//	go run ./examples/ha-consumer -name c &
//	go run ./examples/ha-consumer -publish 200    # 200 events a second
//
// Delivery is at least once: after a member dies, the events it processed
// but had not committed yet are delivered again to the next one. The
// handler is idempotent: it marks each replay id done in Redis (SET NX)
// and skips an event already marked, so each event is handled once
// across the group, crashes included.
package main
