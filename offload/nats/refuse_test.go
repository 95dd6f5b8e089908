package nats_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/weftgo/weft/offload"
	weftnats "github.com/weftgo/weft/offload/nats"
	"github.com/weftgo/weft/runtime"
)

// gatedJob returns a job named "who" that counts its runs in n and
// returns name; an input i > 0 first waits for gates[i-1] (if any).
func gatedJob(name string, n *atomic.Int64, gates ...chan struct{}) *offload.Job[int, string] {
	return offload.NewJob("who", func(ctx context.Context, i int) (string, error) {
		n.Add(1)
		if i > 0 && i <= len(gates) {
			select {
			case <-gates[i-1]:
			case <-ctx.Done():
				return "", ctx.Err()
			}
		}
		return name, nil
	}, offload.JobConfig{})
}

// twoKnownWorkers starts a worker g (8 slots, its jobs with input i > 0
// wait for gates[i-1]) and a worker r (1 slot, MaxQueue 1, never waits),
// and a caller that knows both and holds no job on either. It returns
// the caller's pool and r's pool.
func twoKnownWorkers(t *testing.T, url string, nG, nR *atomic.Int64, gates ...chan struct{}) (*offload.Pool, *offload.Pool) {
	t.Helper()
	bg := runtime.Detached(context.Background())
	_, gp := worker(t, weftnats.Config{URL: url}, offload.Config{Workers: 8, MaxQueue: 1000}, gatedJob("g", nG, gates...))
	p, _ := caller(t, weftnats.Config{URL: url})
	job := gatedJob("", new(atomic.Int64))
	if v, err := wait(t, offload.Call(bg, p, job, 0)); err != nil || v != "g" {
		t.Fatalf("first job: (%q, %v)", v, err)
	}
	_, rp := worker(t, weftnats.Config{URL: url}, offload.Config{Workers: 1, MaxQueue: 1}, gatedJob("r", nR))
	// g is known and, once it holds 8 held jobs of this caller, full:
	// then one job in 8 goes to the queue group, until r takes one.
	var held []runtime.Future[string]
	for nR.Load() == 0 {
		if len(held) > 400 {
			t.Fatalf("r got none of %d jobs", len(held))
		}
		f := offload.Call(bg, p, job, 1)
		held = append(held, f)
		for deadline := time.Now().Add(10 * time.Second); ; {
			st := gp.Stats()
			if st.Running+int64(st.Queued)+nR.Load() == int64(len(held)) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%d jobs sent, %d held by g, %d started by r", len(held), st.Running+int64(st.Queued), nR.Load())
			}
			time.Sleep(100 * time.Microsecond)
		}
	}
	close(gates[0])
	for i, f := range held {
		if _, err := wait(t, f); err != nil {
			t.Fatalf("discovery job %d: %v", i, err)
		}
	}
	return p, rp
}

// A worker that refuses a job as overloaded (its queue is full of other
// callers' jobs) is not where the job goes again: offload retries a
// refused job once "as another worker may be free", and the caller's
// least-busy pick, which counts only its own jobs, would choose the same
// worker again while a known one has free slots.
func TestOverloadedWorkerIsPassedOver(t *testing.T) {
	_, url := startServer(t, 0)
	var nG, nR atomic.Int64
	gates := []chan struct{}{make(chan struct{}), make(chan struct{})}
	defer close(gates[1])
	p, rp := twoKnownWorkers(t, url, &nG, &nR, gates...)

	// Other work fills r: one job runs, one waits, the next is refused.
	block := make(chan struct{})
	defer close(block)
	bg := runtime.Detached(context.Background())
	offload.Run(bg, rp, func(ctx context.Context) (int, error) {
		<-block
		return 0, nil
	})
	for deadline := time.Now().Add(10 * time.Second); rp.Stats().Running < 1; {
		if time.Now().After(deadline) {
			t.Fatal("r's job did not start")
		}
		time.Sleep(100 * time.Microsecond)
	}
	for n := 0; ; n++ {
		if n > 1000 {
			t.Fatal("r's pool took 1000 jobs without refusing one")
		}
		f := offload.Run(bg, rp, func(ctx context.Context) (int, error) {
			<-block
			return 0, nil
		})
		if f.Ready() {
			if _, err := wait(t, f); errors.Is(err, offload.ErrOverloaded) {
				break
			}
		}
	}

	job := gatedJob("", new(atomic.Int64))
	// Held on g: it holds one of this caller's jobs, r none.
	before := nG.Load()
	hf := offload.Call(bg, p, job, 2)
	for nG.Load() == before {
		if hf.Ready() {
			_, err := wait(t, hf)
			t.Fatalf("a job while r is full: %v", err)
		}
		time.Sleep(100 * time.Microsecond)
	}
	for i := range 10 {
		v, err := wait(t, offload.Call(bg, p, job, 0))
		if errors.Is(err, offload.ErrOverloaded) {
			t.Fatalf("job %d: %v, while g has 7 free slots", i+1, err)
		}
		if err != nil || v != "g" {
			t.Fatalf("job %d: (%q, %v)", i+1, v, err)
		}
	}
}

// A worker still subscribed whose pool is closed (the order Close's doc
// asks for: pools first) answers every job at once with ErrUnavailable,
// so it always holds the fewest: it must not draw every job.
func TestStoppingWorkerIsPassedOver(t *testing.T) {
	_, url := startServer(t, 0)
	var nG, nR atomic.Int64
	gates := []chan struct{}{make(chan struct{}), make(chan struct{})}
	defer close(gates[1])
	p, rp := twoKnownWorkers(t, url, &nG, &nR, gates...)
	if err := rp.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	bg := runtime.Detached(context.Background())
	job := gatedJob("", new(atomic.Int64))
	before := nG.Load()
	hf := offload.Call(bg, p, job, 2)
	for nG.Load() == before {
		if hf.Ready() {
			_, err := wait(t, hf)
			t.Fatalf("a job while r stops: %v", err)
		}
		time.Sleep(100 * time.Microsecond)
	}
	for i := range 10 {
		if v, err := wait(t, offload.Call(bg, p, job, 0)); err != nil || v != "g" {
			t.Fatalf("job %d while r stops: (%q, %v)", i+1, v, err)
		}
	}
}
