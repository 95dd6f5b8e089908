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
// be there later. The future remembers its loop; when it is resolved on another
// goroutine, its continuations are posted back to that loop and run there, in
// the order they were registered. Code that runs on a loop therefore never
// races with itself, even when it continues after a database query or a CPU
// job, and needs no locks for the state it owns.
//
//	rows := runtime.Blocking(c, func(ctx context.Context) ([]User, error) {
//		return queryUsers(ctx, db) // a goroutine, off the loop
//	})
//	return runtime.Then(rows, func(users []User) net.Result {
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
// Cancellation rides on context.Context, not on futures: [Blocking] and
// [After] take a [Scope] whose context cancels the work. [WithTimeout] only
// stops waiting; it cannot stop work that ignores its context.
//
// # Concurrency
//
// Future values may be copied and passed between goroutines freely. Their
// continuations ([Then], [Map], [Future.Catch], [Future.Finally], [All], ...)
// run on the future's loop once it settles, or at once on the calling
// goroutine if it has already settled, so register them from the loop.
// [Promise.Resolve] and [Promise.Reject] are safe for concurrent use: that is
// how work off the loop hands its result back. [Future.Wait] is for code off
// the loop only: called on the future's own loop it would deadlock, so it
// panics instead.
package runtime
