package transporttest_test

import (
	"fmt"
	"testing"

	"github.com/bayeux-go/sdk/bayeux"
	"github.com/bayeux-go/sdk/transport/longpoll"
	"github.com/bayeux-go/sdk/transport/transporttest"
)

// countingTB counts the failures Check reports (a test would pass its
// *testing.T to Run instead).
type countingTB struct {
	testing.TB
	failures int
}

func (c *countingTB) Helper()               {}
func (c *countingTB) Fail()                 {}
func (c *countingTB) Errorf(string, ...any) { c.failures++ }

func ExampleCheck() {
	tb := &countingTB{}
	transporttest.Check(tb, func() bayeux.Transport { return longpoll.New() })
	fmt.Println(tb.failures, "failures")
	// Output:
	// 0 failures
}
