// Package offload runs CPU-bound jobs off the event loops, as Node's Worker
// Threads (piscina) do, and hands their results back as futures whose
// continuations run on the caller's loop.
//
//	pool, _ := offload.New(offload.Config{}) // one worker per CPU
//	srv := &net.Server{Handler: h, OnShutdown: []func(context.Context) error{pool.Close}}
//
//	// in a handler:
//	digest := offload.Run(c, pool, func(ctx context.Context) (string, error) {
//		return hash(ctx, c.Body()) // checks ctx now and then
//	})
//	return runtime.Then(c, digest, func(d string) net.Result { return c.Text(200, d) })
//
// The queue is bounded: when it is full, Run fails at once with an
// *OverloadError, which the server answers 503 with Retry-After; a loop
// never blocks. A job whose context is done before it starts never runs;
// panics become *runtime.PanicError; Close drains, then cancels at its
// deadline.
//
// A job whose expected queue wait exceeds the time left to its context's
// deadline (Config.MaxWait without one) is refused the same way, at once.
//
// Jobs by name (NewJob, Call) can also run on other machines: a Job pairs a
// name with a function and a Codec, Call runs it on a local worker while
// one is idle and sends it to Config.Remote (a Backend; offload/nats is
// one, a module of its own) otherwise, with the same future, errors and
// timings either way:
//
//	var hashJob = offload.NewJob("hash", hash, offload.JobConfig{}) // shared with the workers
//	digest := offload.Call(c, pool, hashJob, c.Body())
//
// While jobs saturate every core, the loops stay first: workers run on OS
// threads of their own at a lower priority (Config.Nice) and give up their
// processor to a waiting loop at the job's ctx.Err() checks
// (Config.YieldEvery). docs/offload.md has the measurements that chose this,
// and its limits.
//
// # Concurrency
//
// A Pool is safe for concurrent use. Run is called on the scope's loop (a
// handler, with its *net.Ctx) or, for a scope with no loop, from any
// goroutine. A job runs on a worker and must not touch the Ctx: it gets the
// values it captured and a context, and returns a value.
package offload
