package nats_test

import (
	"context"
	"errors"
	goruntime "runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/weftgo/weft/offload"
	weftnats "github.com/weftgo/weft/offload/nats"
	"github.com/weftgo/weft/runtime"
)

// A worker whose pool never yields (YieldEvery -1, examples/worker's
// default) and whose one processor its job holds still hears cancels,
// deadlines and new jobs: the NATS client's goroutines run at Go's
// preemption, not only when the job ends.
func TestAWorkerThatNeverYieldsStillHearsTheWire(t *testing.T) {
	defer goruntime.GOMAXPROCS(goruntime.GOMAXPROCS(1))
	_, url := startServer(t, 0)
	var started, spins atomic.Int64
	stopped := make(chan error, 2)
	spin := offload.NewJob("spin", func(ctx context.Context, _ int) (int, error) {
		started.Add(1)
		for ctx.Err() == nil { // CPU-bound: never blocks, never yields
			spins.Add(1)
		}
		stopped <- ctx.Err()
		return 0, ctx.Err()
	}, offload.JobConfig{})
	worker(t, weftnats.Config{URL: url}, offload.Config{Workers: 1, YieldEvery: -1}, spin)
	p, _ := caller(t, weftnats.Config{URL: url})

	// Cancelled by the caller while it spins.
	ctx, cancel := context.WithCancel(context.Background())
	f := offload.Call(runtime.Detached(ctx), p, spin, 0)
	for started.Load() == 0 {
		time.Sleep(time.Millisecond) // until the worker runs it: an event polled
	}
	cancel()
	if _, err := wait(t, f); !errors.Is(err, context.Canceled) {
		t.Fatalf("caller: %v, want context.Canceled", err)
	}
	select {
	case err := <-stopped:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("the job's context: %v, want Canceled", err)
		}
	case <-time.After(5 * time.Second): // it never came (the contract is 100 ms)
		t.Fatal("the cancel did not reach a job that never yields")
	}

	// A deadline, and a second job queued behind the first: both end.
	dctx, dcancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer dcancel()
	first := offload.Call(runtime.Detached(dctx), p, spin, 0)
	second := offload.Call(runtime.Detached(dctx), p, spin, 0)
	for _, f := range []runtime.Future[int]{first, second} {
		if _, err := wait(t, f); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("caller: %v, want context.DeadlineExceeded", err)
		}
	}
	if spins.Load() == 0 {
		t.Fatal("the job never spun")
	}
}
