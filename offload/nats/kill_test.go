package nats_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/weftgo/weft/offload"
	weftnats "github.com/weftgo/weft/offload/nats"
	"github.com/weftgo/weft/offload/nats/internal/cpujob"
	"github.com/weftgo/weft/runtime"
)

// buildWorker builds examples/worker into a folder removed when t ends.
func buildWorker(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "worker")
	out, err := exec.Command("go", "build", "-o", bin, "./examples/worker").CombinedOutput()
	if err != nil {
		t.Fatalf("building examples/worker: %v\n%s", err, out)
	}
	return bin
}

// workerProcess is examples/worker running in a process of its own.
type workerProcess struct {
	cmd    *exec.Cmd
	exited chan struct{}
}

// startWorker starts a worker process on url and returns once it says it
// takes jobs.
func startWorker(t *testing.T, bin, url string, env ...string) *workerProcess {
	t.Helper()
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(), append([]string{"NATS_URL=" + url, "WORKERS=1"}, env...)...)
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w := &workerProcess{cmd: cmd, exited: make(chan struct{})}
	ready := make(chan struct{})
	go func() {
		defer close(w.exited)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if sc.Text() == "ready" {
				close(ready)
			}
		}
		_ = cmd.Wait()
	}()
	t.Cleanup(func() { w.kill() })
	select {
	case <-ready:
	case <-w.exited:
		t.Fatal("the worker exited before it was ready")
	case <-time.After(30 * time.Second):
		t.Fatal("the worker did not say ready in 30s")
	}
	return w
}

// kill sends SIGKILL and waits for the process to be gone.
func (w *workerProcess) kill() {
	_ = w.cmd.Process.Signal(syscall.SIGKILL)
	<-w.exited
}

// TestKilledWorkerUnderLoad: two worker processes share the jobs of a
// caller with no local workers; one is killed with SIGKILL under load.
// Every job gets an answer (its result, or an error a handler turns into a
// 503 or 504) within its deadline; none hangs. A worker started after the
// kill takes jobs: once it is ready the other is killed too, and the jobs
// go on succeeding.
func TestKilledWorkerUnderLoad(t *testing.T) {
	_, url := startServer(t, 0)
	// About 5-20 ms per job, so that several are in flight at each kill.
	jobEnv := []string{"CPU_ITERS=1000"}
	bin := buildWorker(t)
	a := startWorker(t, bin, url, jobEnv...)
	b := startWorker(t, bin, url, jobEnv...)
	p, _ := caller(t, weftnats.Config{URL: url, Heartbeat: 20 * time.Millisecond, LostAfter: 300 * time.Millisecond})
	job := cpujob.New(1, 32, 1) // the caller's registration; the workers' size the work

	const deadline = 5 * time.Second
	type outcome struct {
		phase int
		err   error
	}
	var (
		mu       sync.Mutex
		outcomes []outcome
		phase    int
		done     = make(chan struct{})
		wg       sync.WaitGroup
		progress = make(chan struct{}, 1024)
	)
	for range 4 { // light load: four callers, one job each at a time
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-done:
					return
				default:
				}
				mu.Lock()
				ph := phase
				mu.Unlock()
				ctx, cancel := context.WithTimeout(context.Background(), deadline)
				f := offload.Call(runtime.Detached(ctx), p, job, struct{}{})
				// No future waits forever: each settles within its
				// deadline (plus the time to hear of it).
				wctx, wcancel := context.WithTimeout(context.Background(), deadline+2*time.Second)
				_, err := f.Wait(wctx)
				hung := wctx.Err() != nil
				wcancel()
				cancel()
				if hung {
					t.Errorf("a job's future did not settle within its deadline")
					return
				}
				mu.Lock()
				outcomes = append(outcomes, outcome{ph, err})
				mu.Unlock()
				select {
				case progress <- struct{}{}:
				default:
				}
			}
		}()
	}
	waitJobs := func(n int) {
		for range n {
			select {
			case <-progress:
			case <-time.After(30 * time.Second):
				t.Fatal("no progress for 30s")
			}
		}
	}
	setPhase := func(n int) { mu.Lock(); phase = n; mu.Unlock() }

	waitJobs(20)
	setPhase(1)
	a.kill()
	waitJobs(20)
	setPhase(2)
	startWorker(t, bin, url, jobEnv...) // a comes back
	b.kill()                            // from now on only the new worker serves
	waitJobs(20)
	setPhase(3)
	waitJobs(20)
	close(done)
	wg.Wait()

	counts := map[string]int{}
	for _, o := range outcomes {
		var oe *offload.OverloadError
		switch {
		case o.err == nil:
			counts[fmt.Sprintf("phase %d ok", o.phase)]++
		case errors.Is(o.err, offload.ErrLost), errors.Is(o.err, offload.ErrUnavailable),
			errors.As(o.err, &oe), errors.Is(o.err, context.DeadlineExceeded):
			counts[fmt.Sprintf("phase %d %v", o.phase, o.err)]++
		default:
			t.Errorf("phase %d: unexpected error %v (%T)", o.phase, o.err, o.err)
		}
	}
	t.Logf("outcomes: %v; stats %+v", counts, p.Stats().Remote)
	if counts["phase 3 ok"] < 15 {
		t.Fatalf("after the restart %d of the last jobs succeeded; want nearly all (%v)", counts["phase 3 ok"], counts)
	}
}
