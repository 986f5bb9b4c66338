package bayeuxredis_test

import (
	"context"
	"fmt"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/bayeux-go/sdk/bayeux"
	"github.com/bayeux-go/sdk/bayeux/bayeuxtest"
	"github.com/bayeux-go/sdk/contrib/redis"
	"github.com/bayeux-go/sdk/ext/replay"
)

// A member of the group "orders": it takes the lease, resumes from the
// group's position (none yet: every retained event) and handles events;
// the position moves when the handler returns.
func ExampleConsumer() {
	srv := bayeuxtest.NewServer(bayeuxtest.WithReplay(0))
	defer srv.Close()
	for i := range 3 {
		_, _ = srv.PublishEvent("/event/Order__e", map[string]int{"n": i})
	}
	mr := miniredis.NewMiniRedis()
	if err := mr.Start(); err != nil {
		panic(err)
	}
	defer mr.Close()
	rdb := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	defer rdb.Close()

	c, err := bayeuxredis.NewConsumer(rdb, "orders", srv.URL, bayeuxredis.WithStart(replay.StartAll))
	if err != nil {
		panic(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	n := 0
	err = c.Handle("/event/Order__e", func(_ context.Context, e *bayeuxredis.Event) {
		// An idempotent handler uses e.ReplayID as its key.
		payload, _ := bayeux.RawField(e.Message.Data, "payload")
		fmt.Println("event", e.ReplayID, string(payload))
		if n++; n == 3 {
			// Done with it: commit now. Once Run is ending, an event
			// whose handler returns is not committed (the handler may
			// have given up) and the next holder gets it again.
			_ = e.Ack()
			cancel()
		}
	})
	if err != nil {
		panic(err)
	}
	if err := c.Run(ctx); err != nil {
		panic(err)
	}
	fmt.Println("position:", rdb.HGet(context.Background(), "bayeux:{orders}:positions", "/event/Order__e").Val())
	// Output:
	// event 1 {"n":0}
	// event 2 {"n":1}
	// event 3 {"n":2}
	// position: 3
}
