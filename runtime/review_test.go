package runtime_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/weftgo/weft/runtime"
	"github.com/weftgo/weft/runtime/runtimetest"
)

// Regression tests from the review of 2026-11-26.

func TestRaceOfFuturesSettlingMeanwhile(t *testing.T) {
	// Every input may settle between Race's checks (no loop, another
	// goroutine resolves them): Race must still answer.
	for range 20000 {
		p := runtime.NewPromise[int](nil)
		go p.Resolve(1)
		if _, err := settle(t, runtime.Race(runtime.Detached(context.Background()), p.Future())); err != nil {
			t.Fatal(err)
		}
	}
}

func TestLagMonitorStopConcurrently(t *testing.T) {
	l := runtimetest.NewLoop(t)
	for range 200 {
		m := runtime.NewLagMonitor(l, runtime.LagConfig{})
		done := make(chan any, 2)
		for range 2 {
			go func() { defer func() { done <- recover() }(); m.Stop() }()
		}
		for range 2 {
			if r := <-done; r != nil {
				t.Fatalf("concurrent Stop panicked: %v", r)
			}
		}
	}
}

func TestWaitOnAnyLoopPanics(t *testing.T) {
	a, b := runtimetest.NewLoop(t), runtimetest.NewLoop(t)
	p := runtime.NewPromise[int](b) // another loop's future
	var msg any
	a.Do(func() {
		defer func() { msg = recover() }()
		p.Future().Wait(context.Background())
	})
	if s, _ := msg.(string); !strings.Contains(s, "on a loop") {
		t.Fatalf("Wait on loop a for loop b's future: recovered %v, want a panic", msg)
	}
	p.Resolve(1)
}

func TestBindBringsAFutureToALoop(t *testing.T) {
	a, b := runtimetest.NewLoop(t), runtimetest.NewLoop(t)
	cases := []struct {
		name string
		loop runtime.Loop // of the future to bind; nil: none
	}{
		{"from no loop", nil},
		{"from another loop", b},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := runtime.NewPromise[int](tc.loop)
			onA := make(chan bool, 1)
			a.Do(func() {
				runtime.Map(a, p.Future(), func(v int) (int, error) {
					onA <- a.Running()
					return v, nil
				})
			})
			go p.Resolve(1)
			if !<-onA {
				t.Fatal("the bound future's continuation ran off loop a")
			}
		})
	}
}

// keeper is a Scope whose Tracker counts Keep and Release, and checks
// Release runs on its loop.
type keeper struct {
	l       *runtimetest.Loop
	kept    atomic.Int32
	offLoop atomic.Bool
}

func (k *keeper) Loop() runtime.Loop                                 { return k.l }
func (k *keeper) Context() context.Context                           { return context.Background() }
func (k *keeper) Tracker() runtime.Tracker                           { return k }
func (k *keeper) Keep()                                              { k.kept.Add(1) }
func (k *keeper) Measure(runtime.Work, time.Duration, time.Duration) {}
func (k *keeper) Release() {
	if !k.l.Running() {
		k.offLoop.Store(true)
	}
	k.kept.Add(-1)
}

func TestBlockingKeepsItsScopeUntilDone(t *testing.T) {
	k := &keeper{l: runtimetest.NewLoop(t)}
	release := make(chan struct{})
	k.l.Do(func() {
		// Nobody waits for this future; the scope must still be kept.
		runtime.Blocking(k, func(context.Context) (int, error) { <-release; return 0, errors.New("done") })
	})
	if n := k.kept.Load(); n != 1 {
		t.Fatalf("kept %d while the function runs, want 1", n)
	}
	close(release)
	deadline := time.Now().Add(5 * time.Second)
	for k.kept.Load() != 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if k.kept.Load() != 0 || k.offLoop.Load() {
		t.Fatalf("after the function returned: kept %d, released off the loop %v", k.kept.Load(), k.offLoop.Load())
	}
}
