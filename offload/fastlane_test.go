package offload_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/weftgo/weft/offload"
	"github.com/weftgo/weft/runtime"
)

// act is what laneJob's job does; nil: nothing (to train the lane).
type act struct {
	started chan struct{} // closed when the job starts, if not nil
	gate    chan struct{} // the job waits for it (or its ctx), if not nil
	panics  bool
	ran     atomic.Bool // set when the job returns
}

// laneJob returns a job whose closures all come from one function literal,
// so that they share their run times: trained with a nil act (an empty job),
// it then takes the fast lane whatever a later act makes it do. Not inlined:
// the compiler gives each inlined copy of a function literal code of its
// own, and so a lane of its own.
//
//go:noinline
func laneJob(a *act) func(context.Context) (int, error) {
	return func(ctx context.Context) (int, error) {
		if a == nil {
			return 0, nil
		}
		defer a.ran.Store(true)
		if a.started != nil {
			close(a.started)
		}
		if a.panics {
			panic("bug in a job")
		}
		if a.gate != nil {
			select {
			case <-a.gate:
			case <-ctx.Done():
				return 0, ctx.Err()
			}
		}
		return 1, nil
	}
}

var bg = runtime.Detached(context.Background())

// lanes are the two ways a job runs: each test below must behave the same
// on both. The fast one has a generous limit, so that a slow first run on a
// busy machine still trains it.
var lanes = []struct {
	name string
	cfg  offload.Config
	fast bool
}{
	{"locked", offload.Config{FastLane: -1}, false},
	{"fast", offload.Config{FastLane: time.Second}, true},
}

// lanePool returns a pool of workers whose laneJob is trained, and a check
// that the jobs since took the lane they should.
func lanePool(t *testing.T, cfg offload.Config, workers, maxQueue int, fast bool) (*offload.Pool, func(n int64)) {
	t.Helper()
	cfg.Workers, cfg.MaxQueue = workers, maxQueue
	p := newPool(t, cfg)
	if _, err := wait(t, offload.Run(bg, p, laneJob(nil))); err != nil {
		t.Fatal(err)
	}
	if n := p.Stats().FastLane; n != 0 {
		t.Fatalf("a job's first run took the fast lane (%d)", n)
	}
	return p, func(n int64) {
		t.Helper()
		if !fast {
			n = 0
		}
		if got := p.Stats().FastLane; got != n {
			t.Fatalf("%d jobs took the fast lane, want %d", got, n)
		}
	}
}

func TestFastLaneChoice(t *testing.T) {
	sleep := func(d time.Duration) func(context.Context) (int, error) {
		return func(context.Context) (int, error) { time.Sleep(d); return 0, nil }
	}
	long := sleep(20 * time.Millisecond) // one literal: one lane for both sleeps
	short := sleep(0)
	cases := []struct {
		name     string
		fastLane time.Duration
		runs     []func(context.Context) (int, error)
		want     int64 // fast-lane jobs
	}{
		{"first run is locked", 10 * time.Millisecond, runs(1, laneJob(nil)), 0},
		{"short job, after its first run", 10 * time.Millisecond, runs(3, laneJob(nil)), 2},
		{"long job stays locked", 10 * time.Millisecond, runs(3, long), 0},
		// A long run moves the job's estimate past the limit at once.
		{"a long run sends its job back", 10 * time.Millisecond, []func(context.Context) (int, error){short, long, short}, 1},
		{"off", -1, runs(3, laneJob(nil)), 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := newPool(t, offload.Config{Workers: 2, FastLane: tc.fastLane})
			for _, fn := range tc.runs {
				if _, err := wait(t, offload.Run(bg, p, fn)); err != nil {
					t.Fatal(err)
				}
			}
			if got := p.Stats().FastLane; got != tc.want {
				t.Fatalf("%d jobs took the fast lane, want %d", got, tc.want)
			}
		})
	}
}

func runs(n int, fn func(context.Context) (int, error)) []func(context.Context) (int, error) {
	out := make([]func(context.Context) (int, error), n)
	for i := range out {
		out[i] = fn
	}
	return out
}

func TestFastLaneCountsAgainstWorkers(t *testing.T) {
	// One worker: a fast-lane job holding its slot keeps a job on the
	// locked lane (a new function) from starting, and a second trained
	// job queues instead of taking the fast lane.
	p, _ := lanePool(t, offload.Config{FastLane: time.Second}, 1, 4, true)
	hold := &act{started: make(chan struct{}), gate: make(chan struct{})}
	held := offload.Run(bg, p, laneJob(hold))
	<-hold.started
	if p.Stats().FastLane != 1 {
		t.Fatal("the trained job did not take the fast lane")
	}
	var overlap atomic.Bool
	other := offload.Run(bg, p, func(context.Context) (int, error) {
		overlap.Store(!hold.ran.Load())
		return 0, nil
	})
	queued := offload.Run(bg, p, laneJob(&act{}))
	close(hold.gate)
	for _, f := range []runtime.Future[int]{held, other, queued} {
		if _, err := wait(t, f); err != nil {
			t.Fatal(err)
		}
	}
	if overlap.Load() {
		t.Fatal("a locked worker ran a job while a fast-lane job held the only slot")
	}
	if got := p.Stats().FastLane; got != 1 {
		t.Fatalf("%d fast-lane jobs, want 1: the only slot was taken", got)
	}
}

func TestLanesBehaveAlike(t *testing.T) {
	for _, lane := range lanes {
		t.Run(lane.name, func(t *testing.T) {
			t.Run("panic", func(t *testing.T) {
				p, check := lanePool(t, lane.cfg, 1, 0, lane.fast)
				_, err := wait(t, offload.Run(bg, p, laneJob(&act{panics: true})))
				var pe *runtime.PanicError
				if !errors.As(err, &pe) || len(pe.Stack) == 0 {
					t.Fatalf("error %v (%T), want a *runtime.PanicError with its stack", err, err)
				}
				if v, err := wait(t, offload.Run(bg, p, laneJob(&act{}))); v != 1 || err != nil {
					t.Fatalf("after a panic: (%d, %v)", v, err)
				}
				check(2)
				if s := p.Stats(); s.Panicked != 1 || s.Completed != 3 {
					t.Fatalf("panicked %d completed %d, want 1 and 3", s.Panicked, s.Completed)
				}
			})
			t.Run("cancelled while running", func(t *testing.T) {
				p, check := lanePool(t, lane.cfg, 1, 0, lane.fast)
				ctx, cancel := context.WithCancel(context.Background())
				a := &act{started: make(chan struct{}), gate: make(chan struct{})}
				f := offload.Run(runtime.Detached(ctx), p, laneJob(a))
				<-a.started
				cancel()
				if _, err := wait(t, f); !errors.Is(err, context.Canceled) {
					t.Fatalf("error %v, want context.Canceled", err)
				}
				check(1)
			})
			t.Run("cancelled before Run", func(t *testing.T) {
				p, check := lanePool(t, lane.cfg, 1, 0, lane.fast)
				ctx, cancel := context.WithCancel(context.Background())
				cancel()
				a := &act{}
				if _, err := wait(t, offload.Run(runtime.Detached(ctx), p, laneJob(a))); !errors.Is(err, context.Canceled) || a.ran.Load() {
					t.Fatalf("error %v, ran %v: want context.Canceled, not run", err, a.ran.Load())
				}
				check(0)
				if p.Stats().Cancelled != 1 {
					t.Fatal("not counted as cancelled")
				}
			})
			t.Run("overload", func(t *testing.T) {
				p, check := lanePool(t, lane.cfg, 1, 1, lane.fast)
				hold := &act{started: make(chan struct{}), gate: make(chan struct{})}
				held := offload.Run(bg, p, laneJob(hold))
				<-hold.started
				queued := offload.Run(bg, p, laneJob(&act{}))
				refused := offload.Run(bg, p, laneJob(&act{}))
				if !refused.Ready() {
					t.Fatal("Run on a full queue returned a pending future")
				}
				if _, err := refused.Get(); !errors.Is(err, offload.ErrOverloaded) {
					t.Fatalf("error %v, want the overload error", err)
				}
				close(hold.gate)
				for _, f := range []runtime.Future[int]{held, queued} {
					if _, err := wait(t, f); err != nil {
						t.Fatal(err)
					}
				}
				check(1) // the holder; the queued job found the slot taken
				if p.Stats().Rejected != 1 {
					t.Fatal("not counted as rejected")
				}
			})
			t.Run("close waits for running jobs", func(t *testing.T) {
				p, check := lanePool(t, lane.cfg, 1, 0, lane.fast)
				a := &act{started: make(chan struct{}), gate: make(chan struct{})}
				f := offload.Run(bg, p, laneJob(a))
				<-a.started
				closed := make(chan error, 1)
				go func() { closed <- p.Close(context.Background()) }()
				time.Sleep(10 * time.Millisecond) // Close must still be waiting; a lower bound, not a ceiling
				select {
				case err := <-closed:
					t.Fatalf("Close returned (%v) while a job ran", err)
				default:
				}
				close(a.gate)
				if err := <-closed; err != nil || !a.ran.Load() {
					t.Fatalf("Close: %v, job returned %v", err, a.ran.Load())
				}
				if v, err := wait(t, f); v != 1 || err != nil {
					t.Fatalf("(%d, %v)", v, err)
				}
				if _, err := wait(t, offload.Run(bg, p, laneJob(nil))); !errors.Is(err, offload.ErrClosed) {
					t.Fatalf("after Close: %v, want ErrClosed", err)
				}
				check(1)
			})
			t.Run("close deadline cancels running jobs", func(t *testing.T) {
				p, check := lanePool(t, lane.cfg, 1, 0, lane.fast)
				a := &act{started: make(chan struct{}), gate: make(chan struct{})}
				f := offload.Run(bg, p, laneJob(a))
				<-a.started
				ctx, cancel := context.WithCancel(context.Background())
				cancel()
				if err := p.Close(ctx); !errors.Is(err, context.Canceled) {
					t.Fatalf("Close: %v, want context.Canceled", err)
				}
				if !a.ran.Load() {
					t.Fatal("Close returned before the cancelled job did")
				}
				if _, err := wait(t, f); !errors.Is(err, context.Canceled) {
					t.Fatalf("job: %v, want its context cancelled", err)
				}
				check(1)
			})
		})
	}
}

func TestFastLaneLeavesNoGoroutines(t *testing.T) {
	before := goleak.IgnoreCurrent()
	p, err := offload.New(offload.Config{Workers: 2, FastLane: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := wait(t, offload.Run(bg, p, laneJob(nil))); err != nil {
		t.Fatal(err)
	}
	var fs []runtime.Future[int]
	for range 50 {
		fs = append(fs, offload.Run(bg, p, laneJob(nil)))
	}
	for _, f := range fs {
		if _, err := wait(t, f); err != nil && !errors.Is(err, offload.ErrOverloaded) {
			t.Fatal(err)
		}
	}
	if p.Stats().FastLane == 0 {
		t.Fatal("no job took the fast lane")
	}
	if err := p.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	goleak.VerifyNone(t, before,
		goleak.IgnoreTopFunction("github.com/panjf2000/ants/v2.(*poolCommon).ticktock"),
		goleak.IgnoreTopFunction("github.com/panjf2000/ants/v2.(*poolCommon).purgeStaleWorkers"),
	)
}
