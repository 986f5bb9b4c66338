package interop

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package if any goroutine (of a Client, a transport, the
// harness or bayeuxtest) outlives the tests.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
