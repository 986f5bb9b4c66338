package conformance_test

import (
	"context"
	"fmt"
	"os"
	"testing"

	"github.com/bayeux-go/sdk/conformance"
)

func TestQuickURL(t *testing.T) {
	u := os.Getenv("CF_URL")
	if u == "" {
		t.Skip()
	}
	rep, err := conformance.Run(context.Background(), u)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rep.Results {
		if r.Status != conformance.Pass {
			fmt.Printf("%-32s %-5s %.400s\n", r.ID, r.Status, r.Seen)
		}
	}
	fmt.Println(len(rep.Results), rep.Duration)
}
