//go:build linux

package loadgen

import (
	"bytes"
	"os"
	"strconv"
	"time"
)

// machineBusy returns the CPU time all the machine's processes used since
// boot (user, nice, system, irq, softirq and steal time from /proc/stat),
// and false where it cannot be read. It tells how much of the machine
// other processes took during a run.
func machineBusy() (time.Duration, bool) {
	data, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, false
	}
	line, _, _ := bytes.Cut(data, []byte{'\n'})
	f := bytes.Fields(line)
	if len(f) < 9 || string(f[0]) != "cpu" {
		return 0, false
	}
	var ticks int64
	for _, i := range []int{1, 2, 3, 6, 7, 8} { // user nice system irq softirq steal
		n, err := strconv.ParseInt(string(f[i]), 10, 64)
		if err != nil {
			return 0, false
		}
		ticks += n
	}
	// /proc/stat counts in USER_HZ, 100 per second on Linux.
	return time.Duration(ticks) * 10 * time.Millisecond, true
}
