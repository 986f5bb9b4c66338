package replay_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/bayeux-go/sdk/bayeux"
	"github.com/bayeux-go/sdk/bayeux/bayeuxtest"
	"github.com/bayeux-go/sdk/ext/replay"
	"github.com/bayeux-go/sdk/transport/longpoll"
)

// A client that starts from every retained event (StartAll) and keeps the
// last replay id in a file, so that a restarted process resumes after it.
func Example() {
	srv := bayeuxtest.NewServer(bayeuxtest.WithReplay(0), bayeuxtest.WithOneChannelSubscriptions(true))
	defer srv.Close()
	for i := 1; i <= 3; i++ {
		_, _ = srv.PublishEvent("/event/Order__e", map[string]int{"Order_Number__c": i})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	dir, _ := os.MkdirTemp("", "replay-example")
	defer os.RemoveAll(dir)
	store, err := replay.OpenFileStore(filepath.Join(dir, "replay-ids.json"))
	if err != nil {
		fmt.Println(err)
		return
	}
	c, err := bayeux.NewClient(srv.URL,
		bayeux.WithTransports(longpoll.New()),
		bayeux.WithExtensions(replay.New(replay.WithStore(store), replay.WithStart(replay.StartAll))))
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := c.Connect(ctx); err != nil {
		fmt.Println(err)
		return
	}
	got := make(chan int64, 3)
	if _, err := c.Subscribe(ctx, "/event/Order__e", func(m bayeux.Message) {
		id, _ := bayeux.RawInt(m.Data, "event", "replayId")
		got <- id
	}); err != nil {
		fmt.Println(err)
		return
	}
	for range 3 {
		fmt.Println("handled event", <-got)
	}
	_ = c.Disconnect(ctx)
	<-c.Done()        // the last handler has returned and its id is stored
	_ = store.Close() // writes the last id
	id, _ := store.Load("/event/Order__e")
	fmt.Println("next run resumes after", id)
	// Output:
	// handled event 1
	// handled event 2
	// handled event 3
	// next run resumes after 3
}
