package tree

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// The route sets the lookup table draws on.
var (
	usersRoutes = []string{
		"/", "/users/new", "/users/:id", "/users/:id/posts", "/users/new/x",
		"/static/*path", "/static/favicon.ico", "/:lang/docs", "/api/users",
	}
	prefixRoutes = []string{"/search", "/support", "/s/:x", "/s/:x/edit", "/se"}
	slashRoutes  = []string{"/a", "/a/", "/b", "/c/", "/files/*path", "/files/"}
	bytesRoutes  = []string{
		"/über/:name", "/a%2Fb/:x", "/a//b", "//", "/a/:x/b", "/日本/*rest",
	}
	wildRoutes = []string{
		"/x/:a/:b/:c", "/x/:a/y/*z", "/files/:name/meta", "/files/*path",
		"/a/b/c/d", "/a/:x/c/e", "/:y/b/c/f", "/*z",
	}
)

func TestLookup(t *testing.T) {
	tests := []struct {
		name   string
		routes []string
		path   string
		want   string   // the matched pattern; "" for no match
		values []string // the wildcard values
	}{
		{"root", usersRoutes, "/", "/", nil},
		{"empty path", usersRoutes, "", "", nil},
		{"no leading slash", usersRoutes, "users/new", "", nil},
		{"static beside param", usersRoutes, "/users/new", "/users/new", nil},
		{"param beside static", usersRoutes, "/users/42", "/users/:id", []string{"42"}},
		{"param with static prefix", usersRoutes, "/users/newer", "/users/:id", []string{"newer"}},
		{"param shorter than static", usersRoutes, "/users/ne", "/users/:id", []string{"ne"}},
		{"backtrack from static to param", usersRoutes, "/users/new/posts", "/users/:id/posts", []string{"new"}},
		{"static below static", usersRoutes, "/users/new/x", "/users/new/x", nil},
		{"param then static", usersRoutes, "/users/42/posts", "/users/:id/posts", []string{"42"}},
		{"param needs a segment", usersRoutes, "/users/", "", nil},
		{"no route", usersRoutes, "/users/42/x", "", nil},
		{"prefix of a route", usersRoutes, "/users", "", nil},
		{"static beside catch-all", usersRoutes, "/static/favicon.ico", "/static/favicon.ico", nil},
		{"catch-all beside static", usersRoutes, "/static/app.js", "/static/*path", []string{"app.js"}},
		{"catch-all over a static prefix", usersRoutes, "/static/favicon.icon", "/static/*path", []string{"favicon.icon"}},
		{"catch-all with slashes", usersRoutes, "/static/css/a.css", "/static/*path", []string{"css/a.css"}},
		{"catch-all empty", usersRoutes, "/static/", "/static/*path", []string{""}},
		{"catch-all needs its slash", usersRoutes, "/static", "", nil},
		{"static first segment", usersRoutes, "/api/users", "/api/users", nil},
		{"backtrack at the root", usersRoutes, "/api/docs", "/:lang/docs", []string{"api"}},
		{"param at the root", usersRoutes, "/en/docs", "/:lang/docs", []string{"en"}},
		{"shared prefix search", prefixRoutes, "/search", "/search", nil},
		{"shared prefix support", prefixRoutes, "/support", "/support", nil},
		{"shared prefix se", prefixRoutes, "/se", "/se", nil},
		{"shared prefix param", prefixRoutes, "/s/q", "/s/:x", []string{"q"}},
		{"shared prefix param then static", prefixRoutes, "/s/q/edit", "/s/:x/edit", []string{"q"}},
		{"inside a prefix", prefixRoutes, "/sear", "", nil},
		{"past a prefix", prefixRoutes, "/searchx", "", nil},
		{"split point", prefixRoutes, "/s", "", nil},
		{"param empty", prefixRoutes, "/s/", "", nil},
		{"without trailing slash", slashRoutes, "/a", "/a", nil},
		{"with trailing slash", slashRoutes, "/a/", "/a/", nil},
		{"extra trailing slash", slashRoutes, "/b/", "", nil},
		{"missing trailing slash", slashRoutes, "/c", "", nil},
		{"static slash over empty catch-all", slashRoutes, "/files/", "/files/", nil},
		{"catch-all after slash route", slashRoutes, "/files/a", "/files/*path", []string{"a"}},
		{"unicode static and param", bytesRoutes, "/über/jörg", "/über/:name", []string{"jörg"}},
		{"unicode catch-all", bytesRoutes, "/日本/東京/駅", "/日本/*rest", []string{"東京/駅"}},
		{"unicode differs by a byte", bytesRoutes, "/überx/jörg", "", nil},
		{"percent-encoded static", bytesRoutes, "/a%2Fb/%20", "/a%2Fb/:x", []string{"%20"}},
		{"percent-encoded not decoded", bytesRoutes, "/a/b/%20", "", nil},
		{"percent-encoded slash in param", bytesRoutes, "/a/%2F/b", "/a/:x/b", []string{"%2F"}},
		{"empty segment static", bytesRoutes, "/a//b", "/a//b", nil},
		{"empty segments only", bytesRoutes, "//", "//", nil},
		{"empty segment is no param", bytesRoutes, "/a///b", "", nil},
		{"three params", wildRoutes, "/x/1/2/3", "/x/:a/:b/:c", []string{"1", "2", "3"}},
		{"param before static before catch-all", wildRoutes, "/x/1/y/2/3", "/x/:a/y/*z", []string{"1", "2/3"}},
		{"param over catch-all", wildRoutes, "/files/a/meta", "/files/:name/meta", []string{"a"}},
		{"catch-all after failed param", wildRoutes, "/files/a/other", "/files/*path", []string{"a/other"}},
		{"catch-all over param", wildRoutes, "/files/a", "/files/*path", []string{"a"}},
		{"deep static", wildRoutes, "/a/b/c/d", "/a/b/c/d", nil},
		{"deep backtrack to inner param", wildRoutes, "/a/b/c/e", "/a/:x/c/e", []string{"b"}},
		{"deep backtrack to root param", wildRoutes, "/a/b/c/f", "/:y/b/c/f", []string{"a"}},
		{"deep backtrack to root catch-all", wildRoutes, "/a/b/c/g", "/*z", []string{"a/b/c/g"}},
		{"root catch-all", wildRoutes, "/", "/*z", []string{""}},
	}
	trees := map[*string]*Tree[string]{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := trees[&tt.routes[0]]
			if tr == nil {
				tr = build(t, tt.routes)
				trees[&tt.routes[0]] = tr
			}
			got, values, ok := tr.Lookup(tt.path, nil)
			if got != tt.want || ok != (tt.want != "") || !slices.Equal(values, tt.values) {
				t.Fatalf("Lookup(%q) = %q %q %v, want %q %q", tt.path, got, values, ok, tt.want, tt.values)
			}
			checkAgainstReference(t, tr, newReference(tt.routes), tt.path)
		})
	}
}

func TestLookupAppends(t *testing.T) {
	tr := build(t, usersRoutes)
	values := append(make([]string, 0, 4), "kept")
	tests := []struct {
		name string
		path string
		want []string
	}{
		{"match appends", "/users/42/posts", []string{"kept", "42"}},
		{"static leaves values", "/users/new", []string{"kept"}},
		{"miss after backtracking leaves values", "/users/42/x", []string{"kept"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, got, _ := tr.Lookup(tt.path, values)
			if !slices.Equal(got, tt.want) {
				t.Fatalf("Lookup(%q) values = %q, want %q", tt.path, got, tt.want)
			}
		})
	}
}

func TestEmptyTree(t *testing.T) {
	var tr Tree[int]
	if v, values, ok := tr.Lookup("/", nil); ok || v != 0 || values != nil {
		t.Fatalf("Lookup on an empty tree = %v %q %v", v, values, ok)
	}
	if _, ok := tr.Get("/"); ok {
		t.Fatal("Get on an empty tree found something")
	}
	if tr.Len() != 0 || tr.MaxParams() != 0 || len(patterns(&tr)) != 0 {
		t.Fatal("empty tree is not empty")
	}
}

// TestTrailingSlashToggle shows the redirect the package doc describes: a
// failed lookup retried with the final slash toggled.
func TestTrailingSlashToggle(t *testing.T) {
	tr := build(t, []string{"/users", "/docs/", "/files/*path", "/users/:id"})
	toggle := func(p string) string {
		if s, ok := strings.CutSuffix(p, "/"); ok {
			return s
		}
		return p + "/"
	}
	tests := []struct {
		path, want string // want: the pattern the toggled path matches
	}{
		{"/users/", "/users"},
		{"/docs", "/docs/"},
		{"/files", "/files/*path"},
		{"/users/7/", "/users/:id"},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			if _, _, ok := tr.Lookup(tt.path, nil); ok {
				t.Fatalf("Lookup(%q) matched; want a miss", tt.path)
			}
			if got, _, _ := tr.Lookup(toggle(tt.path), nil); got != tt.want {
				t.Fatalf("Lookup(%q) = %q, want %q", toggle(tt.path), got, tt.want)
			}
		})
	}
}

func TestAddInvalid(t *testing.T) {
	tests := []struct {
		pattern string
		reason  string // a fragment of the message
	}{
		{"", "must begin with '/'"},
		{"users", "must begin with '/'"},
		{"/a/x:id", "inside a segment"},
		{"/a*b", "inside a segment"},
		{"/a/:id.json", `parameter ":id.json"`},
		{"/a/:b-c", `parameter ":b-c"`},
		{"/a/:", "has no name"},
		{"/files/*", "has no name"},
		{"/files/*/x", "has no name"},
		{"/files/*path/x", "must be the last segment"},
		{"/files/*path/", "must be the last segment"},
		{"/:a/:a", `"a" is used twice`},
		{"/:a/*a", `"a" is used twice`},
		{"/a/::b", `parameter "::b"`},
	}
	for _, tt := range tests {
		t.Run(tt.pattern, func(t *testing.T) {
			var tr Tree[int]
			err := tr.Add(tt.pattern, 1)
			var pe *PatternError
			if !errors.As(err, &pe) || pe.Pattern != tt.pattern {
				t.Fatalf("Add(%q) = %v, want a *PatternError for it", tt.pattern, err)
			}
			if !strings.Contains(err.Error(), tt.reason) || !strings.Contains(err.Error(), fmt.Sprintf("%q", tt.pattern)) {
				t.Fatalf("Add(%q) = %q, want it to name the pattern and say %q", tt.pattern, err, tt.reason)
			}
			if _, err := ParamNames(tt.pattern); !errors.As(err, &pe) {
				t.Fatalf("ParamNames(%q) error = %v, want a *PatternError", tt.pattern, err)
			}
			checkInvariants(t, &tr)
		})
	}
}

func TestAddConflict(t *testing.T) {
	tests := []struct {
		name     string
		existing []string
		pattern  string
		conflict string // the existing pattern the error must name
		reason   string // a fragment of the message
	}{
		{"duplicate static", []string{"/a", "/b"}, "/a", "/a", "registered twice"},
		{"duplicate root", []string{"/"}, "/", "/", "registered twice"},
		{"duplicate param", []string{"/users/:id"}, "/users/:id", "/users/:id", "registered twice"},
		{"duplicate catch-all", []string{"/files/*p"}, "/files/*p", "/files/*p", "registered twice"},
		{"param names", []string{"/users/:id"}, "/users/:name/x", "/users/:id",
			`a parameter after "/users/", named :name here and :id there`},
		{"param names, longer existing", []string{"/users/new", "/users/:id/posts"}, "/users/:name", "/users/:id/posts",
			`a parameter after "/users/", named :name here and :id there`},
		{"param names after params", []string{"/r/:owner/:repo/issues"}, "/r/:owner/:name", "/r/:owner/:repo/issues",
			`a parameter after "/r/:owner/", named :name here and :repo there`},
		{"catch-all names", []string{"/files/*path"}, "/files/*rest", "/files/*path",
			`a catch-all after "/files/", named *rest here and *path there`},
		{"same structure, other names", []string{"/a/:x"}, "/a/:y", "/a/:x", "named :y here and :x there"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := build(t, tt.existing)
			before := patterns(tr)
			err := tr.Add(tt.pattern, tt.pattern)
			var ce *ConflictError
			if !errors.As(err, &ce) || ce.Pattern != tt.pattern || ce.Existing != tt.conflict {
				t.Fatalf("Add(%q) = %#v, want a *ConflictError with %q", tt.pattern, err, tt.conflict)
			}
			msg := err.Error()
			if !strings.Contains(msg, fmt.Sprintf("pattern %q", tt.pattern)) ||
				!strings.Contains(msg, fmt.Sprintf("existing pattern %q", tt.conflict)) ||
				!strings.Contains(msg, tt.reason) {
				t.Fatalf("Add(%q) = %q, want both patterns and %q", tt.pattern, msg, tt.reason)
			}
			checkInvariants(t, tr)
			if after := patterns(tr); !slices.Equal(after, before) {
				t.Fatalf("failed Add changed the tree: %q, was %q", after, before)
			}
		})
	}
}

func TestAddNoConflict(t *testing.T) {
	tests := []struct {
		name     string
		patterns []string
	}{
		{"static, param and catch-all at one position", []string{"/users/new", "/users/:id", "/users/*rest", "/users/"}},
		{"param beside statics at the root", []string{"/api/users", "/:lang/docs", "/", "/*all"}},
		{"same name at the same position", []string{"/users/:id", "/users/:id/posts", "/users/:id/posts/:post"}},
		{"different names at different positions", []string{"/a/:x", "/b/:y", "/a/b/:z", "/a/:x/:y"}},
		{"httprouter's GitHub conflicts", []string{"/authorizations/:id", "/authorizations/clients/:client_id"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := build(t, tt.patterns)
			slices.Sort(tt.patterns)
			got := patterns(tr)
			slices.Sort(got)
			if !slices.Equal(got, tt.patterns) || tr.Len() != len(tt.patterns) {
				t.Fatalf("Walk = %q, want %q", got, tt.patterns)
			}
		})
	}
}

func TestParamNames(t *testing.T) {
	tests := []struct {
		pattern string
		want    []string
	}{
		{"/", nil},
		{"/users/new", nil},
		{"/users/:id", []string{"id"}},
		{"/repos/:owner/:repo/contents/*path", []string{"owner", "repo", "path"}},
		{"/:a_1/:B2/*rest", []string{"a_1", "B2", "rest"}},
	}
	for _, tt := range tests {
		t.Run(tt.pattern, func(t *testing.T) {
			got, err := ParamNames(tt.pattern)
			if err != nil || !slices.Equal(got, tt.want) {
				t.Fatalf("ParamNames(%q) = %q, %v; want %q", tt.pattern, got, err, tt.want)
			}
		})
	}
}

func TestGet(t *testing.T) {
	tr := build(t, usersRoutes)
	tests := []struct {
		pattern string
		found   bool
	}{
		{"/users/:id", true},
		{"/users/new", true},
		{"/static/*path", true},
		{"/", true},
		{"/users/:name", false},  // a path-equivalent pattern is not the pattern
		{"/static/*rest", false}, // likewise
		{"/users/42", false},     // a path, not a pattern
		{"/users", false},        // a node without a value
		{"/users/ne", false},     // inside a node
		{"/nope/x", false},
		{"bad", false},
	}
	for _, tt := range tests {
		t.Run(tt.pattern, func(t *testing.T) {
			v, ok := tr.Get(tt.pattern)
			if ok != tt.found || (ok && v != tt.pattern) {
				t.Fatalf("Get(%q) = %q, %v; want found=%v", tt.pattern, v, ok, tt.found)
			}
		})
	}
}

func TestWalk(t *testing.T) {
	tr := build(t, []string{"/users/*rest", "/users/:id", "/b", "/users/new", "/a", "/users/"})
	want := []string{"/a", "/b", "/users/", "/users/new", "/users/:id", "/users/*rest"}
	if got := patterns(tr); !slices.Equal(got, want) {
		t.Fatalf("Walk order = %q, want %q", got, want)
	}
	var first []string
	tr.Walk(func(p string, _ string) bool {
		first = append(first, p)
		return len(first) < 3
	})
	if !slices.Equal(first, want[:3]) {
		t.Fatalf("Walk stopping after 3 = %q, want %q", first, want[:3])
	}
}

func TestMaxParams(t *testing.T) {
	tr := build(t, []string{"/", "/a/:x", "/b/:x/:y/*z", "/c/:x"})
	if got := tr.MaxParams(); got != 3 {
		t.Fatalf("MaxParams = %d, want 3", got)
	}
	_ = tr.Add("/b/:x/:q/*z/", "invalid") // refused: must not count
	_ = tr.Add("/d/:a/:b/:c/:d", "")
	if got := tr.MaxParams(); got != 4 {
		t.Fatalf("MaxParams = %d, want 4", got)
	}
}

// githubPath returns a request path for pattern, with each wildcard
// replaced by a value derived from its name, and those values.
func githubPath(pattern string) (string, []string) {
	segs := strings.Split(pattern, "/")
	var values []string
	for i, s := range segs {
		switch segKind(s) {
		case kindParam:
			segs[i] = "v-" + s[1:]
			values = append(values, segs[i])
		case kindCatchAll:
			segs[i] = "dir/v-" + s[1:]
			values = append(values, segs[i])
		}
	}
	return strings.Join(segs, "/"), values
}

func TestGitHubAPI(t *testing.T) {
	tr := build(t, githubAPI)
	ref := newReference(githubAPI)
	if tr.Len() != len(githubAPI) || tr.MaxParams() != 4 {
		t.Fatalf("Len %d MaxParams %d, want %d and 4", tr.Len(), tr.MaxParams(), len(githubAPI))
	}
	for _, pattern := range githubAPI {
		t.Run(pattern, func(t *testing.T) {
			path, want := githubPath(pattern)
			got, values, ok := tr.Lookup(path, nil)
			if !ok || got != pattern || !slices.Equal(values, want) {
				t.Fatalf("Lookup(%q) = %q %q %v, want %q %q", path, got, values, ok, pattern, want)
			}
			if v, ok := tr.Get(pattern); !ok || v != pattern {
				t.Fatalf("Get(%q) = %q %v", pattern, v, ok)
			}
		})
	}
	tests := []struct {
		path, want string // want: "" for no match
	}{
		{"/repos/o/r/git/x", "/repos/:owner/:repo/:archive_format/:ref"}, // backtracks from git
		{"/repos/o/r/events/x", "/repos/:owner/:repo/:archive_format/:ref"},
		{"/repos/o/r/git/refs/heads/main", "/repos/:owner/:repo/git/refs/*ref"},
		{"/repos/o/r/git/refs/", "/repos/:owner/:repo/git/refs/*ref"},
		{"/authorizations/clients/c1", "/authorizations/clients/:client_id"},
		{"/authorizations/clients", "/authorizations/:id"},
		{"/user/keys/1", "/user/keys/:id"},
		{"/users/keys/1", ""},
		{"/nope", ""},
		{"/", ""},
		{"", ""},
		{"/user/x/y/z", ""},
		{"/repos/o", ""},
		{"/repos/o/r/git/x/y", ""},
		{"/authorizations/1/2", ""},
		{"/gists/1/star/x", ""},
		{"/repos/o/r/", ""},
		{"/search", ""},
		{"/search/", ""},
		{"/legacy/issues/search/o/r/s", ""},
		{"/USER", ""},
	}
	for _, tt := range tests {
		t.Run("path "+tt.path, func(t *testing.T) {
			got, _, ok := tr.Lookup(tt.path, nil)
			if got != tt.want || ok != (tt.want != "") {
				t.Fatalf("Lookup(%q) = %q %v, want %q", tt.path, got, ok, tt.want)
			}
			checkAgainstReference(t, tr, ref, tt.path)
		})
	}
}

func TestLookupAllocs(t *testing.T) {
	tr := build(t, githubAPI)
	values := make([]string, 0, tr.MaxParams())
	tests := []struct {
		name, path string
	}{
		{"static", "/user/repos"},
		{"one param", "/users/gordon"},
		{"four params", "/legacy/issues/search/o/r/open/go"},
		{"catch-all", "/repos/o/r/contents/a/b/c"},
		{"backtracking", "/repos/o/r/git/x"},
		{"miss", "/repos/o/r/git/x/y"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			allocs := testing.AllocsPerRun(1000, func() {
				_, values, _ = tr.Lookup(tt.path, values[:0])
			})
			if allocs != 0 {
				t.Fatalf("Lookup(%q) allocates %v times, want 0", tt.path, allocs)
			}
		})
	}
	t.Run("GitHub API", func(t *testing.T) {
		paths := make([]string, len(githubAPI))
		for i, p := range githubAPI {
			paths[i], _ = githubPath(p)
		}
		allocs := testing.AllocsPerRun(100, func() {
			for _, p := range paths {
				_, values, _ = tr.Lookup(p, values[:0])
			}
		})
		if allocs != 0 {
			t.Fatalf("looking up every GitHub route allocates %v times, want 0", allocs)
		}
	})
}

// TestConcurrentLookup gives the race detector concurrent lookups to watch.
func TestConcurrentLookup(t *testing.T) {
	tr := build(t, githubAPI)
	done := make(chan struct{})
	for range 4 {
		go func() {
			defer func() { done <- struct{}{} }()
			values := make([]string, 0, tr.MaxParams())
			for _, p := range githubAPI {
				path, _ := githubPath(p)
				if got, _, _ := tr.Lookup(path, values); got != p {
					t.Errorf("Lookup(%q) = %q", path, got)
				}
			}
		}()
	}
	for range 4 {
		<-done
	}
}
