package nats_test

import (
	"context"
	"testing"
	"time"

	"github.com/weftgo/weft/offload"
	weftnats "github.com/weftgo/weft/offload/nats"
	"github.com/weftgo/weft/runtime"
)

// A worker chooses the fast lane for each job it serves by that job's own
// run times: a slow job served beside a quick one does not take the fast
// lane (an unlocked goroutine at the loops' priority) on the strength of
// the quick one's runs. It did: the worker ran every job through one
// function literal, so all jobs it served shared one moving average.
func TestWorkerFastLaneIsPerJob(t *testing.T) {
	_, url := startServer(t, 0)
	quick := offload.NewJob("quick", func(_ context.Context, in int) (int, error) { return in, nil }, offload.JobConfig{})
	slow := offload.NewJob("slow", func(_ context.Context, in int) (int, error) {
		time.Sleep(time.Millisecond)
		return in, nil
	}, offload.JobConfig{})
	_, wp := worker(t, weftnats.Config{URL: url}, offload.Config{Workers: 2, FastLane: time.Second}, quick, slow)
	p, _ := caller(t, weftnats.Config{URL: url})
	s := runtime.Detached(context.Background())
	for range 3 {
		if _, err := wait(t, offload.Call(s, p, quick, 1)); err != nil {
			t.Fatal(err)
		}
	}
	if n := wp.Stats().FastLane; n != 2 {
		t.Fatalf("the worker ran %d of the quick job's runs on the fast lane, want 2 (all but the first)", n)
	}
	if _, err := wait(t, offload.Call(s, p, slow, 1)); err != nil {
		t.Fatal(err)
	}
	if n := wp.Stats().FastLane; n != 2 {
		t.Fatal("the slow job's first run took the worker's fast lane: it shared the quick job's run times")
	}
}
