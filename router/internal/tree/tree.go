package tree

import (
	"fmt"
	"strings"
)

// Tree maps path patterns to values of type V. The zero value is an empty
// tree ready to use.
//
// Build a Tree on one goroutine: Add is not safe for concurrent use, nor
// with any other method. Once built, the Tree is safe for concurrent use.
type Tree[V any] struct {
	root      *node[V] // nil until the first Add; its prefix begins with '/'
	count     int      // number of patterns registered
	maxParams int      // most wildcards in one registered pattern
}

// node is one edge of the radix tree.
//
// A static node matches prefix byte for byte; its static children begin with
// distinct bytes, kept in ascending order and listed in indices. A param node
// matches one non-empty segment and a catch-all node the rest of the path;
// neither has a prefix. Only a node whose match ends in '/' has a param or
// catch-all child; a param node's only children are static ones beginning
// with '/'; a catch-all node is always a leaf holding a value.
type node[V any] struct {
	// Lookup reads these.
	prefix   string     // static nodes only
	indices  string     // indices[i] is the first byte of children[i].prefix
	children []*node[V] // static children
	param    *node[V]   // the ":name" child, or nil
	catchAll *node[V]   // the "*name" child, or nil
	parent   *node[V]   // nil for the root; Lookup backtracks through it
	kind     kind
	pattern  string // the pattern whose value this node holds, or ""
	value    V

	// name and owner are set on param and catch-all nodes: the wildcard's
	// name, and the first pattern registered through the node, which a
	// conflict error names.
	name  string
	owner string
}

// staticChild returns the static child whose prefix begins with c, or nil.
// A plain loop: fan-outs are small, and it inlines where IndexByte's call
// would cost more than the scan.
func (n *node[V]) staticChild(c byte) *node[V] {
	for i := 0; i < len(n.indices); i++ {
		if n.indices[i] == c {
			return n.children[i]
		}
	}
	return nil
}

// addStatic inserts a new static child matching prefix, in byte order, and
// returns it. No child may already begin with prefix[0].
func (n *node[V]) addStatic(prefix string) *node[V] {
	c := &node[V]{prefix: prefix, parent: n, kind: kindStatic}
	i := 0
	for i < len(n.indices) && n.indices[i] < prefix[0] {
		i++
	}
	n.indices = n.indices[:i] + prefix[:1] + n.indices[i:]
	n.children = append(n.children, nil)
	copy(n.children[i+1:], n.children[i:])
	n.children[i] = c
	return c
}

// split cuts the static node n after its first l bytes (0 < l < len(prefix)):
// n keeps prefix[:l], and one new static child takes the rest of the prefix
// with everything n held (children, wildcards, value). Matching is unchanged.
func (n *node[V]) split(l int) {
	c := &node[V]{
		prefix:   n.prefix[l:],
		indices:  n.indices,
		children: n.children,
		param:    n.param,
		catchAll: n.catchAll,
		parent:   n,
		kind:     kindStatic,
		pattern:  n.pattern,
		value:    n.value,
	}
	for _, gc := range c.children {
		gc.parent = c
	}
	if c.param != nil {
		c.param.parent = c
	}
	if c.catchAll != nil {
		c.catchAll.parent = c
	}
	var zero V
	n.prefix = n.prefix[:l]
	n.indices = c.prefix[:1]
	n.children = []*node[V]{c}
	n.param, n.catchAll = nil, nil
	n.pattern, n.value = "", zero
}

// Add registers v under pattern. It returns a *PatternError if pattern does
// not follow the grammar, and a *ConflictError if pattern is already
// registered or gives a wildcard a different name than a registered pattern
// does at the same position. On error the tree is unchanged.
//
// Add allocates; it is meant for start-up. Confine to one goroutine: it must
// not run concurrently with any other method.
func (t *Tree[V]) Add(pattern string, v V) error {
	toks, err := parse(pattern)
	if err != nil {
		return err
	}
	// Conflicts are found before anything changes: a conflict needs an
	// existing wildcard or value, and once the walk below splits a node or
	// creates one, it meets neither again (FuzzAdd checks this).
	var n *node[V] // nil stands for the position before the root
	params := 0
	for _, tok := range toks {
		switch tok.kind {
		case kindStatic:
			n = t.insertStatic(n, tok.text)
		case kindParam, kindCatchAll:
			params++
			child := &n.param
			if tok.kind == kindCatchAll {
				child = &n.catchAll
			}
			if *child == nil {
				*child = &node[V]{parent: n, kind: tok.kind, name: tok.text, owner: pattern}
			} else if (*child).name != tok.text {
				return &ConflictError{
					Pattern:  pattern,
					Existing: (*child).owner,
					Reason: fmt.Sprintf("both have a %s after %q, named %s here and %s there; a position takes one name",
						tok.kind, pattern[:tok.start], tok.sigil(), token{kind: tok.kind, text: (*child).name}.sigil()),
				}
			}
			n = *child
		}
	}
	if n.pattern != "" {
		return &ConflictError{Pattern: pattern, Existing: n.pattern, Reason: "the pattern is registered twice"}
	}
	n.pattern, n.value = pattern, v
	t.count++
	t.maxParams = max(t.maxParams, params)
	return nil
}

// insertStatic follows or creates static nodes below n (nil: the root) for
// the bytes of s and returns the node whose match ends exactly where s does,
// splitting a node if s ends or departs inside its prefix.
func (t *Tree[V]) insertStatic(n *node[V], s string) *node[V] {
	var c *node[V]
	switch {
	case n == nil && t.root == nil:
		t.root = &node[V]{prefix: s, kind: kindStatic}
		return t.root
	case n == nil:
		c = t.root // both begin with '/'
	default:
		if c = n.staticChild(s[0]); c == nil {
			return n.addStatic(s)
		}
	}
	for {
		l := commonPrefix(c.prefix, s)
		if l < len(c.prefix) {
			c.split(l)
		}
		s = s[l:]
		if s == "" {
			return c
		}
		next := c.staticChild(s[0])
		if next == nil {
			return c.addStatic(s)
		}
		c = next
	}
}

// hasPrefixAt reports whether path[pos:] begins with prefix. prefix[0] is
// already known to match. A byte loop beats the memequal call for the short
// prefixes of a route tree.
func hasPrefixAt(path string, pos int, prefix string) bool {
	if len(path)-pos < len(prefix) {
		return false
	}
	for i := 1; i < len(prefix); i++ {
		if path[pos+i] != prefix[i] {
			return false
		}
	}
	return true
}

// commonPrefix returns the length of the longest common prefix of a and b.
func commonPrefix(a, b string) int {
	i := 0
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	return i
}

// stage is how far Lookup has got through the children of its current node.
type stage uint8

const (
	tryStatic   stage = iota // the node itself, then its static child
	tryParam                 // its param child
	tryCatchAll              // its catch-all child
)

// Lookup finds the value registered under the pattern that matches path,
// choosing among several as the package documentation describes. The values
// of the matched pattern's parameters and catch-all are appended to values, in
// the order their names appear in the pattern (see ParamNames); they are
// substrings of path, not copies. Without a match, ok is false and
// outValues is values unchanged.
//
// Lookup does not allocate when cap(values)-len(values) >= MaxParams().
// Safe for concurrent use once the tree is built.
func (t *Tree[V]) Lookup(path string, values []string) (v V, outValues []string, ok bool) {
	n := t.root
	if n == nil || !strings.HasPrefix(path, n.prefix) {
		return v, values, false
	}
	// A depth-first search without a stack: each node is entered at most
	// once, and leaving it restores pos (and values) from what it matched.
	pos := len(n.prefix) // path[:pos] is matched by n and its ancestors
	next := tryStatic
	for {
		switch next {
		case tryStatic:
			if pos == len(path) {
				if n.pattern != "" {
					return n.value, values, true
				}
			} else if c := n.staticChild(path[pos]); c != nil && hasPrefixAt(path, pos, c.prefix) {
				n, pos = c, pos+len(c.prefix)
				continue
			}
			fallthrough
		case tryParam:
			if c := n.param; c != nil && pos < len(path) {
				end := pos
				for end < len(path) && path[end] != '/' {
					end++
				}
				if end > pos {
					values = append(values, path[pos:end])
					n, pos, next = c, end, tryStatic
					continue
				}
			}
			fallthrough
		case tryCatchAll:
			if c := n.catchAll; c != nil {
				return c.value, append(values, path[pos:]), true
			}
		}
		// Nothing below n matches: go back to its parent and try the next kind
		// of child there. (A catch-all always matches, so n is never one.)
		if n.kind == kindStatic {
			pos -= len(n.prefix)
			next = tryParam
		} else {
			last := len(values) - 1
			pos -= len(values[last])
			values = values[:last]
			next = tryCatchAll
		}
		if n = n.parent; n == nil {
			return v, values, false
		}
	}
}

// Get returns the value registered under exactly pattern (not a path it
// would match), so a caller can extend a value already in the tree (add a
// method to a path's handler table, say). Safe for concurrent use once the
// tree is built.
func (t *Tree[V]) Get(pattern string) (v V, ok bool) {
	toks, err := parse(pattern)
	if err != nil {
		return v, false
	}
	var n *node[V]
	for _, tok := range toks {
		switch tok.kind {
		case kindStatic:
			n = t.findStatic(n, tok.text)
		case kindParam:
			n = n.param
		case kindCatchAll:
			n = n.catchAll
		}
		if n == nil || (tok.kind != kindStatic && n.name != tok.text) {
			return v, false
		}
	}
	if n.pattern != pattern {
		return v, false
	}
	return n.value, true
}

// findStatic follows static nodes below n (nil: the root) over the bytes of
// s and returns the node whose match ends exactly where s does, or nil.
func (t *Tree[V]) findStatic(n *node[V], s string) *node[V] {
	c := t.root
	if n != nil {
		c = n.staticChild(s[0])
	}
	for c != nil && strings.HasPrefix(s, c.prefix) {
		if s = s[len(c.prefix):]; s == "" {
			return c
		}
		c = c.staticChild(s[0])
	}
	return nil
}

// Walk calls fn for each registered pattern and its value until fn returns
// false. The order is the tree's: a pattern before longer ones sharing its
// prefix, static branches in byte order, then the parameter, then the
// catch-all — so of two patterns matching the same path, the one Lookup
// prefers comes first.
// Safe for concurrent use once the tree is built; fn must not call Add.
func (t *Tree[V]) Walk(fn func(pattern string, v V) bool) {
	if t.root != nil {
		t.root.walk(fn)
	}
}

// walk is Walk for the subtree at n; it reports whether to go on.
func (n *node[V]) walk(fn func(pattern string, v V) bool) bool {
	if n.pattern != "" && !fn(n.pattern, n.value) {
		return false
	}
	for _, c := range n.children {
		if !c.walk(fn) {
			return false
		}
	}
	if n.param != nil && !n.param.walk(fn) {
		return false
	}
	return n.catchAll == nil || n.catchAll.walk(fn)
}

// Len returns the number of registered patterns.
// Safe for concurrent use once the tree is built.
func (t *Tree[V]) Len() int { return t.count }

// MaxParams returns the most wildcards (parameters plus catch-all) in any
// registered pattern: the spare capacity of values with which Lookup never
// allocates. Safe for concurrent use once the tree is built.
func (t *Tree[V]) MaxParams() int { return t.maxParams }
