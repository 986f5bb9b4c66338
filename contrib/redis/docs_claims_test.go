package bayeuxredis

import (
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The defaults docs/ha.md states are the Consumer's (the SDK's docs test,
// in a module that cannot import this one, leaves them to this test).
func TestHADocsClaims(t *testing.T) {
	b, err := os.ReadFile("../../docs/ha.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	var c config
	if err := c.fill(); err != nil {
		t.Fatal(err)
	}
	find := func(re string) []string {
		t.Helper()
		m := regexp.MustCompile(re).FindStringSubmatch(doc)
		if m == nil {
			t.Fatalf("docs/ha.md no longer states %s; update this test with the text", re)
		}
		return m[1:]
	}
	dur := func(s string) time.Duration {
		t.Helper()
		d, err := time.ParseDuration(strings.ReplaceAll(s, " ", ""))
		if err != nil {
			t.Fatalf("%q: %v", s, err)
		}
		return d
	}
	num := func(s string) time.Duration {
		t.Helper()
		n, err := strconv.Atoi(s)
		if err != nil {
			t.Fatal(err)
		}
		return time.Duration(n)
	}

	if got := dur(find("each flush interval \\(`DefaultFlushInterval`, (\\d+ ms)\\)")[0]); got != DefaultFlushInterval {
		t.Errorf("docs/ha.md: flush interval %v, code %v", got, DefaultFlushInterval)
	}
	if got := dur(find(`its last flush interval \((\d+ ms) by default\)`)[0]); got != DefaultFlushInterval {
		t.Errorf("docs/ha.md: flush interval %v, code %v", got, DefaultFlushInterval)
	}
	m := find("default\\s+`DefaultLeaseTTL` = (\\d+ s)\\), `R` the renew interval \\(default TTL/(\\d+)\\), `M` the\\s+safety margin \\(default TTL/(\\d+)\\), `A` the acquire interval of the waiting\\s+members \\(default R\\)")
	if got := dur(m[0]); got != DefaultLeaseTTL || got != c.ttl {
		t.Errorf("docs/ha.md: TTL %v, code %v", got, c.ttl)
	}
	if c.renew != c.ttl/num(m[1]) || c.margin != c.ttl/num(m[2]) || c.retry != c.renew {
		t.Errorf("docs/ha.md: renew TTL/%s, margin TTL/%s, acquire R; code renew %v, margin %v, acquire %v of TTL %v",
			m[1], m[2], c.renew, c.margin, c.retry, c.ttl)
	}
	if got := find(`than M/TTL over one TTL\*\* \((\d+)% with the defaults`)[0]; got != strconv.Itoa(int(100*c.margin/c.ttl)) {
		t.Errorf("docs/ha.md: margin %s%% of the TTL, code %v of %v", got, c.margin, c.ttl)
	}
	if got := dur(find("`-lease` sets\\s+the TTL, (\\d+ s) by default")[0]); got != DefaultLeaseTTL {
		t.Errorf("docs/ha.md: -lease default %v, code %v (the bayeux command's -lease default is DefaultLeaseTTL, checked by its TestSubGroupUsage)", got, DefaultLeaseTTL)
	}
	script, err := os.ReadFile("scripts/kill9.sh")
	if err != nil {
		t.Fatal(err)
	}
	m = find(`# KILLS=(\d+) LEASE=(\w+) by default`)
	for i, v := range []string{"KILLS", "LEASE"} {
		want := v + "=${" + v + ":-" + m[i] + "}"
		if !strings.Contains(string(script), want) {
			t.Errorf("docs/ha.md says %s=%s by default; scripts/kill9.sh has no %q", v, m[i], want)
		}
	}
}
