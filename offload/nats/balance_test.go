package nats_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/weftgo/weft/offload"
	weftnats "github.com/weftgo/weft/offload/nats"
	"github.com/weftgo/weft/runtime"
)

// whoJob returns a job named "who" that counts its runs in n and returns
// name; while hold is open (non-nil), it waits for it first.
func whoJob(name string, n *atomic.Int64, hold <-chan struct{}) *offload.Job[int, string] {
	return offload.NewJob("who", func(ctx context.Context, _ int) (string, error) {
		n.Add(1)
		if hold != nil {
			select {
			case <-hold:
			case <-ctx.Done():
				return "", ctx.Err()
			}
		}
		return name, nil
	}, offload.JobConfig{})
}

// waitCount waits until a+b reaches want.
func waitCount(t *testing.T, a, b *atomic.Int64, want int64) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); a.Load()+b.Load() < want; {
		if time.Now().After(deadline) {
			t.Fatalf("%d jobs started, want %d", a.Load()+b.Load(), want)
		}
		time.Sleep(time.Millisecond)
	}
}

// A caller sends each job to the worker it knows holds the fewest of its
// jobs, not where NATS's queue group happens to put it: a worker whose
// jobs hang gets none while a known one is idle. (With the queue group's
// random choice, half of them would go to the busy worker.)
func TestJobsGoToTheIdleWorker(t *testing.T) {
	_, url := startServer(t, 0)
	var nIdle, nBusy atomic.Int64
	worker(t, weftnats.Config{URL: url}, offload.Config{Workers: 1}, whoJob("idle", &nIdle, nil))
	p, _ := caller(t, weftnats.Config{URL: url})
	bg := runtime.Detached(context.Background())
	job := whoJob("", new(atomic.Int64), nil) // the caller's side: only its name counts
	if v, err := wait(t, offload.Call(bg, p, job, 0)); err != nil || v != "idle" {
		t.Fatalf("first job: (%q, %v)", v, err)
	}

	// A second worker, whose jobs hang until the test ends, joins the
	// queue group.
	hold := make(chan struct{})
	defer close(hold)
	worker(t, weftnats.Config{URL: url}, offload.Config{Workers: 8}, whoJob("busy", &nBusy, hold))
	const jobs = 40
	for i := range jobs {
		f := offload.Call(bg, p, job, 0)
		waitCount(t, &nIdle, &nBusy, int64(i+2))
		if nBusy.Load() > 0 {
			t.Fatalf("job %d went to the busy worker while the idle one was known", i+1)
		}
		if v, err := wait(t, f); err != nil || v != "idle" {
			t.Fatalf("job %d: (%q, %v)", i+1, v, err)
		}
	}
}

// Once every known worker holds a job per slot, some jobs still go to
// the queue group, so that a worker started since is found; from then on
// it gets the jobs, as it holds the fewest per slot.
func TestNewWorkerIsFound(t *testing.T) {
	_, url := startServer(t, 0)
	var nOld, nNew atomic.Int64
	hold := make(chan struct{})
	defer close(hold)
	_, old := worker(t, weftnats.Config{URL: url}, offload.Config{Workers: 1, MaxQueue: 1000}, whoJob("old", &nOld, hold))
	p, _ := caller(t, weftnats.Config{URL: url})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel() // the held jobs end with the test
	s := runtime.Detached(ctx)
	job := whoJob("", new(atomic.Int64), nil)
	sent := int64(0)
	// send sends a job and reports whether the new worker took it.
	send := func() bool {
		t.Helper()
		before := nNew.Load()
		offload.Call(s, p, job, 0)
		sent++
		for deadline := time.Now().Add(10 * time.Second); ; {
			st := old.Stats()
			if st.Running+int64(st.Queued)+nNew.Load() == sent {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%d jobs sent, %d held by the old worker, %d started by the new one", sent, st.Running+int64(st.Queued), nNew.Load())
			}
			time.Sleep(100 * time.Microsecond)
		}
		return nNew.Load() > before
	}
	send() // the old worker is known, and busy

	worker(t, weftnats.Config{URL: url}, offload.Config{Workers: 64}, whoJob("new", &nNew, hold))
	for !send() {
		if sent > 400 { // 50 tries of the queue group, each a coin toss
			t.Fatalf("the new worker got none of %d jobs", sent)
		}
	}
	// Of the next 32, the new worker takes every one once its ack has
	// come (with the queue group alone, a run of 16 has odds of 1e-4).
	run, longest := 0, 0
	for range 32 {
		if send() {
			run++
			longest = max(longest, run)
		} else {
			run = 0
		}
	}
	if longest < 16 {
		t.Fatalf("the new worker took at most %d jobs in a row of the 32 sent after it was found; want 16 or more", longest)
	}
}

// A job sent to a known worker that has gone away (its subscriptions
// closed) goes to another through the queue group instead of failing.
func TestGoneWorkerIsPassedOver(t *testing.T) {
	_, url := startServer(t, 0)
	var nA, nB atomic.Int64
	wa, _ := worker(t, weftnats.Config{URL: url}, offload.Config{Workers: 1}, whoJob("a", &nA, nil))
	p, _ := caller(t, weftnats.Config{URL: url})
	bg := runtime.Detached(context.Background())
	job := whoJob("", new(atomic.Int64), nil)
	if v, err := wait(t, offload.Call(bg, p, job, 0)); err != nil || v != "a" {
		t.Fatalf("first job: (%q, %v)", v, err)
	}
	worker(t, weftnats.Config{URL: url}, offload.Config{Workers: 1}, whoJob("b", &nB, nil))
	if err := wa.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		if v, err := wait(t, offload.Call(bg, p, job, 0)); err != nil || v != "b" {
			t.Fatalf("job %d after a closed: (%q, %v)", i+1, v, err)
		}
	}
}
