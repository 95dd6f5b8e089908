package offload_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/weftgo/weft/offload"
	"github.com/weftgo/weft/runtime"
)

// Both lanes at once, from many goroutines, with jobs that panic, jobs
// cancelled before or while they run, and refusals: never more than
// Workers jobs run at once, and afterwards nothing is left queued or
// holding a slot (Workers gated jobs all start together).
func TestLanesUnderConcurrency(t *testing.T) {
	const workers = 2
	p := newPool(t, offload.Config{Workers: workers, MaxQueue: 8, FastLane: 200 * time.Microsecond})
	var now, peak atomic.Int32
	enter := func() {
		n := now.Add(1)
		for {
			m := peak.Load()
			if n <= m || peak.CompareAndSwap(m, n) {
				break
			}
		}
	}
	quick := func(ctx context.Context) (int, error) {
		enter()
		defer now.Add(-1)
		for range 50 {
			_ = ctx.Err()
		}
		return 0, nil
	}
	panicky := func(context.Context) (int, error) {
		enter()
		defer now.Add(-1)
		panic("kaboom")
	}
	slow := func(ctx context.Context) (int, error) {
		enter()
		defer now.Add(-1)
		time.Sleep(time.Millisecond)
		return 0, ctx.Err()
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 300 {
				ctx, cancel := context.WithCancel(context.Background())
				s := runtime.Detached(ctx)
				var f runtime.Future[int]
				switch (g + i) % 7 {
				case 0:
					f = offload.Run(s, p, slow)
				case 1:
					f = offload.Run(s, p, panicky)
				default:
					f = offload.Run(s, p, quick)
				}
				if i%5 == 0 {
					cancel()
				}
				_, err := f.Wait(context.Background())
				var pe *runtime.PanicError
				if err != nil && !errors.As(err, &pe) && !errors.Is(err, context.Canceled) && !errors.Is(err, offload.ErrOverloaded) {
					t.Error(err)
				}
				cancel()
			}
		}()
	}
	wg.Wait()
	if m := peak.Load(); m > workers {
		t.Fatalf("%d jobs ran at once on %d workers", m, workers)
	}
	st := p.Stats()
	if st.Queued != 0 || st.Running != 0 {
		t.Fatalf("after every job settled: Queued %d, Running %d", st.Queued, st.Running)
	}
	t.Logf("fast lane %d of %d", st.FastLane, st.Submitted)
	// Every slot is free again.
	gate := make(chan struct{})
	var started sync.WaitGroup
	started.Add(workers)
	var fs []runtime.Future[int]
	for range workers {
		fs = append(fs, offload.Run(bg, p, func(context.Context) (int, error) {
			started.Done()
			<-gate
			return 0, nil
		}))
	}
	started.Wait()
	close(gate)
	for _, f := range fs {
		if _, err := wait(t, f); err != nil {
			t.Fatal(err)
		}
	}
}

// Close while many goroutines submit on both lanes: no job runs after
// Close has returned, and every future settles.
func TestCloseUnderConcurrency(t *testing.T) {
	for _, give := range []bool{false, true} {
		p, err := offload.New(offload.Config{Workers: 2, MaxQueue: 8, FastLane: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		var after atomic.Bool
		var late atomic.Int32
		quick := func(ctx context.Context) (int, error) {
			if after.Load() {
				late.Add(1)
			}
			return 0, nil
		}
		if _, err := wait(t, offload.Run(bg, p, quick)); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		var submitted atomic.Int32
		for range 6 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range 500 {
					f := offload.Run(bg, p, quick)
					submitted.Add(1)
					if _, err := f.Wait(context.Background()); err != nil && !errors.Is(err, offload.ErrClosed) && !errors.Is(err, offload.ErrOverloaded) {
						t.Error(err)
					}
				}
			}()
		}
		for submitted.Load() < 200 {
			time.Sleep(10 * time.Microsecond)
		}
		ctx, cancel := context.WithCancel(context.Background())
		if give {
			cancel()
		}
		p.Close(ctx)
		after.Store(true)
		cancel()
		wg.Wait()
		if n := late.Load(); n != 0 {
			t.Fatalf("give up %v: %d jobs ran after Close returned", give, n)
		}
	}
}
