// Package docs holds the project's documentation. Its test compiles every
// Go code block of README.md and docs/*.md, and runs those that show their
// output.
//
// The conventions for a ```go block:
//
//   - A block that starts with "package" is a whole file. A "package main"
//     program is built; when it ends with an "// Output:" comment it is
//     run and what it prints must match the comment's lines. The address
//     of "bayeux serve", http://127.0.0.1:8080/bayeux, is replaced by the
//     URL of an in-process bayeuxtest server with the same /service/echo
//     service, so a program written for "bayeux serve" runs as written. A
//     file of another package whose name ends in "_test" is a test file:
//     its tests are run with go test.
//   - Any other block is a fragment of declarations (types, functions,
//     variables). It is compiled in a package of its own, with the imports
//     its qualified names need (bayeux, bayeuxtest, the transports and the
//     standard packages listed in stdImports). Write statements inside a
//     function whose parameters declare what they use, for example
//     func example(ctx context.Context, c *bayeux.Client) { ... }.
//   - A block just after the line "<!-- docs: parse only -->" is only
//     parsed (as a file or as declarations): for code of another library,
//     such as gobayeux in the migration guide.
//
// Every block is compiled in a temporary module that requires this one
// through a replace directive to the repository root, as a user's module
// would.
package docs

import (
	"bytes"
	"context"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bayeux-go/sdk/bayeux"
	"github.com/bayeux-go/sdk/bayeux/bayeuxtest"
)

// serveURL is the URL "bayeux serve" prints by default.
const serveURL = "http://127.0.0.1:8080/bayeux"

const parseOnly = "<!-- docs: parse only -->"

// stdImports are the import paths of the package names fragments may use
// without importing them.
var stdImports = map[string]string{
	"bayeux":        "github.com/bayeux-go/sdk/bayeux",
	"bayeuxtest":    "github.com/bayeux-go/sdk/bayeux/bayeuxtest",
	"longpoll":      "github.com/bayeux-go/sdk/transport/longpoll",
	"callbackpoll":  "github.com/bayeux-go/sdk/transport/callbackpoll",
	"websocket":     "github.com/bayeux-go/sdk/transport/websocket",
	"transporttest": "github.com/bayeux-go/sdk/transport/transporttest",
	"conformance":   "github.com/bayeux-go/sdk/conformance",
	"wire":          "github.com/bayeux-go/sdk/wire",
	"ack":           "github.com/bayeux-go/sdk/ext/ack",
	"timesync":      "github.com/bayeux-go/sdk/ext/timesync",
	"replay":        "github.com/bayeux-go/sdk/ext/replay",
	"auth":          "github.com/bayeux-go/sdk/ext/auth",
	"context":       "context",
	"errors":        "errors",
	"fmt":           "fmt",
	"http":          "net/http",
	"json":          "encoding/json",
	"log":           "log",
	"os":            "os",
	"signal":        "os/signal",
	"slog":          "log/slog",
	"strings":       "strings",
	"sync":          "sync",
	"testing":       "testing",
	"time":          "time",
}

// block is one ```go block.
type block struct {
	name      string // file#n, for messages
	dir       string // its directory in the temporary module
	code      string
	parseOnly bool
}

var fence = regexp.MustCompile("(?s)(?:(" + regexp.QuoteMeta(parseOnly) + ")\\s*\n)?```go\n(.*?)```")

func blocks(t *testing.T) []block {
	files, err := filepath.Glob("*.md")
	if err != nil {
		t.Fatal(err)
	}
	files = append(files, "../README.md")
	var bs []block
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, m := range fence.FindAllSubmatch(src, -1) {
			base := strings.TrimSuffix(filepath.Base(f), ".md")
			bs = append(bs, block{
				name:      fmt.Sprintf("%s.md#%d", base, i+1),
				dir:       fmt.Sprintf("%s_%d", strings.ReplaceAll(base, "-", "_"), i+1),
				code:      string(m[2]),
				parseOnly: len(m[1]) > 0,
			})
		}
	}
	return bs
}

// TestCodeBlocks compiles every block and runs those with output.
func TestCodeBlocks(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs programs")
	}
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	mod := t.TempDir()
	write(t, filepath.Join(mod, "go.mod"), "module example.com/docs\n\ngo 1.26\n\nrequire github.com/bayeux-go/sdk v0.0.0\n\nreplace github.com/bayeux-go/sdk => "+root+"\n")
	sum, err := os.ReadFile(filepath.Join(root, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(mod, "go.sum"), string(sum))

	bs := blocks(t)
	if len(bs) == 0 {
		t.Fatal("no code blocks found")
	}
	var programs, tests []block
	for i := range bs {
		b := &bs[i]
		file, ok := materialize(t, b)
		if !ok {
			continue
		}
		write(t, filepath.Join(mod, b.dir, file), b.code)
		switch {
		case strings.HasSuffix(file, "_test.go"):
			tests = append(tests, *b)
		case output(b.code) != nil:
			programs = append(programs, *b)
		}
	}
	if out, err := goCmd(mod, "vet", "./..."); err != nil {
		t.Fatalf("go vet of the code blocks:\n%s", out)
	}

	if len(tests) > 0 {
		args := []string{"test", "-count=1"}
		for _, b := range tests {
			args = append(args, "./"+b.dir)
		}
		if out, err := goCmd(mod, args...); err != nil {
			t.Errorf("go test of the test blocks:\n%s", out)
		}
	}

	srv := bayeuxtest.NewServer(bayeuxtest.WithTimeout(time.Second))
	defer srv.Close()
	srv.HandleService("/service/echo", func(m bayeux.Message) (any, error) { return m.Data, nil })
	for _, b := range programs {
		t.Run(b.name, func(t *testing.T) {
			src := strings.ReplaceAll(b.code, serveURL, srv.URL)
			write(t, filepath.Join(mod, b.dir, "main.go"), src)
			bin := filepath.Join(mod, b.dir, "prog")
			if out, err := goCmd(mod, "build", "-o", bin, "./"+b.dir); err != nil {
				t.Fatalf("go build:\n%s", out)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, bin)
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			if err := cmd.Run(); err != nil {
				t.Fatalf("%v\n%s", err, stderr.String())
			}
			got := strings.Split(strings.TrimRight(stdout.String(), "\n"), "\n")
			if want := output(b.code); !slices.Equal(got, want) {
				t.Errorf("output:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
		})
	}
}

// materialize checks b's form and returns the file name to write it as,
// turning a fragment into a file; ok is false for blocks only parsed.
func materialize(t *testing.T, b *block) (file string, ok bool) {
	t.Helper()
	if strings.HasPrefix(b.code, "package ") {
		f, err := parser.ParseFile(token.NewFileSet(), b.name, b.code, parser.PackageClauseOnly)
		if err != nil {
			t.Errorf("%s: %v", b.name, err)
			return "", false
		}
		if b.parseOnly {
			if _, err := parser.ParseFile(token.NewFileSet(), b.name, b.code, 0); err != nil {
				t.Errorf("%s does not parse: %v", b.name, err)
			}
			return "", false
		}
		if strings.HasSuffix(f.Name.Name, "_test") {
			return "block_test.go", true
		}
		return "main.go", true
	}
	src := "package " + strings.ReplaceAll(b.dir, "-", "_") + "\n" + b.code
	f, err := parser.ParseFile(token.NewFileSet(), b.name, src, 0)
	if err != nil {
		t.Errorf("%s: a fragment must be declarations: %v", b.name, err)
		return "", false
	}
	if b.parseOnly {
		return "", false
	}
	var imports []string
	ast.Inspect(f, func(n ast.Node) bool {
		if sel, ok := n.(*ast.SelectorExpr); ok {
			if id, ok := sel.X.(*ast.Ident); ok && id.Obj == nil {
				if path, ok := stdImports[id.Name]; ok && !slices.Contains(imports, path) {
					imports = append(imports, path)
				}
			}
		}
		return true
	})
	var head strings.Builder
	fmt.Fprintf(&head, "package %s\n\n", f.Name.Name)
	for _, p := range imports {
		fmt.Fprintf(&head, "import %q\n", p)
	}
	b.code = head.String() + "\n" + b.code
	return "fragment.go", true
}

// output returns the lines of the "// Output:" comment that ends code, or
// nil.
func output(code string) []string {
	i := strings.LastIndex(code, "\n// Output:")
	if i < 0 {
		return nil
	}
	var lines []string
	for _, l := range strings.Split(strings.TrimSpace(code[i+len("\n// Output:"):]), "\n") {
		l = strings.TrimPrefix(l, "//")
		lines = append(lines, strings.TrimPrefix(l, " "))
	}
	return lines
}

func goCmd(dir string, args ...string) ([]byte, error) {
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOWORK=off")
	return cmd.CombinedOutput()
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
