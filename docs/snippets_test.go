// Package docs holds no code: its test compiles every Go snippet of
// README.md and docs/*.md, so that the documentation cannot drift from the
// API.
//
// # The rule for snippets
//
// Every ```go block in README.md and docs/*.md is compiled by
// TestSnippetsCompile, as one of:
//
//   - a complete file: the block starts with a package clause (after
//     comments) and is compiled as it is, as its own package;
//
//   - a fragment: the block is preceded by a marker
//
//     <!-- snippet: fragment -->
//
//     and is compiled inside a generated file: its imports are added from
//     the package names it uses (weft's packages, zap, the standard
//     library; see knownImports); statements go into the body of a
//     function, declarations stay at the top level. Names it uses but does
//     not declare are declared in the marker itself, as Go declarations
//     after the first line:
//
//     <!-- snippet: fragment
//     var r = router.New()
//     func getUser(c *net.Ctx) net.Result { return c.Text(200, "") }
//     -->
//
//   - skipped: <!-- snippet: skip REASON --> (a reason is required; the
//     test logs every skipped block). For code that cannot compile in this
//     module, such as another framework's version of a service.
//
// Any marker may add "in=DIR" after its kind to compile the block in the
// nested module at DIR instead of weft's: in=bench (whose go.mod has Fiber,
// chi and the other peers), in=middleware/weftotel (OpenTelemetry),
// in=offload/nats (NATS). A ```go block that is not a complete file and has no marker
// fails the test. Compiler errors point at the Markdown file and line,
// through //line directives.
package docs

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// snippet is one ```go block of a Markdown file.
type snippet struct {
	file    string // path relative to the repository root
	line    int    // line of the block's first line of code
	code    string
	kind    string // "file", "fragment" or "skip"
	module  string // "" (weft's) or the folder of a nested module
	prelude string // declarations from a fragment marker
	reason  string // why a block is skipped
}

func (s snippet) String() string { return fmt.Sprintf("%s:%d", s.file, s.line) }

// marker is a parsed <!-- snippet: ... --> comment.
type marker struct {
	kind, module, reason, prelude string
}

// parseMarker parses the text of a snippet marker (between "<!--" and
// "-->").
func parseMarker(text string) (marker, error) {
	text = strings.TrimSpace(text)
	rest, ok := strings.CutPrefix(text, "snippet:")
	if !ok {
		return marker{}, errors.New("not a snippet marker")
	}
	first, prelude, _ := strings.Cut(rest, "\n")
	words := strings.Fields(first)
	if len(words) == 0 {
		return marker{}, errors.New("snippet marker without a kind")
	}
	m := marker{kind: words[0], prelude: prelude}
	var reason []string
	for _, w := range words[1:] {
		if v, ok := strings.CutPrefix(w, "in="); ok {
			if v == "" || filepath.IsAbs(v) || strings.Contains(v, "..") {
				return m, fmt.Errorf("snippet marker: in=%q must name a folder of the repository", v)
			}
			m.module = filepath.ToSlash(filepath.Clean(v))
			continue
		}
		reason = append(reason, w)
	}
	m.reason = strings.Join(reason, " ")
	switch m.kind {
	case "fragment", "file":
		if m.reason != "" {
			return m, fmt.Errorf("snippet marker: unexpected %q after %q", m.reason, m.kind)
		}
	case "skip":
		if m.reason == "" {
			return m, errors.New("snippet: skip needs a reason")
		}
		if strings.TrimSpace(prelude) != "" {
			return m, errors.New("snippet: skip takes no declarations")
		}
	default:
		return m, fmt.Errorf("snippet marker: unknown kind %q (fragment, file, skip)", m.kind)
	}
	return m, nil
}

// extract returns the ```go blocks of a Markdown document, each with the
// marker that precedes it (blank lines between them allowed).
func extract(file, doc string) ([]snippet, error) {
	var (
		out     []snippet
		pending *marker
		inMark  bool
		mark    strings.Builder
		inCode  bool
		isGo    bool
		code    strings.Builder
		start   int
	)
	sc := bufio.NewScanner(strings.NewReader(doc))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		trimmed := strings.TrimSpace(line)
		switch {
		case inCode:
			if trimmed == "```" {
				inCode = false
				if isGo {
					s := snippet{file: file, line: start, code: code.String(), kind: "file"}
					if pending != nil {
						s.kind, s.module, s.prelude, s.reason = pending.kind, pending.module, pending.prelude, pending.reason
					} else if !isCompleteFile(s.code) {
						return nil, fmt.Errorf("%s: a ```go block that is not a complete file needs a marker: "+
							"<!-- snippet: fragment --> or <!-- snippet: skip REASON --> (see docs/snippets_test.go)", s)
					}
					out = append(out, s)
				}
				pending = nil
				continue
			}
			if isGo {
				code.WriteString(line)
				code.WriteByte('\n')
			}
		case inMark:
			end, _, done := strings.Cut(line, "-->")
			mark.WriteString(end)
			mark.WriteByte('\n')
			if done {
				inMark = false
				m, err := parseMarker(mark.String())
				if err != nil {
					return nil, fmt.Errorf("%s:%d: %w", file, n, err)
				}
				pending = &m
			}
		case strings.HasPrefix(trimmed, "<!-- snippet:"):
			body := strings.TrimPrefix(trimmed, "<!--")
			if end, _, done := strings.Cut(body, "-->"); done {
				m, err := parseMarker(end)
				if err != nil {
					return nil, fmt.Errorf("%s:%d: %w", file, n, err)
				}
				pending = &m
				continue
			}
			inMark = true
			mark.Reset()
			mark.WriteString(body)
			mark.WriteByte('\n')
		case strings.HasPrefix(trimmed, "```"):
			inCode, isGo = true, strings.TrimSpace(strings.TrimPrefix(trimmed, "```")) == "go"
			code.Reset()
			start = n + 1
			if !isGo && pending != nil {
				return nil, fmt.Errorf("%s:%d: a snippet marker before a block that is not ```go", file, n)
			}
		case trimmed == "":
		default:
			if pending != nil {
				return nil, fmt.Errorf("%s:%d: text between a snippet marker and its ```go block", file, n)
			}
		}
	}
	if inCode || inMark {
		return nil, fmt.Errorf("%s: unterminated code block or marker", file)
	}
	return out, sc.Err()
}

// isCompleteFile reports whether code starts with a package clause.
func isCompleteFile(code string) bool {
	f, err := parser.ParseFile(token.NewFileSet(), "", code, parser.PackageClauseOnly)
	return err == nil && f.Name != nil
}

// knownImports maps the package names a fragment may use to their import
// paths.
var knownImports = map[string]string{
	"weft":       "github.com/weftgo/weft",
	"net":        "github.com/weftgo/weft/net",
	"router":     "github.com/weftgo/weft/router",
	"runtime":    "github.com/weftgo/weft/runtime",
	"middleware": "github.com/weftgo/weft/middleware",
	"offload":    "github.com/weftgo/weft/offload",
	"zap":        "go.uber.org/zap",
	"zapcore":    "go.uber.org/zap/zapcore",
	"context":    "context",
	"errors":     "errors",
	"fmt":        "fmt",
	"fs":         "io/fs",
	"http":       "net/http",
	"io":         "io",
	"json":       "encoding/json",
	"log":        "log",
	"os":         "os",
	"signal":     "os/signal",
	"slices":     "slices",
	"strconv":    "strconv",
	"strings":    "strings",
	"sync":       "sync",
	"syscall":    "syscall",
	"time":       "time",
	"url":        "net/url",
	"fiber":      "github.com/gofiber/fiber/v2",
	"chi":        "github.com/go-chi/chi/v5",
	"prometheus": "github.com/prometheus/client_golang/prometheus",
	"weftotel":   "github.com/weftgo/weft/middleware/weftotel",
	"nats":       "github.com/weftgo/weft/offload/nats",
	"websocket":  "github.com/weftgo/weft/net/websocket",
	"trace":      "go.opentelemetry.io/otel/trace",
}

// generate returns the Go file that compiles s.
func generate(s snippet) (string, error) {
	if s.kind == "file" {
		return fmt.Sprintf("//line %s:%d\n%s", s.file, s.line, s.code), nil
	}
	// Declarations (funcs, types, vars at the top level) stay as they are;
	// anything else is a list of statements for a function body.
	body := fmt.Sprintf("//line %s:%d\n%s", s.file, s.line, s.code)
	var src string
	if _, err := parser.ParseFile(token.NewFileSet(), "", "package main\n"+s.code, parser.SkipObjectResolution); err == nil {
		src = "package main\n\n" + s.prelude + "\n" + body + "\nfunc main() {}\n"
	} else {
		src = "package main\n\n" + s.prelude + "\nfunc main() {\n" + body + "\n" + useAll(s.code) + "}\n"
	}
	return addImports(src)
}

// useAll returns "_ = x" for every variable a list of statements declares
// at its top level, so that a fragment need not use what it declares.
func useAll(stmts string) string {
	f, err := parser.ParseFile(token.NewFileSet(), "", "package p\nfunc _() {\n"+stmts+"\n}", parser.SkipObjectResolution)
	if err != nil {
		return "" // the compiler will say what is wrong, at the right line
	}
	var names []string
	for _, st := range f.Decls[0].(*ast.FuncDecl).Body.List {
		switch st := st.(type) {
		case *ast.AssignStmt:
			if st.Tok == token.DEFINE {
				for _, e := range st.Lhs {
					if id, ok := e.(*ast.Ident); ok && id.Name != "_" {
						names = append(names, id.Name)
					}
				}
			}
		case *ast.DeclStmt:
			if g, ok := st.Decl.(*ast.GenDecl); ok && g.Tok == token.VAR {
				for _, sp := range g.Specs {
					for _, id := range sp.(*ast.ValueSpec).Names {
						if id.Name != "_" {
							names = append(names, id.Name)
						}
					}
				}
			}
		}
	}
	var b strings.Builder
	for _, n := range names {
		fmt.Fprintf(&b, "\t_ = %s\n", n)
	}
	return b.String()
}

// addImports adds an import for every package name of knownImports that
// src uses as a qualifier without declaring it.
func addImports(src string) (string, error) {
	f, err := parser.ParseFile(token.NewFileSet(), "", src, 0)
	if err != nil {
		return src, nil // let the compiler report it, with its //line position
	}
	used := map[string]bool{}
	unresolved := map[*ast.Ident]bool{}
	for _, id := range f.Unresolved {
		unresolved[id] = true
	}
	ast.Inspect(f, func(n ast.Node) bool {
		if sel, ok := n.(*ast.SelectorExpr); ok {
			if id, ok := sel.X.(*ast.Ident); ok && unresolved[id] && knownImports[id.Name] != "" {
				used[id.Name] = true
			}
		}
		return true
	})
	if len(used) == 0 {
		return src, nil
	}
	names := make([]string, 0, len(used))
	for n := range used {
		names = append(names, n)
	}
	sort.Strings(names)
	var imp strings.Builder
	imp.WriteString("import (\n")
	for _, n := range names {
		path := knownImports[n]
		if filepath.Base(path) == n || strings.HasSuffix(path, "/"+n) {
			fmt.Fprintf(&imp, "\t%q\n", path)
		} else {
			fmt.Fprintf(&imp, "\t%s %q\n", n, path)
		}
	}
	imp.WriteString(")\n")
	rest, ok := strings.CutPrefix(src, "package main\n")
	if !ok {
		return src, errors.New("generated file does not start with its package clause")
	}
	return "package main\n\n" + imp.String() + rest, nil
}

// repoRoot is the repository's root: the folder of weft's go.mod.
func repoRoot(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		t.Fatalf("go env GOMOD: %v", err)
	}
	return filepath.Dir(strings.TrimSpace(string(out)))
}

// documents lists README.md and docs/*.md, relative to root.
func documents(t *testing.T, root string) []string {
	t.Helper()
	docs, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	files := []string{"README.md"}
	for _, d := range docs {
		files = append(files, filepath.Join("docs", filepath.Base(d)))
	}
	return files
}

// TestSnippetsCompile compiles every ```go block of README.md and
// docs/*.md (see the package doc for the rule).
func TestSnippetsCompile(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the go command")
	}
	root := repoRoot(t)
	var all []snippet
	for _, f := range documents(t, root) {
		b, err := os.ReadFile(filepath.Join(root, f))
		if err != nil {
			t.Fatal(err)
		}
		s, err := extract(f, string(b))
		if err != nil {
			t.Error(err)
			continue
		}
		all = append(all, s...)
	}
	if len(all) == 0 {
		t.Fatal("no ```go block found: the extraction is broken")
	}
	byModule := map[string][]snippet{}
	for _, s := range all {
		if s.kind == "skip" {
			t.Logf("%s: skipped: %s", s, s.reason)
			continue
		}
		byModule[s.module] = append(byModule[s.module], s)
	}
	for module, snippets := range byModule {
		t.Run("module="+cmp(module, "weft"), func(t *testing.T) {
			buildSnippets(t, root, module, snippets)
		})
	}
}

func cmp(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// buildSnippets builds snippets, each as its own main package, through an
// overlay: nothing is written into the repository.
func buildSnippets(t *testing.T, root, module string, snippets []snippet) {
	modDir := filepath.Join(root, module)
	if _, err := os.Stat(filepath.Join(modDir, "go.mod")); err != nil {
		t.Fatalf("in=%s: no go.mod there (%s)", module, snippets[0])
	}
	tmp := t.TempDir()
	overlay := map[string]string{}
	var pkgs []string
	for i, s := range snippets {
		src, err := generate(s)
		if err != nil {
			t.Fatalf("%s: %v", s, err)
		}
		gen := filepath.Join(tmp, strconv.Itoa(i)+".go")
		if err := os.WriteFile(gen, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		// A folder starting with "_" is ignored by ./... patterns: the
		// snippets are built only here, by name.
		dir := filepath.Join(modDir, "_snippets", strconv.Itoa(i))
		overlay[filepath.Join(dir, "main.go")] = gen
		pkgs = append(pkgs, "./"+filepath.Join("_snippets", strconv.Itoa(i)))
	}
	ov, err := json.Marshal(map[string]any{"Replace": overlay})
	if err != nil {
		t.Fatal(err)
	}
	ovFile := filepath.Join(tmp, "overlay.json")
	if err := os.WriteFile(ovFile, ov, 0o644); err != nil {
		t.Fatal(err)
	}
	args := append([]string{"build", "-overlay", ovFile, "-o", tmp + string(filepath.Separator)}, pkgs...)
	cmd := exec.Command("go", args...)
	cmd.Dir = modDir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("snippets do not compile (%d built in module %s):\n%s", len(pkgs), cmp(module, "weft"), out)
	} else {
		names := make([]string, 0, len(snippets))
		for _, s := range snippets {
			names = append(names, s.String())
		}
		slices.Sort(names)
		t.Logf("compiled: %s", strings.Join(names, ", "))
	}
}

func TestExtract(t *testing.T) {
	tests := []struct {
		name    string
		doc     string
		want    []snippet // file, line, kind, module, reason, prelude compared
		wantErr string
	}{
		{"complete file", "text\n```go\npackage main\n\nfunc main() {}\n```\n",
			[]snippet{{line: 3, kind: "file"}}, ""},
		{"other languages ignored", "```js\nconst x = 1;\n```\n```\nplain\n```\n", nil, ""},
		{"fragment marker", "<!-- snippet: fragment -->\n\n```go\nx := 1\n```\n",
			[]snippet{{line: 4, kind: "fragment"}}, ""},
		{"fragment with declarations", "<!-- snippet: fragment\nvar r = 1\n-->\n```go\n_ = r\n```\n",
			[]snippet{{line: 5, kind: "fragment", prelude: "var r = 1"}}, ""},
		{"skip with reason, in bench", "<!-- snippet: skip in=bench needs Fiber -->\n```go\napp := fiber.New()\n```\n",
			[]snippet{{line: 3, kind: "skip", module: "bench", reason: "needs Fiber"}}, ""},
		{"marker applies once", "<!-- snippet: fragment -->\n```go\nx := 1\n```\n```go\ny := 2\n```\n",
			nil, "needs a marker"},
		{"unmarked fragment", "```go\nr.GET(\"/\", h)\n```\n", nil, "needs a marker"},
		{"skip without reason", "<!-- snippet: skip -->\n```go\nx\n```\n", nil, "needs a reason"},
		{"unknown kind", "<!-- snippet: maybe -->\n```go\nx\n```\n", nil, "unknown kind"},
		{"module outside the repository", "<!-- snippet: fragment in=../other -->\n```go\nx\n```\n", nil, "must name a folder"},
		{"nested module", "<!-- snippet: fragment in=middleware/weftotel -->\n```go\nx := 1\n```\n",
			[]snippet{{line: 3, kind: "fragment", module: "middleware/weftotel"}}, ""},
		{"text after a marker", "<!-- snippet: fragment -->\nwords\n```go\nx\n```\n", nil, "text between"},
		{"unterminated block", "```go\npackage main\n", nil, "unterminated"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := extract("doc.md", tt.doc)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("%d snippets, want %d: %+v", len(got), len(tt.want), got)
			}
			for i, w := range tt.want {
				g := got[i]
				if g.line != w.line || g.kind != w.kind || g.module != w.module || g.reason != w.reason || g.prelude != w.prelude {
					t.Errorf("snippet %d = %#v, want %#v", i, g, w)
				}
			}
		})
	}
}

func TestGenerate(t *testing.T) {
	tests := []struct {
		name string
		s    snippet
		want []string
	}{
		{"statements in main, imports added, declared names used",
			snippet{file: "d.md", line: 7, kind: "fragment", prelude: "var r = router.New()\n",
				code: "srv := &net.Server{Handler: r.Serve}\nctx, cancel := context.WithCancel(context.Background())\n"},
			[]string{`"context"`, `"github.com/weftgo/weft/net"`, `"github.com/weftgo/weft/router"`,
				"func main() {\n//line d.md:7\n", "_ = srv", "_ = ctx", "_ = cancel"}},
		{"declarations stay at the top level",
			snippet{file: "d.md", line: 3, kind: "fragment", code: "func h(c *net.Ctx) net.Result { return c.Text(200, \"\") }\n"},
			[]string{"//line d.md:3\nfunc h(", "func main() {}"}},
		{"a local name is not an import",
			snippet{file: "d.md", line: 1, kind: "fragment", code: "log := zap.NewNop()\nlog.Info(\"x\")\n"},
			[]string{`"go.uber.org/zap"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src, err := generate(tt.s)
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range tt.want {
				if !strings.Contains(src, w) {
					t.Errorf("no %q in\n%s", w, src)
				}
			}
			if strings.Contains(src, "\t\"log\"") {
				t.Errorf("the standard library's log imported for a local variable:\n%s", src)
			}
		})
	}
}

// outside matches references to files that are not in the repository: the
// workspace's shared folder and absolute paths of the machines weft was
// written on. (Built from pieces so that this file does not match itself.)
// The folder name is spelled in two parts so that this file does not cite
// it either.
var outside = regexp.MustCompile(`\.\./` + sharedDir + `|\b` + sharedDir + `(bench|notes|design\.md|style\.md)|/` + `work/wt/|/` + `work/main\b`)

const sharedDir = "sha" + "red/"

// TestNoPathOutsideRepository fails on any committed text file that cites
// a path outside the repository: a clone must have everything a document
// or a comment points to.
func TestNoPathOutsideRepository(t *testing.T) {
	root := repoRoot(t)
	out, err := exec.Command("git", "-C", root, "ls-files", "-z").Output()
	if err != nil {
		t.Skipf("not a git checkout: %v", err)
	}
	checked := 0
	for _, f := range strings.Split(strings.TrimRight(string(out), "\x00"), "\x00") {
		switch filepath.Ext(f) {
		case ".go", ".md", ".sh", ".svg", ".js", ".json", ".conf", ".env", ".html", ".css", ".mod", "":
		default:
			continue
		}
		b, err := os.ReadFile(filepath.Join(root, f))
		if err != nil {
			continue // deleted in the work tree
		}
		if bytes.IndexByte(b, 0) >= 0 {
			t.Errorf("%s is a binary file: build output is not committed", f)
			continue
		}
		checked++
		for n, line := range strings.Split(string(b), "\n") {
			if outside.MatchString(line) {
				t.Errorf("%s:%d cites a path outside the repository: %s", f, n+1, strings.TrimSpace(line))
			}
		}
	}
	if checked == 0 {
		t.Fatal("no file checked")
	}
}
