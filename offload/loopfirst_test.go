package offload_test

import (
	"context"
	goruntime "runtime"
	"slices"
	"testing"
	"time"

	"github.com/weftgo/weft/offload"
	"github.com/weftgo/weft/runtime"
)

// spin is a CPU-bound job that checks its context every few microseconds,
// as offload asks jobs to.
func spin(d time.Duration) func(context.Context) (int, error) {
	return func(ctx context.Context) (int, error) {
		end := time.Now().Add(d)
		x := 0
		for time.Now().Before(end) {
			for range 2000 {
				x++
			}
			if err := ctx.Err(); err != nil {
				return x, err
			}
		}
		return x, nil
	}
}

// wakeDelay measures how late a goroutine that wakes up (as a loop does
// when the network has data) gets the only processor while a job holds
// it: the median oversleep of several 2 ms sleeps.
func wakeDelay(t *testing.T, yieldEvery time.Duration) time.Duration {
	defer goruntime.GOMAXPROCS(goruntime.GOMAXPROCS(1))
	p := newPool(t, offload.Config{Workers: 1, Nice: -1, YieldEvery: yieldEvery})
	job := offload.Run(runtime.Detached(context.Background()), p, spin(300*time.Millisecond))
	time.Sleep(20 * time.Millisecond) // the job now holds the only P
	var delays []time.Duration
	for range 9 {
		start := time.Now()
		time.Sleep(2 * time.Millisecond)
		delays = append(delays, time.Since(start)-2*time.Millisecond)
	}
	if _, err := wait(t, job); err != nil {
		t.Fatal(err)
	}
	slices.Sort(delays)
	return delays[len(delays)/2]
}

func TestWorkersYieldToWaitingLoops(t *testing.T) {
	if testing.Short() {
		t.Skip("timing test")
	}
	yielding := wakeDelay(t, time.Millisecond)
	hogging := wakeDelay(t, -1)
	t.Logf("median loop delay with one P held by a job: yielding every 1ms %v, never yielding %v", yielding, hogging)
	if yielding*2 > hogging {
		t.Fatalf("a yielding worker delayed the loop %v, a non-yielding one %v: yielding must cut it at least in half", yielding, hogging)
	}
}
