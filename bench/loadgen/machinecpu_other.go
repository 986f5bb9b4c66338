//go:build !linux

package loadgen

import "time"

// machineBusy is not measured on this system.
func machineBusy() (time.Duration, bool) { return 0, false }
