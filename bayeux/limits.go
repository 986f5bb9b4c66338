package bayeux

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"time"
)

// Default limits. Each protects a client against a hostile or broken
// server; each can be changed with an option (the message count of a
// payload through the transports' body limit, which it follows).
const (
	// MaxMessagesPerPayload is the most messages one payload may hold
	// whatever its size; a larger payload may hold one message per
	// MinBytesPerMessage bytes of its body. A payload over both fails to
	// decode with a *DecodeError matching ErrTooLarge: a 16 MiB body of a
	// million two-byte objects would otherwise cost hundreds of MiB
	// decoded. A backlog of real events is never refused by this limit
	// (CometD and Faye send every queued event in one reply, tens of
	// thousands after a pause): the response body limit bounds it.
	MaxMessagesPerPayload = 10000
	// MinBytesPerMessage is the body size per message above which a payload
	// may hold more than MaxMessagesPerPayload messages: every event a server
	// sends, {"channel":"/x","data":1,"id":"1"}, is longer.
	MinBytesPerMessage = 32
	// DefaultMaxCookies is the most cookies a client's own jar keeps per
	// URL (WithMaxCookies). Browsers keep about 180 per domain; a Bayeux
	// server needs one or two.
	DefaultMaxCookies = 64
	// DefaultMaxAdviceTimeout caps advice.timeout, how long the server may
	// hold a /meta/connect (WithAdviceLimits). Salesforce advises 110 s,
	// CometD 30 s, Faye 45 s.
	DefaultMaxAdviceTimeout = 3 * time.Minute
	// DefaultMaxAdviceInterval caps advice.interval, the pause between
	// two /meta/connect requests (WithAdviceLimits).
	DefaultMaxAdviceInterval = time.Minute
	// DefaultMinConnectPeriod is the shortest time between the starts of
	// two /meta/connect requests whose replies came back empty: a server
	// that answers every connect at once, with nothing in it, does not
	// make the client spin (at most 10 such connects per second).
	DefaultMinConnectPeriod = 100 * time.Millisecond

	// DefaultConnectRetry is how long Connect retries a failing first
	// handshake when its context has no deadline and no ConnectRetry was
	// set (see Options.ConnectRetry).
	DefaultConnectRetry = 5 * time.Second
)

// Defaults of the options that are not limits: what a zero field of
// Options means.
const (
	// DefaultMaxNetworkDelay is how long a request may take beyond the
	// time the server is advised to hold it (WithMaxNetworkDelay).
	DefaultMaxNetworkDelay = 10 * time.Second
	// DefaultBackoffIncrement and DefaultMaxBackoff are the steps and the
	// cap of the backoff after failures (WithBackoff).
	DefaultBackoffIncrement = time.Second
	DefaultMaxBackoff       = 30 * time.Second
	// DefaultTransportRetry is how long a transport the server refused is
	// left aside before it is tried again (WithTransportRetry).
	DefaultTransportRetry = 30 * time.Second
	// DefaultQueueSize is the capacity of each subscription's delivery
	// queue (WithDeliveryQueue).
	DefaultQueueSize = 4096
)

// ErrRedirect is matched by the error of a request the server redirected
// to another host: the client refuses it by default, so that a request
// body (a handshake carrying credentials in ext) is never sent to a host
// the user did not name. See WithCrossHostRedirects.
var ErrRedirect = errors.New("bayeux: cross-host redirect refused")

// sameHostRedirects returns a CheckRedirect policy that refuses a redirect
// to another scheme, host or port than the original request's, and
// otherwise defers to next (http.Client's default when nil).
func sameHostRedirects(next func(*http.Request, []*http.Request) error) func(*http.Request, []*http.Request) error {
	return func(req *http.Request, via []*http.Request) error {
		if len(via) > 0 {
			from := via[0].URL
			if req.URL.Scheme != from.Scheme || req.URL.Host != from.Host {
				return fmt.Errorf("%w: %s redirected to %s://%s", ErrRedirect, from.Host, req.URL.Scheme, req.URL.Host)
			}
		}
		if next != nil {
			return next(req, via)
		}
		if len(via) >= 10 {
			return errors.New("stopped after 10 redirects")
		}
		return nil
	}
}

// boundedJar is a cookie jar that keeps at most max cookies per URL: a
// server that sets thousands of cookies would otherwise make every later
// request too large to be accepted (HTTP 431), for ever.
type boundedJar struct {
	jar http.CookieJar
	max int
	log *slog.Logger

	mu     sync.Mutex
	warned bool
}

// SetCookies implements http.CookieJar: it stores cookies until u holds
// max of them and ignores the rest (logged once at Warn).
func (j *boundedJar) SetCookies(u *url.URL, cookies []*http.Cookie) {
	have := j.jar.Cookies(u)
	known := make(map[string]bool, len(have))
	for _, c := range have {
		known[c.Name] = true
	}
	keep := cookies[:0:0]
	n := len(have)
	dropped := 0
	for _, c := range cookies {
		if known[c.Name] || n < j.max {
			if !known[c.Name] {
				known[c.Name] = true
				n++
			}
			keep = append(keep, c)
			continue
		}
		dropped++
	}
	if dropped > 0 {
		j.mu.Lock()
		warn := !j.warned
		j.warned = true
		j.mu.Unlock()
		if warn {
			j.log.Warn("bayeux cookie limit reached; further cookies ignored", "host", u.Host, "max", j.max, "ignored", dropped)
		}
	}
	if len(keep) > 0 {
		j.jar.SetCookies(u, keep)
	}
}

// Cookies implements http.CookieJar.
func (j *boundedJar) Cookies(u *url.URL) []*http.Cookie { return j.jar.Cookies(u) }

// payloadMessageLimit is the most messages a payload of n bytes may hold.
func payloadMessageLimit(n int) int {
	return max(MaxMessagesPerPayload, n/MinBytesPerMessage)
}
