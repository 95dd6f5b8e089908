package offload_test

import (
	"context"
	"testing"
	"time"

	"github.com/weftgo/weft/offload"
)

// sleepJob makes a Job that sleeps for d: every Job it makes has the same
// function literal, as Jobs made by one helper at start-up do. Not inlined,
// so that all of them share one code pointer.
//
//go:noinline
func sleepJob(name string, d time.Duration) *offload.Job[int, int] {
	return offload.NewJob(name, func(_ context.Context, in int) (int, error) {
		time.Sleep(d)
		return in, nil
	}, offload.JobConfig{})
}

// The fast lane's choice for Call follows each Job's own run times, as
// Config.FastLane says ("per Job"), not the code pointer of its function: two
// Jobs made by one helper (a quick one and a slow one) do not share their
// run times, and a Job that never ran takes the locked workers.
func TestFastLaneIsPerJob(t *testing.T) {
	p := newPool(t, offload.Config{Workers: 2, FastLane: time.Second})
	quick := sleepJob("quick", 0)
	slow := sleepJob("slow", time.Millisecond)
	for range 3 {
		if _, err := wait(t, offload.Call(bg, p, quick, 1)); err != nil {
			t.Fatal(err)
		}
	}
	before := p.Stats().FastLane
	if before != 2 {
		t.Fatalf("%d runs of the trained job took the fast lane, want 2", before)
	}
	if _, err := wait(t, offload.Call(bg, p, slow, 1)); err != nil {
		t.Fatal(err)
	}
	if got := p.Stats().FastLane; got != before {
		t.Fatal("the first run of a Job took the fast lane: it shared the run times of another Job made by the same function literal")
	}
}
