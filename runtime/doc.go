// Package runtime is weft's asynchronous core: futures, the loops their
// continuations run on, timers, and blocking calls run off the loop.
//
// It knows nothing of HTTP or of gnet. The net package adapts each gnet event
// loop to the [Loop] interface; the offload package resolves futures from its
// worker pool. Everything here can be used, and is tested, with any Loop,
// such as the one in package runtimetest.
//
// # The model
//
// A [Loop] runs tasks one at a time on one goroutine, like Node's event loop.
// Code that runs on a loop must never block, so anything slow is started
// somewhere else and handed back as a [Future]: a value (or an error) that will
// be there later. A continuation remembers the loop it was attached on; when
// the future is resolved on another goroutine, its continuations are posted
// back to that loop and run there, in the order they were registered. Code that runs on a loop therefore never
// races with itself, even when it continues after a database query or a CPU
// job, and needs no locks for the state it owns.
//
//	rows := runtime.Blocking(c, func(ctx context.Context) ([]User, error) {
//		return queryUsers(ctx, db) // a goroutine, off the loop
//	})
//	return runtime.Then(c, rows, func(users []User) net.Result {
//		return c.JSON(200, users) // back on c's loop
//	})
//
// # Futures
//
// A Future is resolved exactly once, with a value or an error. A future that
// is already resolved when it is made ([Resolved], [Rejected], or the zero
// Future) is a plain value and costs no allocation; [Then] on it runs its
// function at once. Composition that changes the type is a generic function
// ([Then], [Map], [All], [Any], [Race], [WithTimeout]); composition that keeps
// it is a method ([Future.Catch], [Future.Finally]). A panic in any function
// given to them becomes a [*PanicError] carrying the stack, delivered to the
// future like any other error.
//
// Every combinator takes a [Scope] first, and the rule is one line: a
// continuation runs on the loop of the scope it is attached with (on the
// goroutine that settles the future, for a scope with no loop). In a handler
// the scope is the request's *net.Ctx, so code after a future always runs on
// the request's loop, even when the future belongs to another loop (a cache
// fill or a singleflight shared by requests on every loop). Finding the loop
// is a method call on the scope, not a lookup of the running goroutine.
// While a continuation waits, it holds its scope (see [Holder]): a request's
// Ctx is not recycled before its continuations have run, even when the
// handler returned first.
//
// Cancellation rides on context.Context, not on futures: [Blocking] and
// [After] take a [Scope] whose context cancels the work. [WithTimeout] only
// stops waiting; it cannot stop work that ignores its context.
//
// # Concurrency
//
// Future values may be copied and passed between goroutines freely. Their
// continuations ([Then], [Map], [Future.Catch], [Future.Finally], [All], ...)
// run on the loop of the scope they are attached with once the future
// settles, or at once on the calling goroutine if it has already settled, so
// attach them from that scope's loop. [Promise.Resolve] and [Promise.Reject]
// are safe for concurrent use: that is how work off the loop hands its result
// back. [Future.Wait] is for code off the loops only: called on a loop it
// would block it (and deadlock it, for the loop's own future), so it panics
// instead.
package runtime
