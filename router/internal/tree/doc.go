// Package tree is weft's route tree: a generic radix tree that maps URL path
// patterns to values of any type V. It knows nothing of HTTP; the router
// above it stores one V per pattern (a table of handlers by method, say) and
// pairs the parameter values Lookup returns with the names ParamNames gives.
//
// Routing runs for every request on an event loop, so the tree is built for
// that: a lookup is one loop, with no recursion, no stack of its own and no
// allocation, and parameter values are substrings of the path rather than
// copies. Unlike httprouter's tree, a parameter may live beside static routes
// (/users/new beside /users/:id), at the price of backtracking, which stays
// bounded: each node is entered at most once per lookup.
//
// In use:
//
//	var t tree.Tree[string]
//	err := t.Add("/users/:id", "user") // nil, a *PatternError or a *ConflictError
//	values := make([]string, 0, t.MaxParams())
//	v, values, ok := t.Lookup("/users/42", values[:0]) // "user", ["42"], true
//	names, _ := tree.ParamNames("/users/:id")          // ["id"]
//
// # Patterns
//
// A pattern begins with '/' and is a sequence of segments separated by '/':
//
//	/users/new        static: matched byte for byte, case-sensitive
//	/users/:id        :id matches one whole, non-empty segment (no '/')
//	/files/*path      *path matches the rest of the path, '/' included,
//	                  possibly empty: /files/ gives path "", /files/a/b gives
//	                  "a/b"; /files (no slash) does not match
//
// A parameter or catch-all fills its whole segment: /a/x:id, /a/:id.json and
// /a*b are invalid. A catch-all is only the last segment. Names are ASCII
// letters, digits and '_', non-empty, and unique within a pattern. So ':' and
// '*' cannot appear literally in a pattern; there is no escape. Paths are
// matched as given, raw and percent-encoded: the tree decodes and cleans
// nothing, so /a/b, /a/b/, /a//b and /a/%62 are four different paths, and an
// empty segment ("//") matches only an empty static segment, never a
// parameter.
//
// An invalid pattern is a *PatternError. A pattern that cannot live beside one
// already registered is a *ConflictError naming both: the same pattern twice,
// or two wildcards of one kind at the same position with different names
// (/users/:id and /users/:name/posts; values are positional, so a position has
// one name). A parameter and a catch-all may share a position, as may any
// number of static segments.
//
// # Priority
//
// When several patterns match a path, the tree prefers, segment by segment
// from the left, a static segment over a parameter over a catch-all. It tries
// them in that order and backtracks when a branch fails deeper down. With
//
//	/users/new   /users/:id   /users/:id/posts   /:lang/docs   /api/users
//
// /users/new matches /users/new; /users/42 matches /users/:id;
// /users/new/posts matches /users/:id/posts with id "new" (the static branch
// "new" has no "/posts", so the parameter is tried); /api/docs matches
// /:lang/docs with lang "api". The outcome is as if every pattern were tried
// and the matching one whose sequence of segment kinds sorts first (static <
// parameter < catch-all) won; the tests check exactly that against such a
// reference matcher.
//
// # Allocation
//
// Add allocates and is meant for start-up. Lookup appends the wildcard values
// to the slice it is given and allocates nothing when that slice has spare
// capacity for MaxParams values; a static route never touches the slice.
//
// # Trailing slashes
//
// The tree does not redirect. A router that wants to offer /users/ -> /users
// (or the reverse) after a failed lookup calls Lookup again with the final
// slash removed or added; the second lookup costs what the first did, and
// building the toggled path is the router's only allocation. Note that a
// catch-all needs its slash: /files/*path does not match /files, but the
// toggled /files/ does.
//
// # Choices and limits
//
// httprouter's tree never backtracks, so it must refuse a parameter beside a
// static segment; this one accepts it and backtracks. chi's tree backtracks
// by recursion, a call per node; this one walks back up through parent
// pointers, recovering each node's start from the length of its prefix or of
// the parameter value it took, so it needs neither recursion nor a stack.
// There are no regular-expression segments, no optional segments, no escape
// for a literal ':' or '*', and no method handling: V carries whatever the
// router needs per path. Patterns cannot be removed.
//
// # Concurrency
//
// A Tree is built by one goroutine (Add is not safe for concurrent use);
// once built, Lookup is safe for concurrent use, as are Get, Walk, Len and
// MaxParams. On a weft event loop, Lookup is safe anywhere: it touches no
// loop state.
package tree
