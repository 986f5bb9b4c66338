package otelbayeux_test

import (
	"testing"

	"go.uber.org/goleak"
)

// No goroutine of a client, of bayeuxtest or of the OpenTelemetry SDK
// outlives the tests: every client is disconnected, every server closed.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
