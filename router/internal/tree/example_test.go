package tree_test

import (
	"fmt"

	"github.com/weftgo/weft/router/internal/tree"
)

func Example() {
	var t tree.Tree[string]
	for _, p := range []string{"/users/new", "/users/:id", "/users/:id/posts", "/static/*path"} {
		if err := t.Add(p, "handler for "+p); err != nil {
			panic(err) // a router panics at start-up
		}
	}

	// Size the values buffer once; Lookup then never allocates.
	values := make([]string, 0, t.MaxParams())
	for _, path := range []string{"/users/new", "/users/42", "/users/new/posts", "/static/css/a.css", "/nope"} {
		v, vals, ok := t.Lookup(path, values[:0])
		fmt.Println(path, "->", v, vals, ok)
	}
	// Output:
	// /users/new -> handler for /users/new [] true
	// /users/42 -> handler for /users/:id [42] true
	// /users/new/posts -> handler for /users/:id/posts [new] true
	// /static/css/a.css -> handler for /static/*path [css/a.css] true
	// /nope ->  [] false
}

func ExampleParamNames() {
	var t tree.Tree[int]
	const pattern = "/repos/:owner/:repo/contents/*path"
	_ = t.Add(pattern, 1)

	names, _ := tree.ParamNames(pattern)
	_, values, _ := t.Lookup("/repos/weftgo/weft/contents/router/tree.go", nil)
	for i, name := range names {
		fmt.Printf("%s=%s\n", name, values[i])
	}
	// Output:
	// owner=weftgo
	// repo=weft
	// path=router/tree.go
}

func ExampleTree_Add_conflict() {
	var t tree.Tree[int]
	_ = t.Add("/users/:id", 1)
	fmt.Println(t.Add("/users/:name/posts", 2))
	fmt.Println(t.Add("/users/:id", 3))
	fmt.Println(t.Add("/users/:id.json", 4))
	// Output:
	// tree: pattern "/users/:name/posts" conflicts with existing pattern "/users/:id": both have a parameter after "/users/", named :name here and :id there; a position takes one name
	// tree: pattern "/users/:id" conflicts with existing pattern "/users/:id": the pattern is registered twice
	// tree: invalid pattern "/users/:id.json": parameter ":id.json": a name holds only letters, digits and '_', and a parameter must fill its whole segment
}

// A router offers a trailing-slash redirect by looking up the path again
// with its final slash toggled.
func ExampleTree_Lookup_trailingSlash() {
	var t tree.Tree[string]
	_ = t.Add("/docs/", "docs")

	path := "/docs"
	if _, _, ok := t.Lookup(path, nil); !ok {
		if _, _, ok := t.Lookup(path+"/", nil); ok {
			fmt.Println("redirect to", path+"/")
		}
	}
	// Output:
	// redirect to /docs/
}
