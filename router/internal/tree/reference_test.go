package tree

import (
	"slices"
	"strings"
	"testing"
)

// reference is the slow, obviously correct matcher Lookup is checked
// against: it tries every pattern on its own, segment by segment, and among
// those that match picks the one whose segment kinds sort first, static <
// parameter < catch-all, compared from the left.
type reference []refRoute

type refRoute struct {
	pattern string
	segs    []string // the pattern split at '/', without the leading one
}

func newReference(patterns []string) reference {
	r := make(reference, len(patterns))
	for i, p := range patterns {
		r[i] = refRoute{pattern: p, segs: strings.Split(p[1:], "/")}
	}
	return r
}

// segKind is the kind of one pattern segment.
func segKind(seg string) kind {
	switch {
	case strings.HasPrefix(seg, ":"):
		return kindParam
	case strings.HasPrefix(seg, "*"):
		return kindCatchAll
	}
	return kindStatic
}

// match reports whether path matches r and the wildcard values it gives.
func (r refRoute) match(path string) ([]string, bool) {
	if !strings.HasPrefix(path, "/") {
		return nil, false
	}
	ps := strings.Split(path[1:], "/")
	var values []string
	for i, seg := range r.segs {
		if i >= len(ps) {
			return nil, false
		}
		switch segKind(seg) {
		case kindCatchAll:
			return append(values, strings.Join(ps[i:], "/")), true
		case kindParam:
			if ps[i] == "" {
				return nil, false
			}
			values = append(values, ps[i])
		default:
			if ps[i] != seg {
				return nil, false
			}
		}
	}
	return values, len(ps) == len(r.segs)
}

// before reports whether r is preferred over o when both match a path.
func (r refRoute) before(o refRoute) bool {
	for i := 0; i < len(r.segs) && i < len(o.segs); i++ {
		if a, b := segKind(r.segs[i]), segKind(o.segs[i]); a != b {
			return a < b
		}
	}
	return false
}

// lookup returns the preferred pattern matching path. It panics on a tie,
// which a tree would have refused as a conflict.
func (ref reference) lookup(path string) (pattern string, values []string, ok bool) {
	var best *refRoute
	for i := range ref {
		r := &ref[i]
		vals, m := r.match(path)
		if !m {
			continue
		}
		if best != nil && !r.before(*best) {
			if !best.before(*r) {
				panic("reference: " + best.pattern + " and " + r.pattern + " tie on " + path)
			}
			continue
		}
		best, values = r, vals
	}
	if best == nil {
		return "", nil, false
	}
	return best.pattern, values, true
}

// build returns a tree holding each pattern as its own value.
func build(t testing.TB, patterns []string) *Tree[string] {
	t.Helper()
	var tr Tree[string]
	for _, p := range patterns {
		if err := tr.Add(p, p); err != nil {
			t.Fatalf("Add(%q): %v", p, err)
		}
	}
	checkInvariants(t, &tr)
	return &tr
}

// checkInvariants fails t if the tree's structure breaks a rule that
// Lookup relies on.
func checkInvariants[V any](t testing.TB, tr *Tree[V]) {
	t.Helper()
	if tr.root == nil {
		if tr.count != 0 {
			t.Fatalf("empty tree with len %d", tr.count)
		}
		return
	}
	if tr.root.parent != nil || tr.root.kind != kindStatic || !strings.HasPrefix(tr.root.prefix, "/") {
		t.Fatalf("bad root %+v", tr.root)
	}
	count := 0
	var check func(n *node[V], path string)
	check = func(n *node[V], path string) {
		switch n.kind {
		case kindStatic:
			if n.prefix == "" {
				t.Fatalf("%s: empty static prefix", path)
			}
			path += n.prefix
		case kindParam:
			path += ":" + n.name
		case kindCatchAll:
			path += "*" + n.name
		}
		if n.pattern != "" {
			count++
		} else if len(n.children) == 0 && n.param == nil && n.catchAll == nil {
			t.Fatalf("%s: dead end without a value", path)
		}
		if len(n.indices) != len(n.children) {
			t.Fatalf("%s: %d indices for %d children", path, len(n.indices), len(n.children))
		}
		for i, c := range n.children {
			if c.kind != kindStatic || c.parent != n || c.prefix[0] != n.indices[i] {
				t.Fatalf("%s: bad static child %d (%q)", path, i, c.prefix)
			}
			if i > 0 && n.indices[i-1] >= n.indices[i] {
				t.Fatalf("%s: indices %q not strictly ascending", path, n.indices)
			}
			if n.kind == kindParam && c.prefix[0] != '/' {
				t.Fatalf("%s: param followed by %q", path, c.prefix)
			}
			check(c, path)
		}
		if n.param != nil || n.catchAll != nil {
			if n.kind != kindStatic || !strings.HasSuffix(n.prefix, "/") {
				t.Fatalf("%s: wildcard child after something other than '/'", path)
			}
		}
		if c := n.param; c != nil {
			if c.kind != kindParam || c.parent != n || c.name == "" || c.owner == "" {
				t.Fatalf("%s: bad param child %+v", path, c)
			}
			check(c, path)
		}
		if c := n.catchAll; c != nil {
			if c.kind != kindCatchAll || c.parent != n || c.pattern == "" ||
				len(c.children) != 0 || c.param != nil || c.catchAll != nil {
				t.Fatalf("%s: bad catch-all child %+v", path, c)
			}
			check(c, path)
		}
	}
	check(tr.root, "")
	if count != tr.count {
		t.Fatalf("%d values in the tree, Len %d", count, tr.count)
	}
}

// patterns lists the tree's patterns in Walk order.
func patterns[V any](tr *Tree[V]) []string {
	var ps []string
	tr.Walk(func(p string, _ V) bool {
		ps = append(ps, p)
		return true
	})
	return ps
}

// checkAgainstReference fails t unless tr and ref agree on path.
func checkAgainstReference(t testing.TB, tr *Tree[string], ref reference, path string) {
	t.Helper()
	wantP, wantV, wantOK := ref.lookup(path)
	gotP, gotV, gotOK := tr.Lookup(path, nil)
	if gotOK != wantOK || gotP != wantP || !slices.Equal(gotV, wantV) {
		t.Fatalf("Lookup(%q) = %q %q %v; reference gives %q %q %v",
			path, gotP, gotV, gotOK, wantP, wantV, wantOK)
	}
}

func TestReferenceSelf(t *testing.T) {
	// Spot-check the priority rule the reference encodes, on its own.
	ref := newReference([]string{"/users/new", "/users/:id", "/users/:id/posts", "/*all"})
	tests := []struct {
		path, want string
	}{
		{"/users/new", "/users/new"},
		{"/users/new/posts", "/users/:id/posts"},
		{"/users/new/x", "/*all"},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			if got, _, _ := ref.lookup(tt.path); got != tt.want {
				t.Fatalf("reference lookup(%q) = %q, want %q", tt.path, got, tt.want)
			}
		})
	}
}
