// Package weft is an event-loop web framework: the Node.js serving model in
// Go, without its weak spot. This package is the one import a service needs.
//
// One event loop per core runs every handler for the connections it owns.
// A handler returns a [Result], a future: ready at once for a synchronous
// answer, or settled later by a continuation after slow work ([Blocking] for
// database/sql, files, HTTP calls) or CPU-bound work (the offload package, the
// Worker Threads of weft) has run off the loop. Continuations run back on the
// request's loop, so handler code never races with itself and needs no locks.
//
//	app := weft.New()
//	app.GET("/hello/:name", func(c *weft.Ctx) weft.Result {
//		return c.Text(200, "Hello, "+c.Param("name"))
//	})
//	app.GET("/users", func(c *weft.Ctx) weft.Result {
//		users := weft.Blocking(c, func(ctx context.Context) ([]string, error) {
//			return queryUsers(ctx) // off the loop
//		})
//		return weft.Then(c, users, func(u []string) weft.Result {
//			return c.JSON(200, u) // back on c's loop
//		})
//	})
//	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
//	defer stop()
//	if err := app.Run(ctx, ":8080"); err != nil {
//		log.Fatal(err)
//	}
//
// # The rule for continuations
//
// Every combinator ([Then], [Map], [All], [Any], [Race], [WithTimeout], and
// the Catch and Finally methods of [Future]) takes a [Scope] first: a
// continuation runs on the loop of the scope it is attached with. In a
// handler the scope is the request's *Ctx; off the loops (a test, main) it is
// [Detached].
//
// # Layers
//
// This package names what the layers below provide; it adds only [App].
// Those who build on weft rather than with it use the layers directly:
// github.com/weftgo/weft/net (the HTTP/1.1 server on gnet),
// github.com/weftgo/weft/router (routing), github.com/weftgo/weft/runtime
// (futures and loops), github.com/weftgo/weft/offload (the worker pool) and
// github.com/weftgo/weft/middleware.
//
// # Concurrency
//
// App's route registration (GET, Use, Group, ...) is for start-up, before
// Start; Start, Listen, Run, Shutdown and Addr are safe for concurrent use.
// *Ctx is loop-only; everything else follows the rules of the package it
// comes from, stated on each name.
package weft
