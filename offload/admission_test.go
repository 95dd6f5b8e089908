package offload_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/weftgo/weft/offload"
	"github.com/weftgo/weft/runtime"
)

// seedRunTime runs one job that takes at least d, so that the pool's mean
// run time is at least d (the first run sets the average).
func seedRunTime(t *testing.T, p *offload.Pool, d time.Duration) {
	t.Helper()
	if _, err := wait(t, offload.Run(runtime.Detached(context.Background()), p, func(context.Context) (int, error) {
		time.Sleep(d)
		return 0, nil
	})); err != nil {
		t.Fatal(err)
	}
}

func TestDeadlineAwareAdmission(t *testing.T) {
	// One worker, its mean run time at least 50 ms, the worker busy and
	// two jobs queued: a new job expects at least 150 ms of queue wait.
	const runTime = 50 * time.Millisecond
	cases := []struct {
		name     string
		maxWait  time.Duration
		deadline time.Duration // 0: none
		refused  bool
	}{
		{"deadline shorter than the wait", 0, 100 * time.Millisecond, true},
		{"deadline longer than the wait", 0, time.Hour, false},
		{"no deadline, MaxWait shorter", 20 * time.Millisecond, 0, true},
		{"no deadline, default MaxWait", 0, 0, false},
		{"no deadline, no MaxWait", -1, 0, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := newPool(t, offload.Config{Workers: 1, MaxWait: tc.maxWait})
			seedRunTime(t, p, runTime)
			if w := p.ExpectedWait(); w != 0 {
				t.Fatalf("ExpectedWait with an idle worker = %v, want 0", w)
			}
			release := blockWorkers(t, p, 1)
			defer release()
			long, cancel := context.WithTimeout(context.Background(), time.Hour)
			defer cancel()
			for range 2 {
				offload.Run(runtime.Detached(long), p, func(context.Context) (int, error) { return 0, nil })
			}
			if w := p.ExpectedWait(); w < 3*runTime {
				t.Fatalf("ExpectedWait = %v, want at least %v", w, 3*runTime)
			}
			ctx := context.Background()
			if tc.deadline > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tc.deadline)
				defer cancel()
			}
			var ran bool
			f := offload.Run(runtime.Detached(ctx), p, func(context.Context) (int, error) { ran = true; return 0, nil })
			if tc.refused {
				if !f.Ready() {
					t.Fatal("the job was queued; want it refused at once")
				}
				_, err := f.Get()
				var oe *offload.OverloadError
				if !errors.As(err, &oe) || oe.Expected < 3*runTime || oe.HTTPStatus() != 503 {
					t.Fatalf("err = %v, want an *OverloadError naming the expected wait", err)
				}
				if s := p.Stats(); s.Rejected != 1 {
					t.Fatalf("Rejected = %d, want 1", s.Rejected)
				}
				return
			}
			release()
			if _, err := wait(t, f); err != nil || !ran {
				t.Fatalf("admitted job: err %v, ran %v", err, ran)
			}
		})
	}
}

func TestNoWorkers(t *testing.T) {
	if _, err := offload.New(offload.Config{Workers: offload.NoWorkers}); err == nil || !contains(err.Error(), "Workers") {
		t.Fatalf("New(NoWorkers, no Remote) = %v, want an error naming Workers", err)
	}
	p := newPool(t, offload.Config{Workers: offload.NoWorkers, Remote: &fakeRemote{}})
	_, err := offload.Run(runtime.Detached(context.Background()), p, func(context.Context) (int, error) { return 1, nil }).Get()
	if !errors.Is(err, offload.ErrNoWorkers) {
		t.Fatalf("Run on a pool with no workers: %v, want ErrNoWorkers", err)
	}
	if s := p.Stats(); s.Workers != 0 || s.Name != "default" {
		t.Fatalf("stats %+v: want 0 workers, name default", s)
	}
}

func TestStatsDistributionsAddUp(t *testing.T) {
	p := newPool(t, offload.Config{Workers: 2, Name: "images"})
	for range 20 {
		if _, err := wait(t, offload.Run(runtime.Detached(context.Background()), p, empty)); err != nil {
			t.Fatal(err)
		}
	}
	s := p.Stats()
	if s.Name != "images" {
		t.Fatalf("Name %q", s.Name)
	}
	for name, d := range map[string]offload.Distribution{"QueueWait": s.QueueWait, "RunTime": s.RunTime} {
		var n int64
		for _, c := range d.Counts {
			n += c
		}
		if n != 20 || d.Count != 20 || d.Sum < d.Mean*20-20 {
			t.Fatalf("%s: counts add to %d, Count %d, Sum %v, Mean %v; want 20 and Sum = Count*Mean", name, n, d.Count, d.Sum, d.Mean)
		}
	}
	if offload.BucketBound(10) != 1024*time.Nanosecond {
		t.Fatalf("BucketBound(10) = %v", offload.BucketBound(10))
	}
}
