package runtime_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/weftgo/weft/runtime"
	"github.com/weftgo/weft/runtime/runtimetest"
)

// scope is a runtime.Scope for tests.
type scope struct {
	loop runtime.Loop
	ctx  context.Context
}

func (s scope) Loop() runtime.Loop       { return s.loop }
func (s scope) Context() context.Context { return s.ctx }

func TestBlockingRunsOffTheLoopAndContinuesOnIt(t *testing.T) {
	l := runtimetest.NewLoop(t)
	var fnOnLoop, contOnLoop atomic.Bool
	var out runtime.Future[string]
	l.Do(func() {
		f := runtime.Blocking(scope{l, context.Background()}, func(ctx context.Context) (string, error) {
			fnOnLoop.Store(l.Running())
			return "rows", nil
		})
		out = runtime.Map(l, f, func(v string) (string, error) {
			contOnLoop.Store(l.Running())
			return v + "!", nil
		})
	})
	if v, err := settle(t, out); v != "rows!" || err != nil {
		t.Fatalf("got (%q, %v)", v, err)
	}
	if fnOnLoop.Load() || !contOnLoop.Load() {
		t.Fatalf("fn on loop = %v (want false), continuation on loop = %v (want true)", fnOnLoop.Load(), contOnLoop.Load())
	}
}

func TestBlockingCancelledContextDoesNotStart(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var started atomic.Bool
	f := runtime.Blocking(runtime.Detached(ctx), func(context.Context) (int, error) {
		started.Store(true)
		return 1, nil
	})
	if _, err := settle(t, f); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if started.Load() {
		t.Fatal("fn started although its context was already cancelled")
	}
}

func TestBlockingPanicBecomesError(t *testing.T) {
	f := runtime.Blocking(runtime.Detached(context.Background()), func(context.Context) (int, error) {
		var m map[string]int
		m["x"] = 1 // nil map write: a runtime panic
		return 0, nil
	})
	_, err := settle(t, f)
	var pe *runtime.PanicError
	if !errors.As(err, &pe) {
		t.Fatalf("err = %v, want *PanicError", err)
	}
}

func TestAfter(t *testing.T) {
	l := runtimetest.NewLoop(t)
	start := time.Now()
	var out runtime.Future[struct{}]
	onLoop := make(chan bool, 1)
	l.Do(func() {
		out = runtime.Map(l, runtime.After(scope{l, context.Background()}, 30*time.Millisecond), func(struct{}) (struct{}, error) {
			onLoop <- l.Running()
			return struct{}{}, nil
		})
	})
	if _, err := settle(t, out); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 30*time.Millisecond {
		t.Fatalf("After(30ms) resolved after %v", d)
	}
	if !<-onLoop {
		t.Fatal("After's continuation ran off the loop")
	}
}

func TestAfterCancelledByContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	f := runtime.After(runtime.Detached(ctx), time.Hour)
	time.AfterFunc(10*time.Millisecond, cancel)
	if _, err := settle(t, f); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}
