package conformance_test

import (
	"context"
	"fmt"
	"time"

	"github.com/bayeux-go/sdk/bayeux/bayeuxtest"
	"github.com/bayeux-go/sdk/conformance"
)

// Run the suite against a server and assert on the report.
func ExampleRun() {
	srv := bayeuxtest.NewServer(bayeuxtest.WithTimeout(time.Second), bayeuxtest.WithCookieBinding(true))
	defer srv.Close()
	rep, err := conformance.Run(context.Background(), srv.URL, conformance.WithCases("subscribe.", "publish."))
	if err != nil {
		fmt.Println(err)
		return
	}
	r, _ := rep.Result("publish.no-clientid-leak")
	fmt.Println(r.Level, r.Status, rep.Passed())
	// Output: MUST pass true
}
