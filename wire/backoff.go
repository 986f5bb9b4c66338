package wire

import (
	"net/http"
	"strconv"
	"time"
)

// Default bounds of the wait between retries.
const (
	DefaultRetryWaitMin = 100 * time.Millisecond
	DefaultRetryWaitMax = time.Second
)

// backoff waits lo*2^attempt, capped at hi; a Retry-After header on a 503
// is honoured within [lo, hi]. Bounds <= 0 take the defaults.
func backoff(lo, hi time.Duration, attempt int, resp *http.Response) time.Duration {
	if lo <= 0 {
		lo = DefaultRetryWaitMin
	}
	if hi <= 0 {
		hi = DefaultRetryWaitMax
	}
	hi = max(hi, lo)
	if resp != nil && resp.StatusCode == http.StatusServiceUnavailable {
		if s := resp.Header.Get("Retry-After"); s != "" {
			if n, err := strconv.Atoi(s); err == nil && n >= 0 {
				return min(max(time.Duration(n)*time.Second, lo), hi)
			}
		}
	}
	d := lo
	for i := 0; i < attempt && d < hi; i++ {
		d *= 2
	}
	return min(d, hi)
}
