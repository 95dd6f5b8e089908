package runtime_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/weftgo/weft/runtime"
	"github.com/weftgo/weft/runtime/runtimetest"
)

var errBoom = errors.New("boom")

// settle waits, off the loop, for f and returns its result.
func settle[T any](t *testing.T, f runtime.Future[T]) (T, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	v, err := f.Wait(ctx)
	if errors.Is(err, context.DeadlineExceeded) && ctx.Err() != nil {
		t.Fatalf("future did not settle within 5s")
	}
	return v, err
}

func TestReadyFuturesDoNotAllocate(t *testing.T) {
	double := func(v int) runtime.Future[int] { return runtime.Resolved(v * 2) }
	half := func(v int) (int, error) { return v / 2, nil }
	recoverTo1 := func(error) runtime.Future[int] { return runtime.Resolved(1) }
	s := runtime.Detached(context.Background())
	cases := []struct {
		name string
		fn   func()
	}{
		{"Resolved+Get", func() { _, _ = runtime.Resolved(42).Get() }},
		{"Rejected+Get", func() { _, _ = runtime.Rejected[int](errBoom).Get() }},
		{"zero Future", func() { var f runtime.Future[struct{}]; _ = f.Ready() }},
		{"Then on resolved", func() { _, _ = runtime.Then(s, runtime.Resolved(21), double).Get() }},
		{"Then on rejected", func() { _, _ = runtime.Then(s, runtime.Rejected[int](errBoom), double).Get() }},
		{"Map on resolved", func() { _, _ = runtime.Map(s, runtime.Resolved(84), half).Get() }},
		{"Catch on rejected", func() { _, _ = runtime.Rejected[int](errBoom).Catch(s, recoverTo1).Get() }},
		{"WithTimeout on resolved", func() { _, _ = runtime.WithTimeout(s, runtime.Resolved(1), time.Second).Get() }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if n := testing.AllocsPerRun(100, tc.fn); n != 0 {
				t.Fatalf("%v allocations per run, want 0", n)
			}
		})
	}
}

func TestContinuationRunsOnTheFuturesLoop(t *testing.T) {
	l := runtimetest.NewLoop(t)
	type seen struct {
		onLoop bool
		v      int
	}
	got := make(chan seen, 1)
	p := runtime.NewPromise[int](l)
	l.Do(func() {
		runtime.Then(l, p.Future(), func(v int) runtime.Future[struct{}] {
			got <- seen{l.Running(), v}
			return runtime.Resolved(struct{}{})
		})
	})
	go p.Resolve(7) // off the loop
	s := <-got
	if !s.onLoop || s.v != 7 {
		t.Fatalf("continuation ran with onLoop=%v v=%d, want on the loop with 7", s.onLoop, s.v)
	}
}

func TestContinuationsRunInRegistrationOrder(t *testing.T) {
	l := runtimetest.NewLoop(t)
	p := runtime.NewPromise[int](l)
	var order []int
	var last runtime.Future[int]
	l.Do(func() {
		for i := range 10 {
			last = runtime.Map(l, p.Future(), func(v int) (int, error) {
				order = append(order, i)
				return v, nil
			})
		}
	})
	p.Resolve(1)
	settle(t, last)
	l.Do(func() {
		for i, v := range order {
			if v != i {
				t.Fatalf("order = %v, want 0..9", order)
			}
		}
	})
}

func TestPromiseSettlesOnce(t *testing.T) {
	l := runtimetest.NewLoop(t)
	p := runtime.NewPromise[string](l)
	var wg sync.WaitGroup
	wins := make(chan string, 50)
	for i := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			v := fmt.Sprint(i)
			if i%2 == 0 {
				if p.Resolve(v) {
					wins <- v
				}
			} else if p.Reject(errors.New(v)) {
				wins <- "err " + v
			}
		}()
	}
	wg.Wait()
	close(wins)
	var won []string
	for w := range wins {
		won = append(won, w)
	}
	if len(won) != 1 {
		t.Fatalf("%d calls reported settling the promise (%v), want exactly 1", len(won), won)
	}
	v, err := settle(t, p.Future())
	if got := v; err != nil {
		got = "err " + err.Error()
		if got != won[0] {
			t.Fatalf("future = %q, winner = %q", got, won[0])
		}
	} else if got != won[0] {
		t.Fatalf("future = %q, winner = %q", got, won[0])
	}
}

func TestResolveOnTheLoopDefersContinuations(t *testing.T) {
	l := runtimetest.NewLoop(t)
	p := runtime.NewPromise[int](l)
	var steps []string
	var f runtime.Future[int]
	l.Do(func() {
		f = runtime.Map(l, p.Future(), func(v int) (int, error) {
			steps = append(steps, "continuation")
			return v, nil
		})
		p.Resolve(1)
		steps = append(steps, "after Resolve")
	})
	settle(t, f)
	l.Do(func() {
		if strings.Join(steps, ",") != "after Resolve,continuation" {
			t.Fatalf("steps = %v: a continuation ran inside Resolve", steps)
		}
	})
}

func TestChain(t *testing.T) {
	type result struct {
		v   int
		err error
	}
	cases := []struct {
		name  string
		build func(s runtime.Scope, src runtime.Future[int]) runtime.Future[int]
		src   result
		want  result
	}{
		{
			name: "Then passes the value",
			build: func(s runtime.Scope, src runtime.Future[int]) runtime.Future[int] {
				return runtime.Then(s, src, func(v int) runtime.Future[int] { return runtime.Resolved(v + 1) })
			},
			src: result{v: 1}, want: result{v: 2},
		},
		{
			name: "Then skips on error",
			build: func(s runtime.Scope, src runtime.Future[int]) runtime.Future[int] {
				return runtime.Then(s, src, func(v int) runtime.Future[int] { panic("must not run") })
			},
			src: result{err: errBoom}, want: result{err: errBoom},
		},
		{
			name: "Map error",
			build: func(s runtime.Scope, src runtime.Future[int]) runtime.Future[int] {
				return runtime.Map(s, src, func(v int) (int, error) { return 0, errBoom })
			},
			src: result{v: 1}, want: result{err: errBoom},
		},
		{
			name: "Catch recovers",
			build: func(s runtime.Scope, src runtime.Future[int]) runtime.Future[int] {
				return src.Catch(s, func(err error) runtime.Future[int] { return runtime.Resolved(99) })
			},
			src: result{err: errBoom}, want: result{v: 99},
		},
		{
			name: "Catch skipped on success",
			build: func(s runtime.Scope, src runtime.Future[int]) runtime.Future[int] {
				return src.Catch(s, func(err error) runtime.Future[int] { panic("must not run") })
			},
			src: result{v: 5}, want: result{v: 5},
		},
		{
			name: "Finally keeps the result",
			build: func(s runtime.Scope, src runtime.Future[int]) runtime.Future[int] {
				return src.Finally(s, func(int, error) {})
			},
			src: result{err: errBoom}, want: result{err: errBoom},
		},
		{
			name: "error after Then chain reaches Catch",
			build: func(s runtime.Scope, src runtime.Future[int]) runtime.Future[int] {
				f := runtime.Map(s, src, func(v int) (int, error) { return 0, errBoom })
				f = runtime.Then(s, f, func(v int) runtime.Future[int] { panic("must not run") })
				return f.Catch(s, func(err error) runtime.Future[int] {
					if !errors.Is(err, errBoom) {
						return runtime.Rejected[int](fmt.Errorf("catch saw %v", err))
					}
					return runtime.Resolved(7)
				})
			},
			src: result{v: 1}, want: result{v: 7},
		},
	}
	for _, tc := range cases {
		for _, pending := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/pending=%v", tc.name, pending), func(t *testing.T) {
				l := runtimetest.NewLoop(t)
				var out runtime.Future[int]
				p := runtime.NewPromise[int](l)
				l.Do(func() {
					src := runtime.Future[int](runtime.Rejected[int](tc.src.err))
					if tc.src.err == nil {
						src = runtime.Resolved(tc.src.v)
					}
					if pending {
						src = p.Future()
					}
					out = tc.build(l, src)
				})
				if pending {
					p.Settle(tc.src.v, tc.src.err)
				}
				v, err := settle(t, out)
				if v != tc.want.v || !errors.Is(err, tc.want.err) || (err == nil) != (tc.want.err == nil) {
					t.Fatalf("got (%d, %v), want (%d, %v)", v, err, tc.want.v, tc.want.err)
				}
			})
		}
	}
}

func TestPanicsBecomePanicErrors(t *testing.T) {
	cases := []struct {
		name  string
		build func(s runtime.Scope, src runtime.Future[int]) runtime.Future[int]
	}{
		{"Then", func(s runtime.Scope, src runtime.Future[int]) runtime.Future[int] {
			return runtime.Then(s, src, func(int) runtime.Future[int] { panic("in then") })
		}},
		{"Map", func(s runtime.Scope, src runtime.Future[int]) runtime.Future[int] {
			return runtime.Map(s, src, func(int) (int, error) { panic("in map") })
		}},
		{"Catch", func(s runtime.Scope, src runtime.Future[int]) runtime.Future[int] {
			return runtime.Map(s, src, func(int) (int, error) { return 0, errBoom }).
				Catch(s, func(error) runtime.Future[int] { panic("in catch") })
		}},
		{"Finally", func(s runtime.Scope, src runtime.Future[int]) runtime.Future[int] {
			return src.Finally(s, func(int, error) { panic("in finally") })
		}},
	}
	for _, tc := range cases {
		for _, pending := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/pending=%v", tc.name, pending), func(t *testing.T) {
				l := runtimetest.NewLoop(t)
				p := runtime.NewPromise[int](l)
				var out runtime.Future[int]
				l.Do(func() {
					src := runtime.Resolved(1)
					if pending {
						src = p.Future()
					}
					out = tc.build(l, src)
				})
				p.Resolve(1)
				_, err := settle(t, out)
				var pe *runtime.PanicError
				if !errors.As(err, &pe) {
					t.Fatalf("error = %v, want a *PanicError", err)
				}
				if !strings.Contains(string(pe.Stack), "future_test.go") {
					t.Fatalf("panic stack does not show the panicking function:\n%s", pe.Stack)
				}
			})
		}
	}
}

func TestPanicErrorUnwrapsErrorValues(t *testing.T) {
	f := runtime.Map(runtime.Detached(context.Background()), runtime.Resolved(1), func(int) (int, error) { panic(errBoom) })
	_, err := f.Get()
	if !errors.Is(err, errBoom) {
		t.Fatalf("errors.Is(%v, errBoom) = false; a panic(err) must unwrap to err", err)
	}
}

func TestWaitOnTheOwnLoopPanics(t *testing.T) {
	l := runtimetest.NewLoop(t)
	p := runtime.NewPromise[int](l)
	var msg any
	l.Do(func() {
		defer func() { msg = recover() }()
		p.Future().Wait(context.Background())
	})
	if s, _ := msg.(string); !strings.Contains(s, "deadlock") {
		t.Fatalf("Wait on the loop: recovered %v, want a panic that names the deadlock", msg)
	}
	p.Resolve(1)
}

func TestWaitOnALoopForASettledFutureReturns(t *testing.T) {
	// Issue 8 §5.6: the doc promises it; it panicked.
	l := runtimetest.NewLoop(t)
	p := runtime.NewPromise[int](l)
	var v int
	var msg any
	l.Do(func() {
		p.Resolve(7)
		defer func() { msg = recover() }()
		v, _ = p.Future().Wait(context.Background())
	})
	if msg != nil || v != 7 {
		t.Fatalf("Wait on a loop for a settled future: %v, panic %v; want 7", v, msg)
	}
}

func TestWaitRespectsItsContext(t *testing.T) {
	l := runtimetest.NewLoop(t)
	p := runtime.NewPromise[int](l)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := p.Future().Wait(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Wait = %v, want context.DeadlineExceeded", err)
	}
	p.Resolve(3)
	if v, err := settle(t, p.Future()); v != 3 || err != nil {
		t.Fatalf("Wait after resolve = (%d, %v)", v, err)
	}
}

func TestThenFlattensAFutureFromAnotherLoop(t *testing.T) {
	a, b := runtimetest.NewLoop(t), runtimetest.NewLoop(t)
	pa := runtime.NewPromise[int](a)
	pb := runtime.NewPromise[int](b)
	onA := make(chan bool, 1)
	var out runtime.Future[int]
	a.Do(func() {
		f := runtime.Then(a, pa.Future(), func(v int) runtime.Future[int] { return pb.Future() })
		out = runtime.Map(a, f, func(v int) (int, error) {
			onA <- a.Running()
			return v, nil
		})
	})
	pa.Resolve(1)
	pb.Resolve(2)
	if v, err := settle(t, out); v != 2 || err != nil {
		t.Fatalf("got (%d, %v), want (2, nil)", v, err)
	}
	if !<-onA {
		t.Fatal("the continuation after a future of loop b ran off loop a")
	}
}

func TestListenerOnPooledObject(t *testing.T) {
	l := runtimetest.NewLoop(t)
	p := runtime.NewPromise[int](l)
	r := &recorder{loop: l, done: make(chan struct{})}
	l.Do(func() { p.Future().Listen(r) })
	if n := testing.AllocsPerRun(1, func() {}); n != 0 {
		t.Fatal("AllocsPerRun is broken")
	}
	go p.Resolve(5)
	<-r.done
	if r.v != 5 || !r.ranOnLoop {
		t.Fatalf("listener got %d (on loop %v), want 5 on the loop", r.v, r.ranOnLoop)
	}
}

type recorder struct {
	loop      *runtimetest.Loop
	v         int
	ranOnLoop bool
	done      chan struct{}
}

func (r *recorder) Settled(v int, err error) {
	r.v, r.ranOnLoop = v, r.loop.Running()
	close(r.done)
}

// orderListener appends its index to a shared slice when its future settles.
type orderListener struct {
	i     int
	order *[]int
}

func (o *orderListener) Settled(int, error) { *o.order = append(*o.order, o.i) }

// Three listeners (the server's root, a Metrics and a Logger middleware's)
// fit in the promise without an allocation; more still run, in order.
func TestListenersInOrderAndThreeWithoutAllocating(t *testing.T) {
	var order []int
	ls := make([]*orderListener, 6)
	for i := range ls {
		ls[i] = &orderListener{i: i, order: &order}
	}
	if n := testing.AllocsPerRun(100, func() {
		p := runtime.NewPromise[int](nil)
		for _, l := range ls[:3] {
			p.Future().Listen(l)
		}
		p.Resolve(1)
	}); n != 1 { // the promise itself
		t.Fatalf("%v allocations for a promise and three listeners, want 1 (the promise)", n)
	}
	order = order[:0]
	p := runtime.NewPromise[int](nil)
	for _, l := range ls {
		p.Future().Listen(l)
	}
	p.Resolve(1)
	if want := []int{0, 1, 2, 3, 4, 5}; !slices.Equal(order, want) {
		t.Fatalf("listeners ran in order %v, want %v", order, want)
	}
}

// panicListener panics when its future settles.
type panicListener struct{}

func (panicListener) Settled(int, error) { panic("listener down") }

// A listener that panics does not lose the listeners after it (inline or
// not): they all run, in order, and the panic then goes on to the caller
// (the loop, which logs it).
func TestListenerPanicRunsTheOthers(t *testing.T) {
	for _, at := range []int{0, 2, 3, 4} {
		var order []int
		p := runtime.NewPromise[int](nil)
		for i := range 6 {
			if i == at {
				p.Future().Listen(panicListener{})
				continue
			}
			p.Future().Listen(&orderListener{i: i, order: &order})
		}
		var r any
		func() {
			defer func() { r = recover() }()
			p.Resolve(1)
		}()
		if r == nil {
			t.Errorf("panicking listener #%d: the panic did not reach Resolve's caller", at)
		}
		want := slices.DeleteFunc([]int{0, 1, 2, 3, 4, 5}, func(i int) bool { return i == at })
		if !slices.Equal(order, want) {
			t.Errorf("panicking listener #%d: the others ran %v, want %v", at, order, want)
		}
	}
}
