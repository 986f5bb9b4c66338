package logtest_test

import (
	"fmt"
	"log/slog"
	"sync/atomic"

	"github.com/bayeux-go/sdk/internal/logtest"
)

// Counting the Debug records of one kind, and reading an attribute.
func Example() {
	var resent atomic.Int64
	log := slog.New(logtest.Func(func(r slog.Record) {
		if r.Message != "resent" {
			return
		}
		if v, ok := logtest.Attr(r, "events"); ok {
			resent.Add(v.Int64())
		}
	}))
	log.Debug("resent", "events", 3)
	log.Info("other", "events", 100)
	log.Debug("resent", "events", 2)
	fmt.Println(resent.Load())
	// Output: 5
}
