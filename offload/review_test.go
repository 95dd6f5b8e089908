package offload_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/weftgo/weft/offload"
	"github.com/weftgo/weft/runtime"
	"github.com/weftgo/weft/runtime/runtimetest"
)

// answerRemote is a Backend that answers every Send at once, on the
// sender's goroutine, with rep; or, with hold set, keeps done until the
// test calls it.
type answerRemote struct {
	rep  offload.Reply
	hold chan func(offload.Reply)
	sent atomic.Int32
}

func (r *answerRemote) Send(_ context.Context, _ offload.Request, done func(offload.Reply)) {
	r.sent.Add(1)
	if r.hold != nil {
		r.hold <- done
		return
	}
	done(r.rep)
}

// panicCodec panics in Marshal or Unmarshal, as a user's codec (or a
// BinaryUnmarshaler given bytes it did not expect) may.
type panicCodec struct{ inMarshal bool }

func (c panicCodec) Marshal(v any) ([]byte, error) {
	if c.inMarshal {
		panic("codec marshal kaboom")
	}
	return []byte("1"), nil
}

func (c panicCodec) Unmarshal([]byte, any) error {
	if !c.inMarshal {
		panic("codec unmarshal kaboom")
	}
	return nil
}

// TestCallRecoversAPanickingCodec: a codec that panics while Call encodes
// the input or decodes the output (on a backend's goroutine, where a panic
// kills the process) fails the future with a *runtime.PanicError, as a
// panic in the job does.
func TestCallRecoversAPanickingCodec(t *testing.T) {
	cases := []struct {
		name      string
		inMarshal bool
	}{
		{"encoding the input", true},
		{"decoding the output", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			j := offload.NewJob("codecpanic", func(context.Context, int) (int, error) { return 1, nil },
				offload.JobConfig{Codec: panicCodec{inMarshal: tc.inMarshal}})
			p := newPool(t, offload.Config{Workers: offload.NoWorkers, Remote: &answerRemote{rep: offload.Reply{Output: []byte("1")}}})
			var f runtime.Future[int]
			func() {
				defer func() {
					if r := recover(); r != nil {
						t.Fatalf("Call panicked: %v", r)
					}
				}()
				f = offload.Call(runtime.Detached(context.Background()), p, j, 1)
			}()
			_, err := wait(t, f)
			var pe *runtime.PanicError
			if !errors.As(err, &pe) || len(pe.Stack) == 0 {
				t.Fatalf("err = %v (%T), want a *runtime.PanicError with its stack", err, err)
			}
		})
	}
}

// TestRemoteOverloadIsCountedAsRejected: a job refused as overloaded is
// counted in Stats.Rejected (weft_offload_rejected_total) wherever the
// refusal came from, as the user got the same 503.
func TestRemoteOverloadIsCountedAsRejected(t *testing.T) {
	r := &answerRemote{rep: offload.Reply{Err: &offload.OverloadError{Retry: time.Second}}}
	p := newPool(t, offload.Config{Workers: offload.NoWorkers, Remote: r})
	_, err := wait(t, offload.Call(runtime.Detached(context.Background()), p, once, 1))
	if !errors.Is(err, offload.ErrOverloaded) {
		t.Fatalf("err = %v, want an overload", err)
	}
	if s := p.Stats(); s.Rejected != 1 {
		t.Fatalf("Stats.Rejected = %d after a job refused as overloaded, want 1 (remote %+v)", s.Rejected, s.Remote)
	}
}

// trackedScope is a Scope on a loop whose Tracker counts Keep, Release
// and Measure, as a *net.Ctx's does.
type trackedScope struct {
	l                       *runtimetest.Loop
	kept, measured, offLoop atomic.Int32
}

func (k *trackedScope) Loop() runtime.Loop       { return k.l }
func (k *trackedScope) Context() context.Context { return context.Background() }
func (k *trackedScope) Tracker() runtime.Tracker { return k }
func (k *trackedScope) Keep()                    { k.kept.Add(1) }
func (k *trackedScope) Measure(runtime.Work, time.Duration, time.Duration) {
	if k.kept.Load() == 0 {
		k.offLoop.Add(1) // measured a scope nobody keeps: a recycled request's
	}
	k.measured.Add(1)
}
func (k *trackedScope) Release() { k.kept.Add(-1) }

// TestRemoteCallKeepsItsScope: a job sent to a remote worker keeps its
// scope (a *net.Ctx: the request) until its future settles, as Run does:
// the backend's answer measures the job on the scope's Tracker, which must
// not be a request recycled meanwhile.
func TestRemoteCallKeepsItsScope(t *testing.T) {
	k := &trackedScope{l: runtimetest.NewLoop(t)}
	r := &answerRemote{hold: make(chan func(offload.Reply), 1)}
	p := newPool(t, offload.Config{Workers: offload.NoWorkers, Remote: r})
	var f runtime.Future[int]
	k.l.Do(func() { f = offload.Call(k, p, once, 1) })
	done := <-r.hold
	if n := k.kept.Load(); n != 1 {
		t.Fatalf("kept %d while the remote job runs, want 1", n)
	}
	done(offload.Reply{Output: []byte("7"), Queued: time.Millisecond, Ran: time.Millisecond})
	if v, err := wait(t, f); v != 7 || err != nil {
		t.Fatalf("(%d, %v)", v, err)
	}
	released := make(chan struct{})
	k.l.Do(func() { close(released) }) // Release was posted before this
	<-released
	if k.measured.Load() != 1 || k.offLoop.Load() != 0 || k.kept.Load() != 0 {
		t.Fatalf("measured %d (%d while not kept), kept %d after the answer; want 1, 0, 0", k.measured.Load(), k.offLoop.Load(), k.kept.Load())
	}
}

// queueScope is a trackedScope whose Tracker is a runtime.QueueTracker, as
// a *net.Ctx's is: it counts Queued and Dequeued, and the queue wait each
// path reports.
type queueScope struct {
	trackedScope
	queued, dequeued atomic.Int32
	waits            atomic.Int64 // ns: Dequeued's and Measure's queue waits
}

func (k *queueScope) Tracker() runtime.Tracker { return k }
func (k *queueScope) Queued(runtime.Work)      { k.queued.Add(1) }
func (k *queueScope) Dequeued(_ runtime.Work, q time.Duration) {
	k.dequeued.Add(1)
	k.waits.Add(int64(q))
}
func (k *queueScope) Measure(w runtime.Work, q, ran time.Duration) {
	k.waits.Add(int64(q))
	k.trackedScope.Measure(w, q, ran)
}

// TestLocalFallbackPairsQueuedAndDequeued: a Call that a remote worker
// refuses as overloaded joins the local queue from the backend's goroutine,
// where Queued (loop-only) cannot be called: its worker must not call
// Dequeued either, or the tracker counts a job out of its queue that never
// went in, and a later job of the request, still queued, is counted as
// running (the access line's Pending instead of offload_queue). Its wait is
// counted once, through Measure.
func TestLocalFallbackPairsQueuedAndDequeued(t *testing.T) {
	k := &queueScope{trackedScope: trackedScope{l: runtimetest.NewLoop(t)}}
	r := &answerRemote{rep: offload.Reply{Err: &offload.OverloadError{}}}
	p := newPool(t, offload.Config{Workers: 1, Remote: r})
	release := blockWorkers(t, p, 1) // not idle: Call goes remote
	var f runtime.Future[int]
	k.l.Do(func() { f = offload.Call(k, p, once, 1) })
	release()
	if v, err := wait(t, f); v != 7 || err != nil {
		t.Fatalf("(%d, %v)", v, err)
	}
	if r.sent.Load() != 1 {
		t.Fatalf("sent %d times, want 1 (then the local queue)", r.sent.Load())
	}
	if q, d := k.queued.Load(), k.dequeued.Load(); q != d {
		t.Fatalf("Queued %d times, Dequeued %d times: want as many", q, d)
	}
	if k.measured.Load() != 1 || k.waits.Load() <= 0 {
		t.Fatalf("measured %d, queue wait %v: want 1 Measure and the wait counted", k.measured.Load(), time.Duration(k.waits.Load()))
	}
}
