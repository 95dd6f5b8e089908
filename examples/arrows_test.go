// Package examples holds runnable programs, one per folder. This file only
// checks the package arrows of design.md for the whole module.
package examples

import (
	"encoding/json"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/weftgo/weft"

// allowed lists, for each package, the module packages and third-party
// modules it may depend on (directly or not). Standard library imports are
// free.
var allowed = map[string][]string{
	"": {"net", "router", "runtime", "router/internal/tree", "net/internal/http1", "net/httpfile",
		"github.com/panjf2000/gnet/v2", "go.uber.org/zap"},
	"net/httpfile":         {},
	"docs":                 {}, // only a test: it compiles the snippets of README.md and docs/
	"runtime":              {},
	"runtime/runtimetest":  {"runtime"},
	"net":                  {"runtime", "net/internal/http1", "net/httpfile", "github.com/panjf2000/gnet/v2", "go.uber.org/zap"},
	"net/internal/http1":   {},
	"net/nethttp":          {"net", "runtime", "net/internal/http1", "net/httpfile", "github.com/panjf2000/gnet/v2", "go.uber.org/zap"},
	"net/webtest":          {"net", "runtime", "net/internal/http1", "net/httpfile", "github.com/panjf2000/gnet/v2", "go.uber.org/zap"},
	"router":               {"net", "runtime", "router/internal/tree", "net/internal/http1", "net/httpfile", "github.com/panjf2000/gnet/v2", "go.uber.org/zap"},
	"router/internal/tree": {},
	"offload":              {"runtime", "github.com/panjf2000/ants/v2", "go.uber.org/zap", "golang.org/x/sys"},
	"net/websocket": {"net", "runtime", "offload", "net/internal/http1", "net/websocket/internal/frame", "net/httpfile",
		"github.com/panjf2000/gnet/v2", "go.uber.org/zap", "github.com/panjf2000/ants/v2", "golang.org/x/sys",
		"github.com/klauspost/compress"},
	"net/websocket/internal/frame": {},
	"middleware": {"net", "runtime", "offload", "net/internal/http1", "net/httpfile", "github.com/panjf2000/gnet/v2",
		"go.uber.org/zap", "github.com/panjf2000/ants/v2", "golang.org/x/sys",
		"github.com/klauspost/compress", "golang.org/x/time", "github.com/prometheus/client_golang",
		"github.com/prometheus/common"},
}

func TestPackageArrows(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-json=ImportPath,Deps,Standard", module+"/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for dec.More() {
		var p struct {
			ImportPath string
			Deps       []string
			Standard   bool
		}
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		rel, ok := strings.CutPrefix(p.ImportPath, module+"/")
		if p.ImportPath == module {
			rel, ok = "", true // the root package, weft
		}
		if !ok || strings.HasPrefix(rel, "examples") {
			continue
		}
		allow, known := allowed[rel]
		if !known {
			t.Errorf("package %s has no entry in the arrows table", rel)
			continue
		}
		for _, d := range p.Deps {
			if !strings.Contains(strings.Split(d, "/")[0], ".") {
				continue // standard library
			}
			if strings.HasPrefix(d, module+"/examples") {
				t.Errorf("%s imports %s: nothing imports examples", rel, d)
			}
			if dep, ours := strings.CutPrefix(d, module+"/"); ours {
				if !slices.Contains(allow, dep) {
					t.Errorf("%s depends on %s, against the arrows in design.md", rel, dep)
				}
				continue
			}
			if !slices.ContainsFunc(allow, func(a string) bool { return strings.HasPrefix(d, a) }) && !transitiveOK(d, allow) {
				t.Errorf("%s depends on %s, which it may not", rel, d)
			}
		}
	}
}

// transitiveOK allows the dependencies of an allowed third-party module
// (gnet brings ants and x/sys; zap brings multierr).
func transitiveOK(dep string, allow []string) bool {
	deps := map[string][]string{
		"github.com/panjf2000/gnet/v2": {"github.com/panjf2000/ants/v2", "golang.org/x/sys", "golang.org/x/sync", "github.com/valyala/bytebufferpool", "gopkg.in/natefinch/lumberjack.v2", "go.uber.org/zap", "go.uber.org/multierr"},
		"go.uber.org/zap":              {"go.uber.org/multierr"},
		"github.com/panjf2000/ants/v2": {"golang.org/x/sync"},
		"github.com/prometheus/client_golang": {"github.com/prometheus/client_model", "github.com/prometheus/common",
			"github.com/prometheus/procfs", "github.com/beorn7/perks", "github.com/cespare/xxhash/v2",
			"github.com/munnerz/goautoneg", "google.golang.org/protobuf", "golang.org/x/sys"},
		"github.com/prometheus/common": {"github.com/prometheus/client_model", "github.com/munnerz/goautoneg", "google.golang.org/protobuf"},
	}
	for _, a := range allow {
		for _, d := range deps[a] {
			if strings.HasPrefix(dep, d) {
				return true
			}
		}
	}
	return false
}
