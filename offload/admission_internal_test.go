package offload

import (
	"context"
	"errors"
	"math"
	"testing"

	"github.com/weftgo/weft/runtime"
)

// TestExpectedWaitDoesNotOverflow: a mean run time so long that the
// queue's expected wait does not fit a Duration gives the longest one, so
// the job is refused, not a negative wait that admits it.
func TestExpectedWaitDoesNotOverflow(t *testing.T) {
	p, err := New(Config{Workers: 1, MaxQueue: 4})
	if err != nil {
		t.Fatal(err)
	}
	gate, busy := make(chan struct{}), make(chan struct{})
	defer p.Close(context.Background())
	defer close(gate)
	bg := runtime.Detached(context.Background())
	Run(bg, p, func(context.Context) (int, error) { close(busy); <-gate; return 0, nil })
	<-busy
	Run(bg, p, func(context.Context) (int, error) { return 0, nil })
	Run(bg, p, func(context.Context) (int, error) { return 0, nil })
	p.m.runAvg.Store(math.MaxInt64 / 2)
	if w := p.ExpectedWait(); w <= 0 {
		t.Fatalf("ExpectedWait() = %v with 2 jobs queued behind a huge mean, want the longest wait", w)
	}
	if _, err := Run(bg, p, func(context.Context) (int, error) { return 0, nil }).Wait(context.Background()); !errors.Is(err, ErrOverloaded) {
		t.Fatalf("Run = %v, want the job refused as overloaded", err)
	}
}
