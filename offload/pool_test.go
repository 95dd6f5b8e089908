package offload_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/weftgo/weft/offload"
	"github.com/weftgo/weft/runtime"
	"github.com/weftgo/weft/runtime/runtimetest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		goleak.IgnoreTopFunction("github.com/panjf2000/ants/v2.(*poolCommon).ticktock"),
		goleak.IgnoreTopFunction("github.com/panjf2000/ants/v2.(*poolCommon).purgeStaleWorkers"),
	)
}

// scope is a runtime.Scope for tests.
type scope struct {
	loop runtime.Loop
	ctx  context.Context
}

func (s scope) Loop() runtime.Loop       { return s.loop }
func (s scope) Context() context.Context { return s.ctx }

func newPool(t testing.TB, cfg offload.Config) *offload.Pool {
	t.Helper()
	p, err := offload.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close(context.Background()) })
	return p
}

func wait[T any](t *testing.T, f runtime.Future[T]) (T, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	v, err := f.Wait(ctx)
	if ctx.Err() != nil {
		t.Fatal("future did not settle in 5s")
	}
	return v, err
}

func TestContinuationRunsOnTheCallersLoop(t *testing.T) {
	l := runtimetest.NewLoop(t)
	p := newPool(t, offload.Config{Workers: 2})
	var jobOnLoop, contOnLoop atomic.Bool
	var out runtime.Future[int]
	l.Do(func() {
		f := offload.Run(scope{l, context.Background()}, p, func(context.Context) (int, error) {
			jobOnLoop.Store(l.Running())
			return 21, nil
		})
		out = runtime.Map(scope{l, context.Background()}, f, func(v int) (int, error) {
			contOnLoop.Store(l.Running())
			return v * 2, nil
		})
	})
	if v, err := wait(t, out); v != 42 || err != nil {
		t.Fatalf("got (%d, %v)", v, err)
	}
	if jobOnLoop.Load() || !contOnLoop.Load() {
		t.Fatalf("job on loop %v (want false), continuation on loop %v (want true)", jobOnLoop.Load(), contOnLoop.Load())
	}
}

func TestErrorsStayDistinguishable(t *testing.T) {
	errJob := errors.New("job failed")
	p := newPool(t, offload.Config{Workers: 1})
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	cases := []struct {
		name  string
		ctx   context.Context
		fn    func(context.Context) (int, error)
		check func(error) bool
	}{
		{"job error", context.Background(), func(context.Context) (int, error) { return 0, errJob },
			func(err error) bool { return errors.Is(err, errJob) }},
		{"panic", context.Background(), func(context.Context) (int, error) { panic("bug") },
			func(err error) bool { var pe *runtime.PanicError; return errors.As(err, &pe) && len(pe.Stack) > 0 }},
		{"cancelled before submit", cancelled, func(context.Context) (int, error) { t.Error("ran"); return 0, nil },
			func(err error) bool { return errors.Is(err, context.Canceled) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := wait(t, offload.Run(runtime.Detached(tc.ctx), p, tc.fn))
			if !tc.check(err) || errors.Is(err, offload.ErrOverloaded) {
				t.Fatalf("error %v (%T) is not the expected kind", err, err)
			}
		})
	}
}

// blocker occupies every worker until released.
func blockWorkers(t *testing.T, p *offload.Pool, n int) (release func()) {
	t.Helper()
	gate := make(chan struct{})
	var started sync.WaitGroup
	for range n {
		started.Add(1)
		offload.Run(runtime.Detached(context.Background()), p, func(context.Context) (int, error) {
			started.Done()
			<-gate
			return 0, nil
		})
	}
	started.Wait()
	var once sync.Once
	return func() { once.Do(func() { close(gate) }) }
}

func TestOverloadFailsAtOnce(t *testing.T) {
	p := newPool(t, offload.Config{Workers: 2, MaxQueue: 3})
	release := blockWorkers(t, p, 2)
	defer release()
	var queued []runtime.Future[int]
	for range 3 {
		queued = append(queued, offload.Run(runtime.Detached(context.Background()), p, func(context.Context) (int, error) { return 1, nil }))
	}
	// The workers stay blocked until the test ends, so a Run that waited
	// for room would never return; one that returns must have refused.
	f := offload.Run(runtime.Detached(context.Background()), p, func(context.Context) (int, error) { return 0, nil })
	if !f.Ready() {
		t.Fatal("Run on a full queue returned a pending future: it must fail at once")
	}
	_, err := f.Get()
	var oe *offload.OverloadError
	if !errors.As(err, &oe) || !errors.Is(err, offload.ErrOverloaded) || oe.HTTPStatus() != 503 || oe.RetryAfter() < time.Second {
		t.Fatalf("err = %v, want an *OverloadError with 503 and a Retry-After", err)
	}
	if s := p.Stats(); s.Rejected != 1 || s.Queued != 3 || s.Running != 2 {
		t.Fatalf("stats %+v: want 1 rejected, 3 queued, 2 running", s)
	}
	release()
	for _, q := range queued {
		if v, err := wait(t, q); v != 1 || err != nil {
			t.Fatalf("queued job: (%d, %v)", v, err)
		}
	}
}

func TestCancelledWhileQueuedIsNotStarted(t *testing.T) {
	p := newPool(t, offload.Config{Workers: 1})
	release := blockWorkers(t, p, 1)
	ctx, cancel := context.WithCancel(context.Background())
	var ran atomic.Bool
	f := offload.Run(runtime.Detached(ctx), p, func(context.Context) (int, error) {
		ran.Store(true)
		return 0, nil
	})
	cancel()
	release()
	if _, err := wait(t, f); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if ran.Load() {
		t.Fatal("a job cancelled while queued was started")
	}
	if s := p.Stats(); s.Cancelled != 1 {
		t.Fatalf("Cancelled = %d, want 1", s.Cancelled)
	}
}

func TestCancelledWhileRunningSeesItsContext(t *testing.T) {
	p := newPool(t, offload.Config{Workers: 1})
	ctx, cancel := context.WithCancel(context.Background())
	started := make(chan struct{})
	f := offload.Run(runtime.Detached(ctx), p, func(ctx context.Context) (int, error) {
		close(started)
		<-ctx.Done() // a cooperative job
		return 0, ctx.Err()
	})
	<-started
	cancel()
	if _, err := wait(t, f); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

func TestCloseDrainsQueuedAndRunningJobs(t *testing.T) {
	p, err := offload.New(offload.Config{Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	var done atomic.Int32
	var fs []runtime.Future[int]
	for range 10 {
		fs = append(fs, offload.Run(runtime.Detached(context.Background()), p, func(context.Context) (int, error) {
			time.Sleep(5 * time.Millisecond)
			done.Add(1)
			return 1, nil
		}))
	}
	if err := p.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := done.Load(); n != 10 {
		t.Fatalf("Close returned with %d of 10 jobs done", n)
	}
	for _, f := range fs {
		if _, err := f.Get(); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := offload.Run(runtime.Detached(context.Background()), p, func(context.Context) (int, error) { return 0, nil }).Get(); !errors.Is(err, offload.ErrClosed) {
		t.Fatalf("Run after Close: %v, want ErrClosed", err)
	}
}

func TestCloseDeadlineCancelsRunningAndDropsQueued(t *testing.T) {
	p, err := offload.New(offload.Config{Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	started := make(chan struct{})
	running := offload.Run(runtime.Detached(context.Background()), p, func(ctx context.Context) (int, error) {
		close(started)
		<-ctx.Done()
		return 0, ctx.Err()
	})
	<-started
	var ran atomic.Bool
	queued := offload.Run(runtime.Detached(context.Background()), p, func(context.Context) (int, error) {
		ran.Store(true)
		return 0, nil
	})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := p.Close(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Close = %v, want DeadlineExceeded", err)
	}
	if _, err := wait(t, running); !errors.Is(err, context.Canceled) {
		t.Fatalf("running job: %v, want its context cancelled", err)
	}
	if _, err := wait(t, queued); !errors.Is(err, offload.ErrClosed) || ran.Load() {
		t.Fatalf("queued job: %v (ran %v), want ErrClosed without running", err, ran.Load())
	}
}

func TestConcurrentSubmitters(t *testing.T) {
	p := newPool(t, offload.Config{Workers: 4, MaxQueue: 10000})
	loops := []*runtimetest.Loop{runtimetest.NewLoop(t), runtimetest.NewLoop(t)}
	var wg sync.WaitGroup
	var sum atomic.Int64
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			l := loops[g%2]
			for i := range 200 {
				f := offload.Run(scope{l, context.Background()}, p, func(context.Context) (int, error) { return i, nil })
				v, err := wait(t, f)
				if err != nil {
					t.Error(err)
					return
				}
				sum.Add(int64(v))
			}
		}()
	}
	wg.Wait()
	if want := int64(8 * 199 * 200 / 2); sum.Load() != want {
		t.Fatalf("sum %d, want %d", sum.Load(), want)
	}
	if s := p.Stats(); s.Completed != 1600 || s.RunTime.Count != 1600 {
		t.Fatalf("stats: %+v", s)
	}
}

func TestNewValidates(t *testing.T) {
	cases := []struct {
		cfg  offload.Config
		name string
	}{
		{offload.Config{Workers: -1}, "Workers"},
		{offload.Config{MaxQueue: -1}, "MaxQueue"},
		{offload.Config{Nice: 20}, "Nice"},
		{offload.Config{Nice: 42}, "Nice"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := offload.New(tc.cfg)
			if err == nil || !contains(err.Error(), tc.name) {
				t.Fatalf("New = %v, want an error naming %s", err, tc.name)
			}
		})
	}
}

func contains(s, sub string) bool { return len(s) >= len(sub) && (s == sub || indexOf(s, sub) >= 0) }

func indexOf(s, sub string) int {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return i
		}
	}
	return -1
}

func TestJobContextOutlivesTheJob(t *testing.T) {
	// A job may hand its ctx to a goroutine that outlives it (a logger, an
	// HTTP client): the ctx must stay usable, from any goroutine.
	p := newPool(t, offload.Config{Workers: 1, Nice: -1})
	done := make(chan any, 1)
	f := offload.Run(runtime.Detached(context.Background()), p, func(ctx context.Context) (int, error) {
		go func() {
			defer func() { done <- recover() }()
			time.Sleep(20 * time.Millisecond)
			_ = ctx.Value("trace-id")
			_ = ctx.Err()
		}()
		return 1, nil
	})
	if _, err := wait(t, f); err != nil {
		t.Fatal(err)
	}
	if r := <-done; r != nil {
		t.Fatalf("using the job's ctx after the job returned panicked: %v", r)
	}
}
