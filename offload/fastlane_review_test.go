package offload_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/weftgo/weft/offload"
	"github.com/weftgo/weft/runtime"
	"github.com/weftgo/weft/runtime/runtimetest"
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

// queueScope is a trackedScope whose Tracker is a runtime.QueueTracker, as
// a *net.Ctx's is: it counts Queued and Dequeued.
type queueScope struct {
	trackedScope
	queued, dequeued atomic.Int32
}

func (k *queueScope) Tracker() runtime.Tracker             { return k }
func (k *queueScope) Queued(runtime.Work)                  { k.queued.Add(1) }
func (k *queueScope) Dequeued(runtime.Work, time.Duration) { k.dequeued.Add(1) }

// A job that Call sent to a remote worker, and that runs locally after all
// (the remote workers were overloaded), was never announced as queued to
// the scope's QueueTracker (Queued is loop-only, and the fallback happens
// off the loop): the worker that takes it must not report it dequeued
// either, or the tracker's count of jobs in a queue is one short for the
// rest of the request (a later job waiting in the queue counts as running).
func TestRemoteFallbackIsDequeuedOnlyIfQueued(t *testing.T) {
	k := &queueScope{trackedScope: trackedScope{l: runtimetest.NewLoop(t)}}
	r := &answerRemote{rep: offload.Reply{Err: offload.ErrOverloaded}}
	p := newPool(t, offload.Config{Workers: 1, Remote: r})
	// Keep the only worker busy, so that Call sends the job out.
	hold := &act{started: make(chan struct{}), gate: make(chan struct{})}
	held := offload.Run(bg, p, laneJob(hold))
	<-hold.started
	var f runtime.Future[int]
	k.l.Do(func() { f = offload.Call(k, p, once, 1) })
	if r.sent.Load() != 1 {
		t.Fatal("the job was not sent to the remote backend")
	}
	close(hold.gate)
	if _, err := wait(t, held); err != nil {
		t.Fatal(err)
	}
	if v, err := wait(t, f); v != 7 || err != nil {
		t.Fatalf("(%d, %v)", v, err)
	}
	if q, d := k.queued.Load(), k.dequeued.Load(); q != d {
		t.Fatalf("the tracker was told %d jobs queued and %d dequeued", q, d)
	}
	if k.measured.Load() != 1 {
		t.Fatalf("measured %d times, want 1", k.measured.Load())
	}
}
