// Package docs holds the project's documentation; its test compiles the Go
// code blocks of the Markdown files.
package docs

import (
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var block = regexp.MustCompile("(?s)```go\n(.*?)```")

// TestCodeBlocksCompile builds every ```go block of README.md and docs/*.md
// that is a whole program (starts with "package"), and parses the others
// (fragments such as an interface declaration) as Go declarations.
func TestCodeBlocksCompile(t *testing.T) {
	files, _ := filepath.Glob("*.md")
	files = append(files, "../README.md")
	n := 0
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, m := range block.FindAllSubmatch(src, -1) {
			code := string(m[1])
			name := filepath.Base(f) + "#" + string(rune('0'+i))
			n++
			if !strings.HasPrefix(code, "package ") {
				if _, err := parser.ParseFile(token.NewFileSet(), name, "package p\n"+code, 0); err != nil {
					t.Errorf("%s: fragment does not parse: %v", name, err)
				}
				continue
			}
			dir, err := os.MkdirTemp(".", "zz_block_")
			if err != nil {
				t.Fatal(err)
			}
			defer os.RemoveAll(dir)
			if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(code), 0o644); err != nil {
				t.Fatal(err)
			}
			out, err := exec.Command("go", "vet", "./"+filepath.Base(dir)).CombinedOutput()
			if err != nil {
				t.Errorf("%s does not compile:\n%s", name, out)
			}
		}
	}
	if n == 0 {
		t.Fatal("no code blocks found")
	}
}
