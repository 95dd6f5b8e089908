// Package router routes requests to weft handlers by method and path, over
// a radix tree that allocates nothing per lookup.
//
// # Patterns
//
//	/users/new        static: matched byte for byte, case-sensitive
//	/users/:id        :id matches one whole, non-empty path segment
//	/files/*path      *path matches the rest of the path, '/' included
//
// Static segments win over parameters, which win over catch-alls, segment by
// segment from the left, with backtracking: /users/new and /users/:id live
// side by side, and /users/new/posts still reaches /users/:id/posts.
//
// # Encoded paths
//
// A path is matched in decoded form, segment by segment, as net/http's
// ServeMux does: /plain%74ext matches /plaintext and /users/J%C3%B6rg
// matches /users/:name. An encoded slash never splits a segment: /a%2Fb
// is one segment (it matches /:name, with name "a/b", never /a/b). Write
// patterns decoded ("/café"); the only escapes a pattern may hold are %2F
// (a '/' inside a segment) and %25 (a '%'). Ctx.Param returns a value
// decoded; Ctx.Params().Get returns it as matched, with %2F and %25 still
// encoded; Ctx.Path is the path exactly as sent. A path without '%' is
// matched without a copy; one with escapes costs one string.
//
// # What it answers by itself
//
//   - 404 Not Found when no pattern matches (NotFound replaces the handler).
//   - 405 Method Not Allowed with an Allow header when the path matches but
//     the method does not (MethodNotAllowed replaces the handler).
//   - HEAD with the GET handler, unless HEAD has its own; the server sends
//     the headers without the body.
//   - OPTIONS with 204 and Allow, unless OPTIONS has its own handler.
//   - A redirect (301) from /path/ to /path, or back, for GET and HEAD when
//     only the other one exists.
//
// # Middleware and groups
//
// Router.Use adds middleware around everything the router serves, 404s and
// 405s included: loggers, request ids, recovery. A Group shares a prefix and
// its own middleware, which wraps the group's routes only:
//
//	r := router.New()
//	r.Use(
//		middleware.RequestID(middleware.RequestIDConfig{}),
//		middleware.Logger(middleware.LoggerConfig{Logger: log}), // log: a *zap.Logger
//	)
//	r.GET("/health", health)
//	api := r.Group("/api", auth)
//	api.GET("/users/:id", getUser)
//	api.POST("/users", createUser)
//
// Middleware given to Use applies to the routes registered after it.
//
// # Conflicts
//
// Registering a method and pattern twice, an invalid pattern, or a pattern
// that cannot live beside an existing one (/users/:id then /users/:name/x)
// panics at start-up with both routes and where each was registered: it is a
// programming error, found before the first request.
//
// # Concurrency
//
// Register every route (and Use every middleware) before the server starts;
// registration is not safe for concurrent use. Once serving, Serve is safe
// for concurrent use by every loop: it reads the tree and touches only the
// request's Ctx.
package router
