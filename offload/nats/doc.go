// Package nats runs weft's offload jobs on worker processes over NATS: a
// Backend for offload.Config.Remote, and the call that makes any binary a
// worker. It is a module of its own (github.com/weftgo/weft/offload/nats),
// so that weft's module does not require NATS.
//
//	backend, _ := nats.New(nats.Config{URL: os.Getenv("NATS_URL")}) // "": NATS in-process
//	pool, _ := offload.New(offload.Config{Remote: backend})
//	backend.Serve(pool, hashJob) // this process takes jobs too
//
//	// in a handler, as offload.Run:
//	digest := offload.Call(c, pool, hashJob, c.Body())
//
// and, in a worker binary that registers the same hashJob:
//
//	backend, _ := nats.New(nats.Config{URL: os.Getenv("NATS_URL")})
//	pool, _ := offload.New(offload.Config{})
//	backend.Serve(pool, hashJob)
//
// # Topology
//
// A job goes out on the subject "<Prefix>.job.<name>" to the queue group
// Queue, so NATS gives each job to one of the workers that serve that name.
// The worker answers on the job's reply subject: at once an "ack" (or a
// failure, if its pool refuses the job: deadline-aware admission applies
// there too), then a heartbeat every Config.Heartbeat while the job runs,
// then "done" with the output or the error. The job's time left to its
// deadline travels with it. When the caller's context ends, the caller
// publishes a cancel on the worker's own subject "<Prefix>.cancel.<id>" (on
// "<Prefix>.cancel", which every worker hears, if no ack came yet), and the
// job's context there is cancelled.
//
// # Failures
//
//   - NATS unreachable, or no worker serving the job: the job fails at once
//     with offload.ErrUnavailable (no responders), or runs locally with
//     offload.Config.LocalFallback.
//   - Worker killed or cut off mid-job: no heartbeat for Config.LostAfter,
//     and the job fails with offload.ErrLost (or is sent once more if it is
//     idempotent).
//   - The caller's context ends: the future fails with its error at once.
//
// No future waits longer than its context allows, or LostAfter past the
// last sign of life of its worker.
//
// # Concurrency
//
// A Backend is safe for concurrent use. Send (through offload.Call) never
// blocks, so it may run on a loop.
package nats
