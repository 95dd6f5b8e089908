package runtime_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/weftgo/weft/runtime"
	"github.com/weftgo/weft/runtime/runtimetest"
)

// input describes one input future of a combinator test: already settled, or
// pending and settled later in the order given by at.
type input struct {
	v       int
	err     error
	pending bool
	at      int // settle order among pending inputs
}

func TestCombinators(t *testing.T) {
	errA, errB := errors.New("a"), errors.New("b")
	cases := []struct {
		name    string
		combine func(s runtime.Scope, fs []runtime.Future[int]) runtime.Future[[]int]
		in      []input
		want    []int
		wantErr []error // every one must match under errors.Is
	}{
		{"All ready", all, []input{{v: 1}, {v: 2}}, []int{1, 2}, nil},
		{"All none", all, nil, []int{}, nil},
		{"All pending keeps order", all, []input{{v: 1, pending: true, at: 1}, {v: 2, pending: true, at: 0}, {v: 3}}, []int{1, 2, 3}, nil},
		{"All first error", all, []input{{v: 1, pending: true, at: 1}, {err: errA, pending: true, at: 0}}, nil, []error{errA}},
		{"All ready error", all, []input{{v: 1}, {err: errB}}, nil, []error{errB}},
		{"Any first success", anyOf, []input{{err: errA, pending: true, at: 0}, {v: 2, pending: true, at: 1}}, []int{2}, nil},
		{"Any all fail", anyOf, []input{{err: errA, pending: true, at: 1}, {err: errB, pending: true, at: 0}}, nil, []error{errA, errB}},
		{"Any none", anyOf, nil, nil, []error{runtime.ErrNoFutures}},
		{"Race first settled wins", race, []input{{v: 1, pending: true, at: 1}, {err: errB, pending: true, at: 0}}, nil, []error{errB}},
		{"Race ready wins", race, []input{{v: 1, pending: true}, {v: 9}}, []int{9}, nil},
		{"Race none", race, nil, nil, []error{runtime.ErrNoFutures}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			l := runtimetest.NewLoop(t)
			fs := make([]runtime.Future[int], len(tc.in))
			promises := make([]runtime.Promise[int], len(tc.in))
			for i, in := range tc.in {
				if in.pending {
					promises[i] = runtime.NewPromise[int](l)
					fs[i] = promises[i].Future()
				} else {
					fs[i] = runtime.Map(l, runtime.Resolved(in.v), func(v int) (int, error) { return v, in.err })
				}
			}
			var out runtime.Future[[]int]
			l.Do(func() { out = tc.combine(l, fs) })
			order := slices.Clone(tc.in)
			idx := make([]int, len(order))
			for i := range idx {
				idx[i] = i
			}
			slices.SortFunc(idx, func(a, b int) int { return order[a].at - order[b].at })
			for _, i := range idx {
				if in := tc.in[i]; in.pending {
					promises[i].Settle(in.v, in.err)
				}
			}
			got, err := settle(t, out)
			for _, want := range tc.wantErr {
				if !errors.Is(err, want) {
					t.Fatalf("error = %v, want it to match %v", err, want)
				}
			}
			if tc.wantErr == nil && err != nil {
				t.Fatalf("error = %v, want none", err)
			}
			if tc.wantErr == nil && !slices.Equal(got, tc.want) {
				t.Fatalf("value = %v, want %v", got, tc.want)
			}
		})
	}
}

func all(s runtime.Scope, fs []runtime.Future[int]) runtime.Future[[]int] {
	return runtime.All(s, fs...)
}

func anyOf(s runtime.Scope, fs []runtime.Future[int]) runtime.Future[[]int] {
	return runtime.Map(s, runtime.Any(s, fs...), func(v int) ([]int, error) { return []int{v}, nil })
}

func race(s runtime.Scope, fs []runtime.Future[int]) runtime.Future[[]int] {
	return runtime.Map(s, runtime.Race(s, fs...), func(v int) ([]int, error) { return []int{v}, nil })
}

func TestAllAcrossLoopsSettlesOnTheFirstPendingLoop(t *testing.T) {
	a, b := runtimetest.NewLoop(t), runtimetest.NewLoop(t)
	pa, pb := runtime.NewPromise[int](a), runtime.NewPromise[int](b)
	onA := make(chan bool, 1)
	var out runtime.Future[[]int]
	a.Do(func() {
		out = runtime.Map(a, runtime.All(a, pa.Future(), pb.Future()), func(v []int) ([]int, error) {
			onA <- a.Running()
			return v, nil
		})
	})
	go pb.Resolve(2) // settles last input on b's side first
	go pa.Resolve(1)
	got, err := settle(t, out)
	if err != nil || !slices.Equal(got, []int{1, 2}) {
		t.Fatalf("All = (%v, %v), want ([1 2], nil)", got, err)
	}
	if !<-onA {
		t.Fatal("All's continuation ran off loop a")
	}
}

func TestWithTimeout(t *testing.T) {
	l := runtimetest.NewLoop(t)
	cases := []struct {
		name    string
		resolve time.Duration // -1: never
		timeout time.Duration
		wantErr error
	}{
		{"settles first", 0, time.Second, nil},
		{"times out", -1, 20 * time.Millisecond, runtime.ErrTimeout},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := runtime.NewPromise[int](l)
			var out runtime.Future[int]
			l.Do(func() { out = runtime.WithTimeout(l, p.Future(), tc.timeout) })
			if tc.resolve >= 0 {
				p.Resolve(4)
			}
			_, err := settle(t, out)
			if !errors.Is(err, tc.wantErr) || (err == nil) != (tc.wantErr == nil) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if tc.wantErr != nil && !errors.Is(err, context.DeadlineExceeded) {
				t.Fatal("ErrTimeout must match context.DeadlineExceeded")
			}
			p.Resolve(5) // late: must be ignored
			if _, err2 := settle(t, out); !errors.Is(err2, tc.wantErr) || (err2 == nil) != (err == nil) {
				t.Fatalf("result changed after a late resolve: %v", err2)
			}
		})
	}
}

// TestContinuationsRunWhereAttached is the rule of the package: a
// continuation attached on loop b to a future of loop a runs on b, for every
// combinator, whether the future settles before or after it is attached.
func TestContinuationsRunWhereAttached(t *testing.T) {
	cases := []struct {
		name   string
		attach func(s runtime.Scope, f runtime.Future[int], seen func()) runtime.Future[int]
	}{
		{"Then", func(s runtime.Scope, f runtime.Future[int], seen func()) runtime.Future[int] {
			return runtime.Then(s, f, func(v int) runtime.Future[int] { seen(); return runtime.Resolved(v) })
		}},
		{"Map", func(s runtime.Scope, f runtime.Future[int], seen func()) runtime.Future[int] {
			return runtime.Map(s, f, func(v int) (int, error) { seen(); return v, nil })
		}},
		{"Catch", func(s runtime.Scope, f runtime.Future[int], seen func()) runtime.Future[int] {
			failed := runtime.Map(s, f, func(int) (int, error) { return 0, errBoom })
			return failed.Catch(s, func(error) runtime.Future[int] { seen(); return runtime.Resolved(1) })
		}},
		{"Finally", func(s runtime.Scope, f runtime.Future[int], seen func()) runtime.Future[int] {
			return f.Finally(s, func(int, error) { seen() })
		}},
		{"All", func(s runtime.Scope, f runtime.Future[int], seen func()) runtime.Future[int] {
			return runtime.Map(s, runtime.All(s, f), func(v []int) (int, error) { seen(); return v[0], nil })
		}},
		{"Any", func(s runtime.Scope, f runtime.Future[int], seen func()) runtime.Future[int] {
			return runtime.Map(s, runtime.Any(s, f), func(v int) (int, error) { seen(); return v, nil })
		}},
		{"Race", func(s runtime.Scope, f runtime.Future[int], seen func()) runtime.Future[int] {
			return runtime.Map(s, runtime.Race(s, f), func(v int) (int, error) { seen(); return v, nil })
		}},
		{"WithTimeout", func(s runtime.Scope, f runtime.Future[int], seen func()) runtime.Future[int] {
			return runtime.Map(s, runtime.WithTimeout(s, f, time.Hour), func(v int) (int, error) { seen(); return v, nil })
		}},
	}
	for _, tc := range cases {
		for _, settledFirst := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/settled=%v", tc.name, settledFirst), func(t *testing.T) {
				a, b := runtimetest.NewLoop(t), runtimetest.NewLoop(t)
				p := runtime.NewPromise[int](a)
				if settledFirst {
					p.Resolve(1)
					a.Do(func() {}) // let a take the result in
				}
				onB := make(chan bool, 1)
				var out runtime.Future[int]
				b.Do(func() {
					out = tc.attach(b, p.Future(), func() { onB <- b.Running() })
				})
				p.Resolve(1)
				if _, err := settle(t, out); err != nil {
					t.Fatal(err)
				}
				if !<-onB {
					t.Fatal("the continuation attached on loop b ran off it")
				}
			})
		}
	}
}
