package router

import (
	"fmt"
	goruntime "runtime"
	"slices"
	"strings"

	"github.com/weftgo/weft/net"
	"github.com/weftgo/weft/router/internal/tree"
)

// Router is a net.Handler (its Serve method) that routes by method and
// path. Make one with New.
type Router struct {
	root     Group
	tree     tree.Tree[*route]
	mw       []net.Middleware
	serve    net.Handler // mw around dispatch
	notFound net.Handler
	notAllow net.Handler

	// slashTargets: some pattern ends in '/' or has a catch-all, so a
	// path without a final slash may have a route with one.
	slashTargets bool
}

// New returns an empty router.
func New() *Router {
	r := &Router{notFound: notFound, notAllow: methodNotAllowed}
	r.root = Group{r: r}
	r.serve = r.dispatch
	return r
}

// Serve routes c to its handler. Use it as the server's handler:
// net.Server{Handler: r.Serve}. Safe for concurrent use once every route is
// registered.
func (r *Router) Serve(c *net.Ctx) net.Result { return r.serve(c) }

// Use adds middleware around everything the router serves, unmatched
// requests included, in order: the first added is outermost.
func (r *Router) Use(mw ...net.Middleware) {
	r.mw = append(r.mw, mw...)
	r.serve = net.Chain(r.dispatch, r.mw...)
}

// NotFound sets the handler for requests no pattern matches. The default
// answers 404 "Not Found" as text.
func (r *Router) NotFound(h net.Handler) { r.notFound = h }

// MethodNotAllowed sets the handler for requests whose path matches a
// pattern that has no handler for their method. The Allow header is set
// before it runs. The default answers 405 "Method Not Allowed" as text.
func (r *Router) MethodNotAllowed(h net.Handler) { r.notAllow = h }

// Group returns a group of routes under prefix (which may be "") with its
// own middleware.
func (r *Router) Group(prefix string, mw ...net.Middleware) *Group {
	return r.root.Group(prefix, mw...)
}

// Handle registers h for method and pattern. It panics on an invalid
// pattern or a conflict (see the package doc).
func (r *Router) Handle(method, pattern string, h net.Handler) { r.root.handle(method, pattern, h) }

// GET registers h for GET (and HEAD, unless HEAD has its own handler).
func (r *Router) GET(pattern string, h net.Handler) { r.root.handle("GET", pattern, h) }

// HEAD registers h for HEAD.
func (r *Router) HEAD(pattern string, h net.Handler) { r.root.handle("HEAD", pattern, h) }

// POST registers h for POST.
func (r *Router) POST(pattern string, h net.Handler) { r.root.handle("POST", pattern, h) }

// PUT registers h for PUT.
func (r *Router) PUT(pattern string, h net.Handler) { r.root.handle("PUT", pattern, h) }

// PATCH registers h for PATCH.
func (r *Router) PATCH(pattern string, h net.Handler) { r.root.handle("PATCH", pattern, h) }

// DELETE registers h for DELETE.
func (r *Router) DELETE(pattern string, h net.Handler) { r.root.handle("DELETE", pattern, h) }

// OPTIONS registers h for OPTIONS, replacing the automatic answer.
func (r *Router) OPTIONS(pattern string, h net.Handler) { r.root.handle("OPTIONS", pattern, h) }

// BodyLimit returns the body limit set with Group.MaxBody for the route
// and method of c, or 0. Give it to the server, so that a body over the
// limit is refused before it is buffered:
//
//	srv := &net.Server{Handler: r.Serve, BodyLimit: r.BodyLimit}
//
// Safe for concurrent use once every route is registered.
func (r *Router) BodyLimit(c *net.Ctx) int64 {
	var vals [8]string
	rt, _, ok := r.tree.Lookup(matchPath(c.Path()), vals[:0])
	if !ok || rt.limits == nil {
		return 0
	}
	m := c.Method()
	if lim, ok := rt.limits[m]; ok {
		return lim
	}
	if m == "HEAD" {
		return rt.limits["GET"]
	}
	return 0
}

// StreamBody returns the streamed-body limit set with Group.StreamBody for
// the route and method of c, or 0 (the body is read whole). Give it to the
// server:
//
//	srv := &net.Server{Handler: r.Serve, BodyLimit: r.BodyLimit, StreamBody: r.StreamBody}
//
// Safe for concurrent use once every route is registered.
func (r *Router) StreamBody(c *net.Ctx) int64 {
	var vals [8]string
	rt, _, ok := r.tree.Lookup(c.Path(), vals[:0])
	if !ok || rt.streams == nil {
		return 0
	}
	return rt.streams[c.Method()]
}

// Route describes a registered route.
type Route struct {
	Method, Pattern string
}

// Routes lists the registered routes, in the order the tree prefers their
// patterns, methods sorted within each.
func (r *Router) Routes() []Route {
	var out []Route
	r.tree.Walk(func(pattern string, rt *route) bool {
		for _, m := range rt.methods() {
			out = append(out, Route{m, pattern})
		}
		return true
	})
	return out
}

// dispatch finds the route and runs the handler for c's method.
func (r *Router) dispatch(c *net.Ctx) net.Result {
	if hasDotSegment(c.Path()) {
		return net.Fail(errDotSegment)
	}
	ps := c.Params()
	rt, vals, ok := r.tree.Lookup(matchPath(c.Path()), ps.Values[:0])
	if !ok {
		if to, ok := r.slashRedirect(c, c.Path()); ok {
			return c.Redirect(net.StatusMovedPermanently, to)
		}
		return r.notFound(c)
	}
	ps.Names, ps.Values = rt.names, vals
	net.SetRoute(c, rt.pattern)
	method := c.Method()
	if h := rt.handler(method); h != nil {
		return h(c)
	}
	switch method {
	case "HEAD":
		if h := rt.byMethod[mGET]; h != nil {
			return h(c)
		}
	case "OPTIONS":
		c.SetHeader("Allow", rt.allow)
		return c.NoContent(net.StatusNoContent)
	}
	c.SetHeader("Allow", rt.allow)
	return r.notAllow(c)
}

// slashRedirect returns where to redirect a GET or HEAD for path (as sent,
// still encoded) when the
// path with its final slash toggled has a route. Removing a slash costs
// nothing; adding one builds a string, so it is tried only when some pattern
// could match a path ending in '/' (slashTargets).
func (r *Router) slashRedirect(c *net.Ctx, path string) (string, bool) {
	if m := c.Method(); (m != "GET" && m != "HEAD") || path == "/" {
		return "", false
	}
	var alt string
	switch {
	case strings.HasSuffix(path, "/"):
		alt = path[:len(path)-1]
	case r.slashTargets:
		alt = path + "/"
	default:
		return "", false
	}
	var vals [8]string
	rt, _, ok := r.tree.Lookup(matchPath(alt), vals[:0])
	if !ok || rt.byMethod[mGET] == nil {
		return "", false
	}
	if q := c.RawQuery(); q != "" {
		alt += "?" + q
	}
	return alt, true
}

func notFound(c *net.Ctx) net.Result {
	return c.Text(net.StatusNotFound, "Not Found")
}

func methodNotAllowed(c *net.Ctx) net.Result {
	return c.Text(net.StatusMethodNotAllowed, "Method Not Allowed")
}

// Group is a set of routes that share a path prefix and middleware.
// Registration is not safe for concurrent use.
type Group struct {
	r          *Router
	prefix     string
	mw         []net.Middleware
	maxBody    int64
	streamBody int64
}

// Group returns a subgroup under g's prefix plus prefix, with g's middleware
// followed by mw.
func (g *Group) Group(prefix string, mw ...net.Middleware) *Group {
	if prefix != "" && (!strings.HasPrefix(prefix, "/") || strings.HasSuffix(prefix, "/")) {
		panic(fmt.Sprintf("router: group prefix %q must start with '/' and not end with one", prefix))
	}
	return &Group{r: g.r, prefix: g.prefix + prefix, mw: append(slices.Clip(g.mw), mw...), maxBody: g.maxBody, streamBody: g.streamBody}
}

// MaxBody limits the request bodies of the group's routes registered after
// it (and of its subgroups made after it) to n bytes. With the server's
// BodyLimit set to Router.BodyLimit, a larger body is answered 413 before it
// is buffered past n; the server's MaxBodyBytes stays the ceiling.
func (g *Group) MaxBody(n int64) { g.maxBody = n }

// StreamBody makes the group's routes registered after it (and its
// subgroups made after it) take their request bodies as streams of up to n
// bytes (n <= 0: bodies read whole again), read with Ctx.BodyChunk or
// Ctx.BodyReader as they arrive, with the server's StreamBody set to
// Router.StreamBody. MaxBodyBytes does not apply to a streamed body.
func (g *Group) StreamBody(n int64) { g.streamBody = n }

// Use adds middleware to the group's routes registered after it.
func (g *Group) Use(mw ...net.Middleware) { g.mw = append(slices.Clip(g.mw), mw...) }

// Handle registers h for method and the group's prefix plus pattern.
func (g *Group) Handle(method, pattern string, h net.Handler) { g.handle(method, pattern, h) }

// GET registers h for GET (and HEAD, unless HEAD has its own handler).
func (g *Group) GET(pattern string, h net.Handler) { g.handle("GET", pattern, h) }

// HEAD registers h for HEAD.
func (g *Group) HEAD(pattern string, h net.Handler) { g.handle("HEAD", pattern, h) }

// POST registers h for POST.
func (g *Group) POST(pattern string, h net.Handler) { g.handle("POST", pattern, h) }

// PUT registers h for PUT.
func (g *Group) PUT(pattern string, h net.Handler) { g.handle("PUT", pattern, h) }

// PATCH registers h for PATCH.
func (g *Group) PATCH(pattern string, h net.Handler) { g.handle("PATCH", pattern, h) }

// DELETE registers h for DELETE.
func (g *Group) DELETE(pattern string, h net.Handler) { g.handle("DELETE", pattern, h) }

// OPTIONS registers h for OPTIONS, replacing the automatic answer.
func (g *Group) OPTIONS(pattern string, h net.Handler) { g.handle("OPTIONS", pattern, h) }

func (g *Group) handle(method, pattern string, h net.Handler) {
	if h == nil {
		panic(fmt.Sprintf("router: nil handler for %s %s", method, g.prefix+pattern))
	}
	if !validMethod(method) {
		panic(fmt.Sprintf("router: invalid method %q for %s", method, g.prefix+pattern))
	}
	full := g.prefix + pattern
	if g.prefix != "" && pattern == "/" {
		full = g.prefix // "/api" + "/" is "/api"
	}
	g.r.add(method, full, net.Chain(h, g.mw...), callerOutside(), g.maxBody, g.streamBody)
}

// add registers h, panicking with both locations on a conflict.
func (r *Router) add(method, pattern string, h net.Handler, where string, maxBody, streamBody int64) {
	rt, ok := r.tree.Get(pattern)
	if !ok {
		names, err := tree.ParamNames(pattern)
		if err == nil {
			err = checkPatternEscapes(pattern)
		}
		if err != nil {
			panic(fmt.Sprintf("router: %s %s (at %s): %v", method, pattern, where, err))
		}
		rt = &route{pattern: pattern, names: names, where: map[string]string{}}
		if strings.HasSuffix(pattern, "/") || strings.Contains(pattern, "/*") {
			r.slashTargets = true
		}
		if err := r.tree.Add(pattern, rt); err != nil {
			msg := fmt.Sprintf("router: %s %s (at %s): %v", method, pattern, where, err)
			if ce, ok := err.(*tree.ConflictError); ok {
				if other, ok := r.tree.Get(ce.Existing); ok {
					msg += fmt.Sprintf("; %s was registered at %s", ce.Existing, other.firstWhere())
				}
			}
			panic(msg)
		}
	}
	if prev, dup := rt.where[method]; dup {
		panic(fmt.Sprintf("router: %s %s registered twice: first at %s, again at %s", method, pattern, prev, where))
	}
	rt.set(method, h, where, maxBody, streamBody)
}

// callerOutside returns file:line of the first caller outside this package:
// where the user registered the route.
func callerOutside() string {
	pcs := make([]uintptr, 16)
	n := goruntime.Callers(2, pcs)
	frames := goruntime.CallersFrames(pcs[:n])
	for {
		f, more := frames.Next()
		if !strings.HasPrefix(f.Function, "github.com/weftgo/weft/router.") || strings.HasSuffix(f.File, "_test.go") {
			return fmt.Sprintf("%s:%d", f.File, f.Line)
		}
		if !more {
			return "unknown location"
		}
	}
}

// validMethod reports whether m is a token (RFC 9110 §9.1).
func validMethod(m string) bool {
	if m == "" {
		return false
	}
	for i := 0; i < len(m); i++ {
		c := m[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`"(),/:;<=>?@[\]{}`, c) >= 0 {
			return false
		}
	}
	return true
}
