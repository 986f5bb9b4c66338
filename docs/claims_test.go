package docs

import (
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bayeux-go/sdk/bayeux"
	"github.com/bayeux-go/sdk/ext/replay"
	"github.com/bayeux-go/sdk/transport/callbackpoll"
	"github.com/bayeux-go/sdk/transport/longpoll"
	"github.com/bayeux-go/sdk/transport/transporttest"
	"github.com/bayeux-go/sdk/transport/websocket"
	"github.com/bayeux-go/sdk/wire"
)

// A claim is a value README.md or a page of docs/ states about the code.
// re finds the statement; each of its groups captures one value, which
// must be the code's value at the same place in want: a time.Duration, an
// int or int64 (bytes: "16 MiB"), or a string.
type claim struct {
	file string
	re   string
	want []any
}

// claims are the defaults, limits and durations the docs and the doc
// comments state about the SDK. The flags of the bayeux command are checked by the command's own
// tests (cmd/bayeux/claims_test.go). Each statement must be found: a
// rewording fails here until the claim is updated.
func claims(t *testing.T) []claim {
	src := func(pkgDir, name string) any { return sourceConst(t, pkgDir, name) }
	return []claim{
		{"README.md", `retried until the deadline of\s+//\s+connectCtx \((\d+ s) here\)[\s\S]*?context\.WithTimeout\(ctx, (\d+)\*time\.Second\)`,
			[]any{10 * time.Second, 10}},
		{"README.md", `without a deadline, for\s+//\s+bayeux\.DefaultConnectRetry \((\d+ s)\)`, []any{bayeux.DefaultConnectRetry}},
		{"docs/getting-started.md", `for (\d+ seconds) \(` + "`DefaultConnectRetry`", []any{bayeux.DefaultConnectRetry}},
		{"docs/design.md", "`DefaultConnectRetry` \\((\\d+ s)\\)", []any{bayeux.DefaultConnectRetry}},
		{"docs/design.md", "`MinConnectPeriod` \\((\\d+ ms)\\)", []any{bayeux.DefaultMinConnectPeriod}},
		{"docs/design.md", "`WithAdviceLimits`, (\\d+ min) and (\\d+ min)", []any{bayeux.DefaultMaxAdviceTimeout, bayeux.DefaultMaxAdviceInterval}},
		{"docs/design.md", `idle connections close after (\d+ s) and whose\s+read and write buffers are (\d+ KiB)`,
			[]any{src("bayeux", "ownIdleConnTimeout"), src("bayeux", "ownBufferSize")}},
		{"docs/design.md", "`TransportRetry` \\((\\d+ s), doubling per consecutive\\s+refusal up to (\\d+)x", []any{bayeux.DefaultTransportRetry, src("bayeux", "maxTransportRetryFactor")}},
		{"docs/concepts.md", "`WithMaxNetworkDelay` \\(default (\\d+ s)\\)", []any{bayeux.DefaultMaxNetworkDelay}},
		{"docs/concepts.md", "`WithBackoff`'s increment, (\\d+ s) by default, up to (\\d+ s)", []any{bayeux.DefaultBackoffIncrement, bayeux.DefaultMaxBackoff}},
		{"docs/concepts.md", "`WithTransportRetry` \\((\\d+ s), doubling on each refusal,\\s+up to (\\d+) times", []any{bayeux.DefaultTransportRetry, src("bayeux", "maxTransportRetryFactor")}},
		{"docs/concepts.md", "`WithDeliveryQueue`, ([\\d,]+) messages by\\s+default", []any{bayeux.DefaultQueueSize}},
		{"docs/transports.md", "`WithTransportRetry` \\((\\d+ s) by default,\\s+doubled on each consecutive refusal up to (\\d+) times", []any{bayeux.DefaultTransportRetry, src("bayeux", "maxTransportRetryFactor")}},
		{"docs/transports.md", `than the default (\d+ s)\.`, []any{transporttest.DefaultPromptness}},
		{"docs/interop.md", `keeps URLs under (\d+) bytes by default`, []any{callbackpoll.DefaultMaxURLLength}},
		{"docs/reliability.md", `\| response body \(long-polling, callback-polling\) \| (\d+ MiB) \|`, []any{longpoll.DefaultMaxBodyBytes}},
		{"docs/reliability.md", `\| response body \(long-polling, callback-polling\) \| (\d+ MiB) \|`, []any{callbackpoll.DefaultMaxBodyBytes}},
		{"docs/reliability.md", `\| websocket message \| (\d+ MiB) \|`, []any{websocket.DefaultMaxMessageBytes}},
		{"docs/reliability.md", "\\| messages per payload \\| ([\\d,]+) \\(`bayeux.MaxMessagesPerPayload`\\)", []any{bayeux.MaxMessagesPerPayload}},
		{"docs/reliability.md", `\| nesting depth of a payload \| ([\d,]+) \|`, []any{src("bayeux", "maxDecodeDepth")}},
		{"docs/reliability.md", `\| queued messages per subscription \| ([\d,]+) \|`, []any{bayeux.DefaultQueueSize}},
		{"docs/reliability.md", `\| errors waiting for the error handler \| (\d+) \|`, []any{src("bayeux", "maxPendingReports")}},
		{"docs/reliability.md", "\\| (\\d+) \\(`bayeux.DefaultMaxCookies`\\)", []any{bayeux.DefaultMaxCookies}},
		{"docs/reliability.md", "\\| (\\d+ min) \\(`DefaultMaxAdviceTimeout`\\)", []any{bayeux.DefaultMaxAdviceTimeout}},
		{"docs/reliability.md", "\\| (\\d+ min) \\(`DefaultMaxAdviceInterval`\\)", []any{bayeux.DefaultMaxAdviceInterval}},
		{"docs/reliability.md", "at most (\\d+) per second \\(`DefaultMinConnectPeriod`, (\\d+ ms)\\)", []any{int(time.Second / bayeux.DefaultMinConnectPeriod), bayeux.DefaultMinConnectPeriod}},
		{"docs/reliability.md", "advice timeout \\(for `/meta/connect`\\) \\+ (\\d+ s) \\| `bayeux.WithMaxNetworkDelay`", []any{bayeux.DefaultMaxNetworkDelay}},
		{"docs/reliability.md", "the (\\d+ s) default is what `make test`", []any{src("reliability", "chaos.duration")}},
		{"docs/reliability.md", "`FUZZTIME` \\(default (\\w+)\\)", []any{makeVariable(t, "FUZZTIME")}},
		{"docs/salesforce.md", "at most every (\\d+ ms) \\(`WithFlushInterval`\\)", []any{replay.DefaultFlushInterval}},
		{"docs/salesforce.md", `the ids of at most (\d+ ms) earlier`, []any{replay.DefaultFlushInterval}},
		{"docs/salesforce.md", "\\| `replay.StartNew` \\| (-?\\d+) \\|", []any{replay.StartNew}},
		{"docs/salesforce.md", "\\| `replay.StartAll` \\| (-?\\d+) \\|", []any{replay.StartAll}},
		{"docs/performance.md", `own pool closes idle connections after (\d+ s)`, []any{src("bayeux", "ownIdleConnTimeout")}},
		{"docs/performance.md", `closes idle connections\s+after (\d+ s) instead of (\d+ s)`,
			[]any{src("bayeux", "ownIdleConnTimeout"), http.DefaultTransport.(*http.Transport).IdleConnTimeout}},
		{"docs/performance.md", `(\d+ KiB) connection buffers`, []any{src("bayeux", "ownBufferSize")}},

		// The doc comments users read with go doc.
		{"bayeux/options.go", `whose idle connections\s+// close after (\d+ seconds)\)`, []any{src("bayeux", "ownIdleConnTimeout")}},
		{"bayeux/endpoint.go", `they close after (\d+ seconds) idle`, []any{bayeux.SharedTransport().IdleConnTimeout}},
		{"transport/longpoll/longpoll.go", `first retry \(default (\d+ms)\), which\s+// doubles for each further retry up to max \(default (\d+s)\)`,
			[]any{wire.DefaultRetryWaitMin, wire.DefaultRetryWaitMax}},
		{"transport/callbackpoll/callbackpoll.go", `first retry \(default (\d+ms)\), which\s+// doubles for each further retry up to max \(default (\d+s)\)`,
			[]any{wire.DefaultRetryWaitMin, wire.DefaultRetryWaitMax}},
		{"transport/websocket/options.go", `a dialer with a (\d+ s) handshake`, []any{websocket.DefaultHandshakeTimeout}},
		{"transport/websocket/options.go", `how often a ping is sent \(default (\d+ s)\)`, []any{websocket.DefaultPingInterval}},
		{"transport/websocket/options.go", `ErrPongTimeout \(default (\d+ s)\)`, []any{websocket.DefaultPongTimeout}},
		{"transport/websocket/options.go", `bounds each write on the connection \(default (\d+ s)\)`, []any{websocket.DefaultWriteTimeout}},
		{"transport/websocket/doc.go", `\(WithPingInterval, (\d+ s) by default\)`, []any{websocket.DefaultPingInterval}},
		{"transport/websocket/doc.go", `\(WithPongTimeout, (\d+ s)\)`, []any{websocket.DefaultPongTimeout}},
	}
}

// notOurs are statements of a default that the sweep of TestDocsClaims
// finds but that are not about this code (another server's behaviour, a
// measurement) or that another test checks. Each is a line's text and why.
var notOurs = map[string]string{
	"writing at once (the default), no: the rate":                           "bench's -push-interval defaults to 0, '0: write at once' in its help, which cmd/bayeux's TestHelpClaimsMatchFlags checks",
	"`maxInterval` (default 10 s, 1 s in the tests)":                        "cometd-nodejs-server's default",
	"close idle connections after 5 s anyway; with the default":             "Node.js servers' keep-alive timeout",
	"idle long-polling session ≤ 64 KiB, ≤ 3 goroutines, default":           "a performance goal and its measurement",
	"1,000 clients, ≥ 100,000 deliveries/s":                                 "a performance goal and its measurement",
	"buffers (net/http's default is 4 KiB each): to 64.3":                   "net/http's default, and a measurement",
	"the default dialer's read buffer is 1 KiB (gorilla's default":          "gorilla/websocket's default",
	"each flush interval (`DefaultFlushInterval`, 20 ms) in one round trip": "contrib/redis's default, checked by its TestHADocsClaims",
	"its last flush interval (20 ms by default) and the write in flight":    "contrib/redis's default, checked by its TestHADocsClaims (a module this one cannot import)",
	"`DefaultLeaseTTL` = 10 s), `R` the renew interval (default TTL/3)":     "contrib/redis's default, checked by its TestHADocsClaims",
	"safety margin (default TTL/5), `A` the acquire interval":               "contrib/redis's default, checked by its TestHADocsClaims",
	"than M/TTL over one TTL** (20% with the defaults":                      "contrib/redis's default, checked by its TestHADocsClaims",
	"the TTL, 10 s by default; `--replay ID` where a channel starts":        "bayeux sub -lease, contrib/redis's DefaultLeaseTTL, checked by its TestHADocsClaims",
	"# KILLS=5 LEASE=2s by default; needs redis-server":                     "contrib/redis/scripts/kill9.sh's defaults, checked by contrib/redis's TestHADocsClaims",
	"(CometD's default `duplicateMetaConnectHttpResponseCode`)":             "CometD's (Java) server default, a statement about another server",
}

// docText reads README.md and docs/*.md, by the path a reader knows them.
func docText(t *testing.T) map[string]string {
	t.Helper()
	names, err := filepath.Glob("*.md")
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{}
	for _, name := range append(names, filepath.Join("..", "README.md")) {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		key := "docs/" + name
		if strings.HasPrefix(name, "..") {
			key = "README.md"
		}
		files[key] = string(b)
	}
	return files
}

// TestDocsClaims checks each claim against the code, and sweeps README.md
// and docs/*.md for lines that state a default with a number: each must
// be a claim checked here, a flag of the bayeux command (checked by its
// tests) or a statement about something else (notOurs).
func TestDocsClaims(t *testing.T) {
	docs := docText(t)
	covered := map[string][][2]int{} // file: spans of checked claims
	for _, c := range claims(t) {
		text, ok := docs[c.file]
		if !ok && strings.HasSuffix(c.file, ".go") {
			b, err := os.ReadFile(filepath.Join("..", c.file))
			text, ok = string(b), err == nil
		}
		if !ok {
			t.Errorf("%s: no such page", c.file)
			continue
		}
		ms := regexp.MustCompile(c.re).FindAllStringSubmatchIndex(text, -1)
		if len(ms) == 0 {
			t.Errorf("%s: the statement %q is gone: update the claim", c.file, c.re)
			continue
		}
		for _, m := range ms {
			covered[c.file] = append(covered[c.file], [2]int{m[0], m[1]})
			for g, want := range c.want {
				got := text[m[2+2*g]:m[3+2*g]]
				if !sameValue(got, want) {
					t.Errorf("%s:%d: says %s; the code has %v", c.file, strings.Count(text[:m[0]], "\n")+1, got, want)
				}
			}
		}
	}

	isCovered := func(file string, start, end int) bool {
		for _, s := range covered[file] {
			if s[0] < end && start < s[1] {
				return true
			}
		}
		return false
	}
	number := regexp.MustCompile(`\d`)
	flagDefault := regexp.MustCompile("`--?[a-z][a-z0-9.-]*(?:[ =][^`]*)?`\\s*\\((?:[^()]*[,;]\\s*)?default")
	used := map[string]bool{}
	defer func() {
		for s := range notOurs {
			if !used[s] {
				t.Errorf("notOurs lists %q, which no line stating a default holds any more", s)
			}
		}
	}()
	for file, text := range docs {
		start, prev := 0, ""
		for i, line := range strings.SplitAfter(text, "\n") {
			lstart := start
			start += len(line)
			joined := prev + line
			prev = line
			if !strings.Contains(strings.ToLower(line), "default") || !number.MatchString(line) {
				continue
			}
			// A flag's default is checked by cmd/bayeux's TestDocsFlagClaims;
			// the flag may end the line before.
			if isCovered(file, lstart, start) || flagDefault.MatchString(joined) {
				continue
			}
			ours := true
			for s := range notOurs {
				if strings.Contains(line, s) {
					ours = false
					used[s] = true
				}
			}
			if ours {
				t.Errorf("%s:%d: a default no test checks; add it to claims (or to notOurs, saying whose it is):\n%s", file, i+1, strings.TrimSpace(line))
			}
		}
	}
}

// units are the ways the docs write units, as Go writes durations.
var units = strings.NewReplacer(" seconds", "s", " second", "s", " minutes", "m", " minute", "m",
	" min", "m", " hours", "h", " hour", "h", " ms", "ms", " µs", "µs", " s", "s", " h", "h")

// sameValue reports whether got, a value as the docs write it ("10 s",
// "5 seconds", "4,096", "16 MiB", "1m"), is the code's value want.
func sameValue(got string, want any) bool {
	got = strings.TrimSpace(got)
	switch w := want.(type) {
	case time.Duration:
		d, err := time.ParseDuration(units.Replace(got))
		return err == nil && d == w
	case string:
		return got == w
	}
	n, err := parseSize(got)
	if err != nil {
		return false
	}
	switch w := want.(type) {
	case int:
		return n == int64(w)
	case int64:
		return n == w
	}
	return false
}

// parseSize parses "4,096", "16 MiB", "1 KiB", "-1".
func parseSize(s string) (int64, error) {
	mult := int64(1)
	for suffix, m := range map[string]int64{" KiB": 1 << 10, " MiB": 1 << 20} {
		if strings.HasSuffix(s, suffix) {
			s, mult = strings.TrimSuffix(s, suffix), m
		}
	}
	n, err := strconv.ParseInt(strings.ReplaceAll(s, ",", ""), 10, 64)
	return n * mult, err
}

// sourceConst returns the value of an unexported constant (or, for a
// name with a dot, the default of a test flag defined with flag.Duration)
// of the package in pkgDir of the repository, read from its source: the
// docs state some values the package does not export.
func sourceConst(t *testing.T, pkgDir, name string) any {
	t.Helper()
	v, err := lookupConst(pkgDir, name)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// errNoConst is returned by lookupConst for a name the package does not
// declare.
var errNoConst = errors.New("no such constant")

// lookupConst is sourceConst, returning an error.
func lookupConst(pkgDir, name string) (any, error) {
	fset := token.NewFileSet()
	files, err := filepath.Glob(filepath.Join("..", pkgDir, "*.go"))
	if err != nil || len(files) == 0 {
		return nil, fmt.Errorf("%s: no Go files (%v)", pkgDir, err)
	}
	consts := map[string]ast.Expr{}
	var flagDefault ast.Expr
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") && !strings.Contains(name, ".") {
			continue
		}
		file, err := parser.ParseFile(fset, f, nil, 0)
		if err != nil {
			return nil, err
		}
		ast.Inspect(file, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.GenDecl:
				if n.Tok != token.CONST {
					return true
				}
				for _, spec := range n.Specs {
					vs := spec.(*ast.ValueSpec)
					for i, id := range vs.Names {
						if i < len(vs.Values) {
							consts[id.Name] = vs.Values[i]
						}
					}
				}
			case *ast.CallExpr:
				// flag.Duration("name", value, usage)
				if sel, ok := n.Fun.(*ast.SelectorExpr); ok && len(n.Args) == 3 {
					if x, ok := sel.X.(*ast.Ident); ok && x.Name == "flag" {
						if lit, ok := n.Args[0].(*ast.BasicLit); ok && lit.Value == strconv.Quote(name) {
							flagDefault = n.Args[1]
						}
					}
				}
			}
			return true
		})
	}
	e, ok := consts[name]
	if strings.Contains(name, ".") {
		e, ok = flagDefault, flagDefault != nil
	}
	if !ok {
		return nil, fmt.Errorf("%s: %s: %w", pkgDir, name, errNoConst)
	}
	v, isDuration, err := evalConst(e, consts)
	if err != nil {
		return nil, fmt.Errorf("%s.%s: %v", pkgDir, name, err)
	}
	if isDuration {
		return time.Duration(v), nil
	}
	return v, nil
}

// constPackages are the packages whose Default constants the docs name,
// searched in this order for a name README.md or docs/ use.
var constPackages = []string{"bayeux", "bayeux/bayeuxtest", "transport/websocket", "transport/longpoll",
	"transport/callbackpoll", "transport/transporttest", "ext/replay", "ext/auth", "ext/timesync", "wire"}

// TestDefaultConstantClaims finds, in README.md, docs/*.md and the doc
// comments of the packages of constPackages, every value stated next to
// a Default constant ("DefaultConnectRetry (5 s)", "5 seconds
// (`DefaultConnectRetry`)", "DefaultPingInterval + DefaultPongTimeout
// (30 s)") and checks it against the constant (the sum of them).
func TestDefaultConstantClaims(t *testing.T) {
	after := regexp.MustCompile("((?:`?(?:[a-z]+\\.)?Default[A-Z]\\w*`?\\s*\\+\\s*(?://\\s*)?)*)`?(?:[a-z]+\\.)?(Default[A-Z]\\w*)`? \\(([\\d.,]+ ?(?:[a-zµ]+|KiB|MiB)?)[,)]")
	before := regexp.MustCompile("([\\d.,]+ ?(?:[a-zµ]+|KiB|MiB)?) \\(`?(?:[a-z]+\\.)?(Default[A-Z]\\w*)`?[,)]")
	name := regexp.MustCompile(`Default[A-Z]\w*`)
	texts := map[string]string{} // where: text
	for file, text := range docText(t) {
		texts[file] = text
	}
	for _, dir := range constPackages {
		files, _ := filepath.Glob(filepath.Join("..", dir, "*.go"))
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			texts[strings.TrimPrefix(filepath.ToSlash(f), "../")] = string(b)
		}
	}
	value := func(where, n string) (any, bool) {
		dirs := constPackages
		if strings.HasSuffix(where, ".go") {
			dirs = append([]string{filepath.Dir(where)}, dirs...)
		}
		for _, dir := range dirs {
			v, err := lookupConst(dir, n)
			if err == nil {
				return v, true
			}
			if !errors.Is(err, errNoConst) {
				t.Errorf("%s: %v", where, err)
				return nil, false
			}
		}
		t.Errorf("%s: no package declares %s", where, n)
		return nil, false
	}
	checked := 0
	check := func(where, text string, at int, names []string, claim string) {
		var sum int64
		isDuration := false
		for _, n := range names {
			v, ok := value(where, n)
			if !ok {
				return
			}
			switch v := v.(type) {
			case time.Duration:
				sum += int64(v)
				isDuration = true
			case int64:
				sum += v
			}
		}
		var want any = sum
		if isDuration {
			want = time.Duration(sum)
		}
		checked++
		if !sameValue(claim, want) {
			t.Errorf("%s:%d: says %s is %s; the code has %v", where, strings.Count(text[:at], "\n")+1, strings.Join(names, " + "), claim, want)
		}
	}
	for where, text := range texts {
		for _, m := range after.FindAllStringSubmatchIndex(text, -1) {
			names := append(name.FindAllString(text[m[2]:m[3]], -1), text[m[4]:m[5]])
			check(where, text, m[0], names, text[m[6]:m[7]])
		}
		for _, m := range before.FindAllStringSubmatchIndex(text, -1) {
			check(where, text, m[0], []string{text[m[4]:m[5]]}, text[m[2]:m[3]])
		}
	}
	t.Logf("%d values stated next to a Default constant, all checked", checked)
	if checked < 10 {
		t.Errorf("found %d values stated next to a Default constant: the patterns no longer match how the docs state them", checked)
	}
}

// timeUnits are the constants of package time constant expressions use.
var timeUnits = map[string]time.Duration{"Nanosecond": time.Nanosecond, "Microsecond": time.Microsecond,
	"Millisecond": time.Millisecond, "Second": time.Second, "Minute": time.Minute, "Hour": time.Hour}

// evalConst evaluates the integer constant expressions of the source
// (literals, time units, other constants, + - * / <<); isDuration says a
// time unit took part.
func evalConst(e ast.Expr, consts map[string]ast.Expr) (v int64, isDuration bool, err error) {
	switch e := e.(type) {
	case *ast.BasicLit:
		v, err := strconv.ParseInt(strings.ReplaceAll(e.Value, "_", ""), 0, 64)
		return v, false, err
	case *ast.ParenExpr:
		return evalConst(e.X, consts)
	case *ast.Ident:
		if c, ok := consts[e.Name]; ok {
			return evalConst(c, consts)
		}
	case *ast.SelectorExpr:
		if x, ok := e.X.(*ast.Ident); ok && x.Name == "time" {
			if u, ok := timeUnits[e.Sel.Name]; ok {
				return int64(u), true, nil
			}
		}
	case *ast.BinaryExpr:
		a, da, err := evalConst(e.X, consts)
		if err != nil {
			return 0, false, err
		}
		b, db, err := evalConst(e.Y, consts)
		if err != nil {
			return 0, false, err
		}
		d := da || db
		switch e.Op {
		case token.ADD:
			return a + b, d, nil
		case token.SUB:
			return a - b, d, nil
		case token.MUL:
			return a * b, d, nil
		case token.QUO:
			return a / b, d, nil
		case token.SHL:
			return a << b, d, nil
		}
	}
	return 0, false, fmt.Errorf("cannot evaluate %T", e)
}

// makeVariable returns the default of a variable of the Makefile
// ("FUZZTIME ?= 1m").
func makeVariable(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(name) + `\s*\??=\s*(\S+)`).FindSubmatch(b)
	if m == nil {
		t.Fatalf("Makefile: no variable %s", name)
	}
	return string(m[1])
}
