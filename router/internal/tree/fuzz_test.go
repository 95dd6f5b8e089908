package tree

import (
	"errors"
	"slices"
	"testing"
)

// fuzzRoutes packs the awkward cases into one conflict-free set: statics,
// parameters and catch-alls side by side at several depths, shared and
// nested prefixes, empty segments, multi-byte and percent-encoded bytes.
var fuzzRoutes = []string{
	"/", "/users", "/users/", "/users/new", "/users/new/x", "/users/:id",
	"/users/:id/posts", "/users/:id/posts/:post", "/users/:id/*rest",
	"/static/*path", "/static/favicon.ico",
	"/:lang/docs", "/:lang/docs/*rest", "/:lang/:page/edit",
	"/api/users", "/api/:version/items/:item",
	"/search", "/support", "/se", "/s/:x", "/s/:x/",
	"/files/", "/files/*path", "/files/:name/meta",
	"//", "/a//b", "/a/:x/b", "/a/b/c/d", "/a/:x/c/e",
	"/über/:name", "/a%2Fb/:x",
	"/x/:a/:b/:c", "/x/:a/y/*z", "/x/y/:b/c",
}

// FuzzLookup checks Lookup against the reference matcher on two route sets.
// Seeds are in testdata/fuzz/FuzzLookup.
func FuzzLookup(f *testing.F) {
	sets := []struct {
		tree *Tree[string]
		ref  reference
	}{
		{build(f, fuzzRoutes), newReference(fuzzRoutes)},
		{build(f, githubAPI), newReference(githubAPI)},
	}
	f.Fuzz(func(t *testing.T, path string) {
		for _, s := range sets {
			checkAgainstReference(t, s.tree, s.ref, path)
		}
	})
}

// FuzzAdd adds a fuzzed pattern to fuzzRoutes: Add must agree with
// ParamNames on validity, leave the tree unchanged when it refuses, and
// when it accepts, Lookup must still agree with the reference.
func FuzzAdd(f *testing.F) {
	for _, p := range []string{"/users/:name", "/users/:id/*all", "/a/x:id", "/:lang/:p/*r", "/s/:x//"} {
		f.Add(p, "/users/new/posts")
	}
	f.Fuzz(func(t *testing.T, pattern, path string) {
		tr := build(t, fuzzRoutes)
		before := patterns(tr)
		err := tr.Add(pattern, pattern)
		_, perr := ParamNames(pattern)
		var pe *PatternError
		var ce *ConflictError
		switch {
		case perr != nil:
			if !errors.As(err, &pe) {
				t.Fatalf("ParamNames(%q) = %v but Add = %v", pattern, perr, err)
			}
		case errors.As(err, &ce):
			if v, ok := tr.Get(ce.Existing); !ok || v != ce.Existing {
				t.Fatalf("Add(%q) = %v names a pattern not registered", pattern, err)
			}
		case err != nil:
			t.Fatalf("Add(%q) = %v, want nil, *PatternError or *ConflictError", pattern, err)
		}
		checkInvariants(t, tr)
		all := fuzzRoutes
		if err == nil {
			all = append(slices.Clip(fuzzRoutes), pattern)
			if v, ok := tr.Get(pattern); !ok || v != pattern {
				t.Fatalf("Get(%q) after Add = %q %v", pattern, v, ok)
			}
		} else if after := patterns(tr); !slices.Equal(after, before) {
			t.Fatalf("failed Add(%q) changed the tree", pattern)
		}
		ref := newReference(all)
		checkAgainstReference(t, tr, ref, path)
		if err == nil {
			p, _ := githubPath(pattern)
			checkAgainstReference(t, tr, ref, p)
		}
	})
}
