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

// heldJob returns a job named name that counts its runs in n and waits
// for ctx's end.
func heldJob(name string, n *atomic.Int64) *offload.Job[int, int] {
	return offload.NewJob(name, func(ctx context.Context, _ int) (int, error) {
		n.Add(1)
		<-ctx.Done()
		return 0, ctx.Err()
	}, offload.JobConfig{})
}

// A new worker is found for every job name, whatever the order in which
// a caller sends them: the one job in 8 that goes to the queue group
// while the known workers are full is counted per job, not over all the
// jobs sent (a caller that sends two jobs in turn sent one of them at
// odd counts only, and never looked for new workers for it).
func TestNewWorkerIsFoundForEachJob(t *testing.T) {
	_, url := startServer(t, 0)
	var oldWho, oldOther, newWho, newOther atomic.Int64
	_, old := worker(t, weftnats.Config{URL: url}, offload.Config{Workers: 1, MaxQueue: 10000},
		heldJob("who", &oldWho), heldJob("other", &oldOther))
	p, _ := caller(t, weftnats.Config{URL: url})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel() // the held jobs end with the test
	s := runtime.Detached(ctx)
	who, other := heldJob("who", new(atomic.Int64)), heldJob("other", new(atomic.Int64))
	sent := int64(0)
	var nw *offload.Pool
	// settle waits until every job sent is held by the old worker or the
	// new one.
	settle := func() {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); ; {
			st, held := old.Stats(), int64(0)
			if nw != nil {
				ns := nw.Stats()
				held = ns.Running + int64(ns.Queued)
			}
			if st.Running+int64(st.Queued)+held == sent {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%d jobs sent, %d held by the old worker, %d by the new one", sent, st.Running+int64(st.Queued), held)
			}
			time.Sleep(100 * time.Microsecond)
		}
	}
	// The old worker is known for both (from its acks), and full.
	offload.Call(s, p, who, 0)
	sent++
	settle()
	offload.Call(s, p, other, 0)
	sent++
	settle()

	_, nw = worker(t, weftnats.Config{URL: url}, offload.Config{Workers: 64, MaxQueue: 10000},
		heldJob("who", &newWho), heldJob("other", &newOther))
	for newWho.Load() == 0 {
		if sent > 800 { // 50 tries of the queue group per job, each a coin toss
			t.Fatalf("the new worker got none of %d jobs who (and %d of as many jobs other)", sent/2, newOther.Load())
		}
		offload.Call(s, p, who, 0)
		sent++
		settle()
		offload.Call(s, p, other, 0)
		sent++
		settle()
	}
}
