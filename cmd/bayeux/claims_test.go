package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bayeux-go/sdk/bayeux"
	"github.com/bayeux-go/sdk/conformance"
	"github.com/bayeux-go/sdk/transport/longpoll"
)

// The tests of this file hold the help of every command, README.md and
// docs/*.md to what the code does: each default and duration they state
// about a flag is compared with the flag's default in its FlagSet, and the
// behavioural ones (-connect-timeout) are run. They iterate over every
// command and every flag, so that a flag added later is checked too.

// flagSet returns the flags of c, defined as when it runs.
func flagSet(c *command) *flag.FlagSet {
	fs := flag.NewFlagSet(c.name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	c.flags(fs)
	return fs
}

// helpEntries splits the flags section of a command's help into the text of
// each flag, by name.
func helpEntries(t *testing.T, help string) map[string]string {
	t.Helper()
	entries := map[string]string{}
	_, section, ok := strings.Cut(help, "\nflags (")
	if !ok {
		return entries
	}
	start := regexp.MustCompile(`^  -([^\s]+)`)
	name := ""
	for _, line := range strings.Split(section, "\n")[1:] {
		if m := start.FindStringSubmatch(line); m != nil {
			name = m[1]
			entries[name] = line
			continue
		}
		if name != "" && line != "" {
			entries[name] += "\n" + line
		}
	}
	return entries
}

// unitWords are the ways the docs write units, as Go durations write them.
var unitWords = strings.NewReplacer(" seconds", "s", " second", "s", " minutes", "m", " minute", "m",
	" min", "m", " hours", "h", " hour", "h", " ms", "ms", " µs", "µs", " s", "s", " m", "m", " h", "h")

// sameValue reports whether claim, a value as the help or the docs write
// it ("15s", "15 s", "5 seconds", `"auto"`, "true"), is the flag default
// def.
func sameValue(claim, def string) bool {
	claim = strings.TrimRight(strings.TrimSpace(claim), ".,;:")
	if u, err := strconv.Unquote(claim); err == nil {
		claim = u
	}
	if claim == def {
		return true
	}
	switch claim {
	case "none", "off", "disabled", "empty":
		// An empty, zero or false default, in words.
		return def == "" || def == "0" || def == "0s" || def == "false"
	}
	if cd, err := time.ParseDuration(unitWords.Replace(claim)); err == nil {
		if dd, err := time.ParseDuration(def); err == nil {
			return cd == dd
		}
	}
	if cf, err := strconv.ParseFloat(claim, 64); err == nil {
		if df, err := strconv.ParseFloat(def, 64); err == nil {
			return cf == df
		}
	}
	return false
}

var (
	// defaultClaim is how PrintDefaults, or a usage string, states a
	// default: "(default 15s)".
	defaultClaim = regexp.MustCompile(`\(default ([^)]*)\)`)
	// proseDefault is a default stated in a usage string's own words:
	// "(...; default all)", "(default: start bayeuxtest ...)".
	proseDefault = regexp.MustCompile(`(?:;\s*default:?|\(default:)\s+([^;)]+)\)`)
	// aloneClaim is the value a flag that may stand alone takes:
	// "(--replay alone: 72h)".
	aloneClaim = regexp.MustCompile(`--?([a-z][a-z0-9-]*) alone: ([^)\s;]+)\)`)
	// duration is a duration in running text.
	duration = regexp.MustCompile(`\b\d+(?:\.\d+)?(?:ns|µs|ms|s|m|h)\b`)
)

// proseDefaults are the defaults usage strings state in words rather than
// as a value, each with the test that checks it.
var proseDefaults = map[string]string{
	// conformance -transport: TestConformanceDefaultAll; -case: no
	// WithCases, conformance.Run runs every case (package conformance).
	"all":                                 "TestConformanceDefaultAll",
	"start bayeuxtest in a child process": "TestBenchStartsServer",
}

// aloneValue returns the value of the flag name of c when it is given
// alone (-name, as a boolean).
func aloneValue(t *testing.T, c *command, name string) string {
	t.Helper()
	fs := flagSet(c)
	if err := fs.Parse([]string{"--" + name}); err != nil {
		t.Errorf("%s: --%s alone: %v", c.name, name, err)
		return ""
	}
	return fs.Lookup(name).Value.String()
}

// TestHelpClaimsMatchFlags checks every default each command's -h states
// against the flag's default in its FlagSet, the value a flag takes alone
// ("--replay alone: 72h") against what it parses to, and every duration
// in a command's description against the flag it speaks of.
func TestHelpClaimsMatchFlags(t *testing.T) {
	for _, c := range commands {
		fs := flagSet(c)
		var b bytes.Buffer
		c.writeHelp(&b, fs)
		help := b.String()
		entries := helpEntries(t, help)
		n := 0
		fs.VisitAll(func(f *flag.Flag) {
			n++
			text, ok := entries[f.Name]
			if !ok {
				t.Errorf("%s -h: flag -%s is not listed:\n%s", c.name, f.Name, help)
				return
			}
			switch f.DefValue {
			case "", "0", "0s", "false":
			default:
				if !defaultClaim.MatchString(text) {
					t.Errorf("%s -h: -%s does not state its default %q:\n%s", c.name, f.Name, f.DefValue, text)
				}
			}
			for _, m := range defaultClaim.FindAllStringSubmatch(text, -1) {
				if strings.HasPrefix(m[1], ":") {
					continue // "(default: ...)", prose
				}
				if !sameValue(m[1], f.DefValue) {
					t.Errorf("%s -h: -%s says (default %s); its default is %q", c.name, f.Name, m[1], f.DefValue)
				}
			}
			for _, m := range proseDefault.FindAllStringSubmatch(text, -1) {
				if _, ok := proseDefaults[m[1]]; !ok && !sameValue(m[1], f.DefValue) {
					t.Errorf("%s -h: -%s says default %q, neither its default %q nor a default checked by a test (proseDefaults)", c.name, f.Name, m[1], f.DefValue)
				}
			}
			for _, m := range aloneClaim.FindAllStringSubmatch(text, -1) {
				if m[1] != f.Name {
					t.Errorf("%s -h: -%s speaks of --%s alone", c.name, f.Name, m[1])
					continue
				}
				if got := aloneValue(t, c, f.Name); !sameValue(m[2], got) {
					t.Errorf("%s -h: says --%s alone is %s; it parses to %q", c.name, f.Name, m[2], got)
				}
			}
		})
		if n != len(entries) {
			t.Errorf("%s -h lists %d flags, the command has %d", c.name, len(entries), n)
		}

		// The description: a duration there is either the value of a
		// flag given alone, for the flag whose metavariable it follows
		// ("RETENTION (72h when not given"), or unchecked.
		about := strings.TrimSpace(c.about)
		checked := map[string]bool{}
		fs.VisitAll(func(f *flag.Flag) {
			meta, _ := flag.UnquoteUsage(f)
			if meta == "" {
				return
			}
			re := regexp.MustCompile(regexp.QuoteMeta(meta) + `\s+\((\S+) when not given`)
			for _, m := range re.FindAllStringSubmatch(about, -1) {
				checked[m[1]] = true
				if got := aloneValue(t, c, f.Name); !sameValue(m[1], got) {
					t.Errorf("%s -h: says %s is %s when not given; --%s alone parses to %q", c.name, meta, m[1], f.Name, got)
				}
			}
		})
		for _, d := range duration.FindAllString(about, -1) {
			if !checked[d] {
				t.Errorf("%s -h: the duration %s in the description is not checked: state it as a flag's default, or check it here", c.name, d)
			}
		}
	}
}

// TestClientURLDefaultIsServe checks "the default is where 'bayeux serve'
// listens" (the -url of the commands that connect, and README.md's "sub
// and pub default to the address of serve").
func TestClientURLDefaultIsServe(t *testing.T) {
	serveFlags := flagSet(lookup("serve"))
	want := "http://" + serveFlags.Lookup("addr").DefValue + serveFlags.Lookup("path").DefValue
	for _, c := range commands {
		f := flagSet(c).Lookup("url")
		if f == nil || !strings.Contains(f.Usage, "'bayeux serve' listens") {
			continue
		}
		if f.DefValue != want {
			t.Errorf("%s -url defaults to %q; bayeux serve listens on %q", c.name, f.DefValue, want)
		}
	}
	for _, name := range []string{"sub", "pub"} {
		if f := flagSet(lookup(name)).Lookup("url"); f == nil || f.DefValue != want {
			t.Errorf("%s -url: %v, want default %q (README.md)", name, f, want)
		}
	}
}

// TestConformanceDefaultAll checks conformance's "-transport ... default
// all": without -transport, the report covers every connection type.
func TestConformanceDefaultAll(t *testing.T) {
	srv := newServer(t)
	code, out, errOut := runCLI(t, "conformance", "-format", "json", "-case", "fields.channel", srv.URL)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var rep struct{ ConnectionTypes []string }
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("%v:\n%s", err, out)
	}
	all := []string{conformance.LongPolling, conformance.CallbackPolling, conformance.WebSocket}
	if !slices.Equal(rep.ConnectionTypes, all) {
		t.Errorf("conformance without -transport tested %v, want every connection type %v", rep.ConnectionTypes, all)
	}
}

// docFiles returns README.md and docs/*.md of the repository, by the name
// a reader knows them.
func docFiles(t *testing.T) map[string]string {
	t.Helper()
	root := filepath.Join("..", "..")
	names, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	names = append(names, filepath.Join(root, "README.md"))
	files := map[string]string{}
	for _, name := range names {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel(root, name)
		files[filepath.ToSlash(rel)] = string(b)
	}
	if len(files) < 2 {
		t.Fatalf("found %d documentation files", len(files))
	}
	return files
}

// lineOf returns the line number of offset i in s.
func lineOf(s string, i int) int { return strings.Count(s[:i], "\n") + 1 }

// TestDocsFlagClaims checks every default README.md and docs/*.md state
// for a flag of the command ("`--max-wait` (default 15 s)", "`-keepalive`
// defaults to true") against the flag's default in the FlagSet of the
// commands that have it. A default stated for a flag no command has fails
// too, unless it is a flag of go test or of a test binary (testFlags).
func TestDocsFlagClaims(t *testing.T) {
	defaults := map[string][]string{} // flag name: its defaults, one per command
	for _, c := range commands {
		flagSet(c).VisitAll(func(f *flag.Flag) {
			defaults[f.Name] = append(defaults[f.Name], c.name+"="+f.DefValue)
		})
	}
	// A backquoted flag (`-name`, `--name`, `--name=value`), then its
	// default: "(default X)", "(..., default X)" or "defaults to X" right
	// after it.
	claim := regexp.MustCompile("`--?([a-z][a-z0-9.-]*)(?:[ =][^`]*)?`\\s*(?:\\((?:[^()]*[,;]\\s*)?default:? ([^(),;]+)[),;]|defaults? to ([^\\s,;.)]+))")
	checked := 0
	for file, text := range docFiles(t) {
		for _, m := range claim.FindAllStringSubmatchIndex(text, -1) {
			name := text[m[2]:m[3]]
			value := ""
			if m[4] >= 0 {
				value = text[m[4]:m[5]]
			} else {
				value = text[m[6]:m[7]]
			}
			where := fmt.Sprintf("%s:%d", file, lineOf(text, m[0]))
			defs, ok := defaults[name]
			if !ok {
				if testFlags[name] {
					continue
				}
				t.Errorf("%s: states a default (%s) for -%s, which no bayeux command has", where, value, name)
				continue
			}
			checked++
			match := false
			for _, d := range defs {
				_, def, _ := strings.Cut(d, "=")
				match = match || sameValue(value, def)
			}
			if !match {
				t.Errorf("%s: says -%s defaults to %s; the commands' defaults are %v", where, name, value, defs)
			}
		}
	}
	t.Logf("%d flag defaults stated in the docs, all checked", checked)
	if checked == 0 {
		t.Error("no flag default found in the docs: the pattern no longer matches how they state them")
	}
}

// testFlags are flags the docs state defaults for that are not the
// command's: those of go test and of test binaries.
var testFlags = map[string]bool{
	"chaos.duration": true,
	"fuzztime":       true,
}

// TestConnectTimeoutClaims runs, against a port nothing listens on, every
// command that has -connect-timeout with a short one: it gives up after
// it, not before and not long after, and says so.
func TestConnectTimeoutClaims(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + ln.Addr().String() + "/bayeux"
	ln.Close()
	const timeout = 700 * time.Millisecond
	ran := 0
	for _, c := range commands {
		if flagSet(c).Lookup("connect-timeout") == nil {
			continue
		}
		ran++
		args := []string{c.name, "-url", url, "-connect-timeout", timeout.String()}
		args = append(args, exampleArgs(c.args)...)
		start := time.Now()
		code, _, errOut := runCLI(t, args...)
		took := time.Since(start)
		if code != 1 {
			t.Errorf("%q: exit %d, want 1; stderr:\n%s", args, code, errOut)
		}
		if !strings.Contains(errOut, "within "+timeout.String()+" (-connect-timeout)") {
			t.Errorf("%q: stderr does not say it gave up after -connect-timeout:\n%s", args, errOut)
		}
		if took < timeout || took > timeout+5*time.Second {
			t.Errorf("%q: gave up after %v with -connect-timeout %v", args, took, timeout)
		}
	}
	if ran == 0 {
		t.Error("no command has -connect-timeout")
	}
}

// exampleArgs returns arguments that fit a command's synopsis
// ("CHANNEL JSON", "CHANNEL...").
func exampleArgs(synopsis string) []string {
	var args []string
	for _, w := range strings.Fields(synopsis) {
		switch strings.TrimSuffix(w, "...") {
		case "CHANNEL":
			args = append(args, "/claims/a")
		case "JSON":
			args = append(args, "1")
		case "URL":
			args = append(args, "http://127.0.0.1:1/bayeux")
		default:
			args = append(args, w)
		}
	}
	return args
}

// TestServeTimeoutClaim checks serve's "-timeout: how long a /meta/connect
// is held when nothing happens": a connect with nothing to deliver comes
// back after -timeout.
func TestServeTimeoutClaim(t *testing.T) {
	const timeout = 400 * time.Millisecond
	srv := start(t, "serve", "-addr", "127.0.0.1:0", "-timeout", timeout.String())
	srv.stdout.waitFor(t, "\n")
	first, _, _ := strings.Cut(srv.stdout.String(), "\n")
	i := strings.Index(first, "http://")
	if i < 0 {
		t.Fatalf("serve printed %q", first)
	}
	ctx := testContext(t)
	b, err := bayeux.NewBayeuxClientWithOptions(first[i:], bayeux.WithTransports(longpoll.New()))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if _, err := b.Handshake(ctx); err != nil {
		t.Fatal(err)
	}
	// The first connect may be answered at once (CometD's way); the
	// next one is held.
	if _, err := b.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	began := time.Now()
	if _, err := b.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	held := time.Since(began)
	if held < timeout-50*time.Millisecond || held > timeout+2*time.Second {
		t.Errorf("serve -timeout %v held a /meta/connect %v", timeout, held)
	}
	if _, err := b.Disconnect(ctx); err != nil {
		t.Error(err)
	}
	if code := srv.signal(os.Interrupt); code != 0 {
		t.Errorf("serve exit %d: %s", code, srv.stderr)
	}
}
