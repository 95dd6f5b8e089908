package nats_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	natsgo "github.com/nats-io/nats.go"

	"github.com/weftgo/weft/offload"
	weftnats "github.com/weftgo/weft/offload/nats"
	"github.com/weftgo/weft/runtime"
)

type shape struct {
	Name  string
	Sides int
}

var (
	describe = offload.NewJob("describe", func(_ context.Context, s shape) (string, error) {
		return fmt.Sprintf("%s has %d sides", s.Name, s.Sides), nil
	}, offload.JobConfig{})
	panics  = offload.NewJob("panics", func(context.Context, int) (int, error) { panic("remote kaboom") }, offload.JobConfig{})
	fails   = offload.NewJob("fails", func(context.Context, int) (int, error) { return 0, errUser }, offload.JobConfig{})
	teapots = offload.NewJob("teapots", func(context.Context, int) (int, error) { return 0, teapot{} }, offload.JobConfig{})
	// deadline reports the time its context had left, -1 without one.
	deadline = offload.NewJob("deadline", func(ctx context.Context, _ int) (time.Duration, error) {
		dl, ok := ctx.Deadline()
		if !ok {
			return -1, nil
		}
		return time.Until(dl), nil
	}, offload.JobConfig{})
)

func TestRemoteJobsBehaveAsLocalOnes(t *testing.T) {
	_, url := startServer(t, 0)
	worker(t, weftnats.Config{URL: url}, offload.Config{Workers: 2}, describe, panics, fails, teapots)
	p, _ := caller(t, weftnats.Config{URL: url})
	m := &meter{}
	s := meteredScope{runtime.Detached(context.Background()), m}

	if v, err := wait(t, offload.Call(s, p, describe, shape{"square", 4})); err != nil || v != "square has 4 sides" {
		t.Fatalf("describe: (%q, %v)", v, err)
	}
	if m.ran <= 0 {
		t.Fatalf("the caller's meter got ran %v: want the worker's run time", m.ran)
	}
	cases := []struct {
		name  string
		job   *offload.Job[int, int]
		check func(error) bool
	}{
		{"panic", panics, func(err error) bool {
			var pe *runtime.PanicError
			return errors.As(err, &pe) && fmt.Sprint(pe.Value) == "remote kaboom" && len(pe.Stack) > 0
		}},
		{"error", fails, func(err error) bool {
			var re *offload.RemoteError
			return errors.As(err, &re) && re.Message == errUser.Error() && re.HTTPStatus() == 500
		}},
		{"error with a status", teapots, func(err error) bool {
			var hs interface{ HTTPStatus() int }
			return errors.As(err, &hs) && hs.HTTPStatus() == 418
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := wait(t, offload.Call(s, p, tc.job, 0)); !tc.check(err) {
				t.Fatalf("err = %v (%T)", err, err)
			}
		})
	}
	if st := p.Stats(); st.Remote.Sent != 4 || st.Remote.Completed != 4 || st.Remote.InFlight != 0 {
		t.Fatalf("remote stats %+v", st.Remote)
	}
}

func TestTheDeadlineTravels(t *testing.T) {
	_, url := startServer(t, 0)
	worker(t, weftnats.Config{URL: url}, offload.Config{Workers: 1}, deadline)
	p, _ := caller(t, weftnats.Config{URL: url})
	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	left, err := wait(t, offload.Call(runtime.Detached(ctx), p, deadline, 0))
	if err != nil || left <= 0 || left > time.Hour {
		t.Fatalf("the job had (%v, %v) left; want its caller's deadline (under an hour)", left, err)
	}
	left, err = wait(t, offload.Call(runtime.Detached(context.Background()), p, deadline, 0))
	if err != nil || left != -1 {
		t.Fatalf("without a deadline the job had (%v, %v); want none", left, err)
	}
}

func TestCancellationCrossesTheWire(t *testing.T) {
	_, url := startServer(t, 0)
	started, stopped := make(chan struct{}, 1), make(chan error, 1)
	blocks := offload.NewJob("blocks", func(ctx context.Context, _ int) (int, error) {
		started <- struct{}{}
		<-ctx.Done()
		stopped <- ctx.Err()
		return 0, ctx.Err()
	}, offload.JobConfig{})
	worker(t, weftnats.Config{URL: url}, offload.Config{Workers: 1}, blocks)
	p, _ := caller(t, weftnats.Config{URL: url})
	ctx, cancel := context.WithCancel(context.Background())
	f := offload.Call(runtime.Detached(ctx), p, blocks, 0)
	<-started
	cancel()
	if _, err := wait(t, f); !errors.Is(err, context.Canceled) {
		t.Fatalf("caller: %v, want context.Canceled", err)
	}
	// The contract is 100 ms; assert it with a wide margin for a loaded
	// machine (docs quote the measured figure).
	select {
	case err := <-stopped:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("the job's context: %v, want Canceled", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("the remote job's context was not cancelled")
	}
}

func TestOverloadedWorkerAnswersAtOnce(t *testing.T) {
	_, url := startServer(t, 0)
	gate := make(chan struct{})
	var ran atomic.Int32
	holds := offload.NewJob("holds", func(ctx context.Context, _ int) (int, error) {
		ran.Add(1)
		<-gate
		return 1, nil
	}, offload.JobConfig{})
	worker(t, weftnats.Config{URL: url}, offload.Config{Workers: 1, MaxQueue: 1}, holds)
	p, _ := caller(t, weftnats.Config{URL: url})
	bg := runtime.Detached(context.Background())
	first := offload.Call(bg, p, holds, 0)
	for ran.Load() == 0 {
		time.Sleep(time.Millisecond) // until the worker runs it: an event polled
	}
	second := offload.Call(bg, p, holds, 0) // queued there
	third := offload.Call(bg, p, holds, 0)  // refused there
	_, err := wait(t, third)
	var oe *offload.OverloadError
	if !errors.As(err, &oe) || oe.HTTPStatus() != 503 {
		t.Fatalf("third job: %v, want an *OverloadError from the worker", err)
	}
	close(gate)
	for _, f := range []runtime.Future[int]{first, second} {
		if v, err := wait(t, f); v != 1 || err != nil {
			t.Fatalf("(%d, %v)", v, err)
		}
	}
}

func TestNoWorkerFailsFastOrFallsBack(t *testing.T) {
	_, url := startServer(t, 0)
	cases := []struct {
		name     string
		workers  int
		fallback bool
		wantErr  error
	}{
		{"no local workers", offload.NoWorkers, false, offload.ErrUnavailable},
		{"local workers, no fallback", 1, false, offload.ErrUnavailable},
		{"local workers, fallback", 1, true, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := newBackend(t, weftnats.Config{URL: url})
			p := newPool(t, offload.Config{Workers: tc.workers, Remote: b, LocalFallback: tc.fallback})
			call := func() runtime.Future[string] {
				return offload.Call(runtime.Detached(context.Background()), p, describe, shape{"x", 1})
			}
			if tc.workers > 0 {
				// Keep the local worker busy so that the job goes out.
				gate := make(chan struct{})
				busy := make(chan struct{})
				offload.Run(runtime.Detached(context.Background()), p, func(context.Context) (int, error) {
					close(busy)
					<-gate
					return 0, nil
				})
				<-busy
				f := call()
				close(gate)
				checkErr(t, f, tc.wantErr)
				return
			}
			checkErr(t, call(), tc.wantErr)
		})
	}
}

func checkErr(t *testing.T, f runtime.Future[string], want error) {
	t.Helper()
	v, err := wait(t, f)
	if want == nil {
		if err != nil || v != "x has 1 sides" {
			t.Fatalf("(%q, %v), want the local run's result", v, err)
		}
		return
	}
	if !errors.Is(err, want) {
		t.Fatalf("err = %v, want %v", err, want)
	}
}

func TestNATSDownFailsFastAndRecovers(t *testing.T) {
	port := freePort(t)
	ns, url := startServer(t, port)
	worker(t, weftnats.Config{URL: url}, offload.Config{Workers: 1}, describe)
	p, b := caller(t, weftnats.Config{URL: url})
	bg := runtime.Detached(context.Background())
	if _, err := wait(t, offload.Call(bg, p, describe, shape{"x", 1})); err != nil {
		t.Fatal(err)
	}
	ns.Shutdown()
	ns.WaitForShutdown()
	waitStatus(t, b.Conn(), natsgo.RECONNECTING)
	f := offload.Call(bg, p, describe, shape{"x", 1})
	if !f.Ready() {
		t.Fatal("with NATS down, Call left the job pending; want it failed at once")
	}
	if _, err := f.Get(); !errors.Is(err, offload.ErrUnavailable) {
		t.Fatalf("NATS down: %v, want ErrUnavailable", err)
	}
	startServer(t, port)
	waitStatus(t, b.Conn(), natsgo.CONNECTED)
	// The worker reconnects on its own schedule: poll with jobs until it
	// is back (each fails fast meanwhile).
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		_, err := wait(t, offload.Call(bg, p, describe, shape{"x", 1}))
		if err == nil {
			break
		}
		if !errors.Is(err, offload.ErrUnavailable) || ctx.Err() != nil {
			t.Fatalf("after NATS came back: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestLostWorker(t *testing.T) {
	cases := []struct {
		name       string
		idempotent bool
		wantErr    error
	}{
		{"fails", false, offload.ErrLost},
		{"idempotent: runs again elsewhere", true, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, url := startServer(t, 0)
			started := make(chan string, 2)
			hangs := offload.NewJob("hangs", func(ctx context.Context, who string) (string, error) {
				started <- who
				return who, nil
			}, offload.JobConfig{Idempotent: tc.idempotent})
			fast := weftnats.Config{URL: url, Heartbeat: 10 * time.Millisecond, LostAfter: 200 * time.Millisecond}
			// The doomed worker serves first; its connection is cut
			// mid-job, as a SIGKILL would (the process test does that).
			doomed, _ := worker(t, fast, offload.Config{Workers: 1}, offload.NewJob("hangs", func(ctx context.Context, _ string) (string, error) {
				started <- "doomed"
				<-ctx.Done()
				return "", ctx.Err()
			}, offload.JobConfig{}))
			p, _ := caller(t, fast)
			f := offload.Call(runtime.Detached(context.Background()), p, hangs, "survivor")
			if who := <-started; who != "doomed" {
				t.Fatalf("job started on %s", who)
			}
			worker(t, fast, offload.Config{Workers: 1}, hangs) // the survivor
			doomed.Conn().Close()
			v, err := wait(t, f)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil || v != `survivor` {
				t.Fatalf("(%q, %v), want the retry's answer", v, err)
			}
			if st := p.Stats(); st.Remote.Retried != 1 {
				t.Fatalf("Retried = %d, want 1", st.Remote.Retried)
			}
		})
	}
}
