package bayeux_test

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"go/ast"
	"go/parser"
	"go/printer"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// gobayeuxAPIFile is the exported API of gobayeux v2.7.0
// (github.com/sigmavirus24/gobayeux/v2, the version "make compare" runs),
// one name a line with its signature, as apiOf lists it from gobayeux's
// source. Regenerate it with
//
//	go test ./bayeux -run TestGobayeuxAPI -gobayeux.src=$(go env GOMODCACHE)/github.com/sigmavirus24/gobayeux/v2@v2.7.0
const gobayeuxAPIFile = "testdata/gobayeux-v2.7.0-api.txt"

// gobayeuxDifferencesFile lists the names of v2.7.0 that package bayeux
// lacks or declares otherwise on purpose, one a line: the name, a tab, and
// the one-line change a migrating program makes, which
// docs/migrating-from-gobayeux.md must state too.
const gobayeuxDifferencesFile = "testdata/gobayeux-v2.7.0-differences.txt"

var gobayeuxSrc = flag.String("gobayeux.src", "", "regenerate "+gobayeuxAPIFile+" from the gobayeux v2.7.0 source in this directory")

// TestGobayeuxAPI checks that every exported name of gobayeux v2.7.0
// (constants, variables, functions, types, struct fields, methods,
// interface methods) exists in package bayeux with the same signature, or
// is missing or differs on purpose: listed in gobayeuxDifferencesFile with
// the change a migrating program makes, which the migration guide states.
// Any other v2.7.0 name missing or different fails, and so does a listed
// difference that is no longer one.
func TestGobayeuxAPI(t *testing.T) {
	if *gobayeuxSrc != "" {
		api, err := apiOf(*gobayeuxSrc)
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		fmt.Fprintf(&b, "# The exported API of gobayeux v2.7.0 (github.com/sigmavirus24/gobayeux/v2),\n# listed from its source by TestGobayeuxAPI (-gobayeux.src). Do not edit.\n")
		for _, k := range slices.Sorted(keys(api)) {
			fmt.Fprintf(&b, "%s\t%s\n", k, api[k])
		}
		if err := os.WriteFile(gobayeuxAPIFile, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want := readTabFile(t, gobayeuxAPIFile)
	if len(want) < 100 {
		t.Fatalf("%s lists %d names", gobayeuxAPIFile, len(want))
	}
	differences := readTabFile(t, gobayeuxDifferencesFile)
	guide, err := os.ReadFile(filepath.Join("..", "docs", "migrating-from-gobayeux.md"))
	if err != nil {
		t.Fatal(err)
	}
	ours, err := apiOf(".")
	if err != nil {
		t.Fatal(err)
	}
	differing := map[string]bool{}
	for _, name := range slices.Sorted(keys(want)) {
		sig := want[name]
		got, ok := ours[name]
		if !ok && strings.HasPrefix(name, "method ") {
			// A method with a value receiver in gobayeux may have one
			// here too; a pointer one is satisfied by either.
			got, ok = ours[strings.Replace(name, "method ", "method *", 1)]
			if ok && !strings.Contains(name, "*") {
				got = "pointer receiver " + got
			}
		}
		if !ok && strings.HasPrefix(name, "method *") {
			got, ok = ours[strings.Replace(name, "method *", "method ", 1)]
		}
		if !ok && strings.HasPrefix(name, "const ") {
			// A variable serves where gobayeux's sentinel constants
			// do (errors.Is, ==), but not in a constant expression.
			got, ok = ours[strings.Replace(name, "const ", "var ", 1)]
			got = "var " + got
		}
		switch {
		case !ok:
			differing[name] = true
			if _, ok := differences[name]; !ok {
				t.Errorf("gobayeux v2.7.0's %s (%s) is missing from package bayeux: add it, or list its absence in %s and the migration guide", name, sig, gobayeuxDifferencesFile)
			}
		case got != sig:
			differing[name] = true
			if _, ok := differences[name]; !ok {
				t.Errorf("%s: gobayeux v2.7.0 has %q, package bayeux %q: make them the same, or list the difference in %s and the migration guide", name, sig, got, gobayeuxDifferencesFile)
			}
		}
	}
	for name, change := range differences {
		if !differing[name] {
			t.Errorf("%s: %s lists %s, which does not differ from gobayeux v2.7.0 (any more)", gobayeuxDifferencesFile, name, name)
		}
		if !bytes.Contains(guide, []byte(change)) {
			t.Errorf("docs/migrating-from-gobayeux.md does not state the change for %s: %q", name, change)
		}
	}
}

func keys(m map[string]string) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// readTabFile reads lines "key<TAB>value", skipping blank lines and
// comments.
func readTabFile(t *testing.T, name string) map[string]string {
	t.Helper()
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "\t")
		if !ok {
			t.Fatalf("%s: %q has no tab", name, line)
		}
		m[k] = v
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return m
}

// apiOf lists the exported API of the package in dir, from its source
// (test files left out): "const Name", "var Name", "func Name",
// "type Name", "field Type.Name", "method Type.Name" (value receiver),
// "method *Type.Name" (pointer receiver) and "method Interface.Name",
// each with its signature without parameter names.
func apiOf(dir string) (map[string]string, error) {
	fset := token.NewFileSet()
	names, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		return nil, err
	}
	api := map[string]string{}
	str := func(e ast.Expr) string {
		var b bytes.Buffer
		_ = printer.Fprint(&b, fset, stripNames(e))
		s := strings.ReplaceAll(b.String(), "interface{}", "any")
		return strings.Join(strings.Fields(s), " ")
	}
	for _, name := range names {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.SkipObjectResolution)
		if err != nil {
			return nil, err
		}
		for _, d := range f.Decls {
			switch d := d.(type) {
			case *ast.FuncDecl:
				if !d.Name.IsExported() {
					continue
				}
				sig := strings.TrimPrefix(str(d.Type), "func")
				if d.Recv == nil {
					api["func "+d.Name.Name] = sig
					continue
				}
				recv := str(d.Recv.List[0].Type)
				if !ast.IsExported(strings.TrimPrefix(recv, "*")) {
					continue
				}
				api["method "+recv+"."+d.Name.Name] = sig
			case *ast.GenDecl:
				for _, spec := range d.Specs {
					switch s := spec.(type) {
					case *ast.ValueSpec:
						for i, id := range s.Names {
							if !id.IsExported() {
								continue
							}
							v := ""
							if s.Type != nil {
								v = str(s.Type)
							}
							if i < len(s.Values) {
								if lit, ok := s.Values[i].(*ast.BasicLit); ok {
									v = strings.TrimSpace(v + " = " + lit.Value)
								}
							}
							api[strings.ToLower(d.Tok.String())+" "+id.Name] = v
						}
					case *ast.TypeSpec:
						if !s.Name.IsExported() {
							continue
						}
						switch ty := s.Type.(type) {
						case *ast.StructType:
							api["type "+s.Name.Name] = "struct"
							for _, fl := range ty.Fields.List {
								for _, n := range fieldNames(fl) {
									if ast.IsExported(n) {
										api["field "+s.Name.Name+"."+n] = str(fl.Type)
									}
								}
							}
						case *ast.InterfaceType:
							api["type "+s.Name.Name] = "interface"
							for _, m := range ty.Methods.List {
								for _, n := range fieldNames(m) {
									if ast.IsExported(n) {
										api["method "+s.Name.Name+"."+n] = strings.TrimPrefix(str(m.Type), "func")
									}
								}
							}
						default:
							eq := ""
							if s.Assign.IsValid() {
								eq = "= "
							}
							api["type "+s.Name.Name] = eq + str(s.Type)
						}
					}
				}
			}
		}
	}
	return api, nil
}

// fieldNames returns the names of a field, or the type name of an
// embedded one.
func fieldNames(f *ast.Field) []string {
	if len(f.Names) == 0 {
		e := f.Type
		if st, ok := e.(*ast.StarExpr); ok {
			e = st.X
		}
		switch e := e.(type) {
		case *ast.Ident:
			return []string{e.Name}
		case *ast.SelectorExpr:
			return []string{e.Sel.Name}
		}
		return nil
	}
	var ns []string
	for _, n := range f.Names {
		ns = append(ns, n.Name)
	}
	return ns
}

// stripNames returns e with the parameter and result names of function
// types removed, and struct tags dropped, so that signatures compare by
// types alone.
func stripNames(e ast.Expr) ast.Expr {
	ft, ok := e.(*ast.FuncType)
	if !ok {
		return e
	}
	strip := func(l *ast.FieldList) *ast.FieldList {
		if l == nil {
			return nil
		}
		out := &ast.FieldList{}
		for _, f := range l.List {
			n := max(len(f.Names), 1)
			for range n {
				out.List = append(out.List, &ast.Field{Type: stripNames(f.Type)})
			}
		}
		return out
	}
	return &ast.FuncType{Params: strip(ft.Params), Results: strip(ft.Results)}
}
