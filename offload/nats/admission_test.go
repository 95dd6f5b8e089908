package nats_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/weftgo/weft/offload"
	weftnats "github.com/weftgo/weft/offload/nats"
	"github.com/weftgo/weft/runtime"
)

// TestRemoteAdmissionHonoursTheDeadline: a job that the only worker cannot
// start within its deadline is refused at once with *OverloadError, not
// left to time out in the worker's queue.
func TestRemoteAdmissionHonoursTheDeadline(t *testing.T) {
	_, url := startServer(t, 0)
	gate := make(chan struct{})
	slow := offload.NewJob("slow", func(_ context.Context, wait bool) (int, error) {
		if wait {
			<-gate
		} else {
			time.Sleep(50 * time.Millisecond) // seeds the worker's mean run time
		}
		return 1, nil
	}, offload.JobConfig{})
	_, wp := worker(t, weftnats.Config{URL: url}, offload.Config{Workers: 1}, slow)
	p, _ := caller(t, weftnats.Config{URL: url})
	bg := runtime.Detached(context.Background())
	if _, err := wait(t, offload.Call(bg, p, slow, false)); err != nil {
		t.Fatal(err)
	}
	busy := offload.Call(bg, p, slow, true)
	queued := offload.Call(bg, p, slow, true)
	for wp.Stats().Queued != 1 {
		time.Sleep(time.Millisecond) // until the worker has queued the second job
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if w := wp.ExpectedWait(); w < 100*time.Millisecond || w > time.Minute {
		t.Fatalf("the worker expects %v of wait; the test needs 100ms to 1m", w)
	}
	short, cancelShort := context.WithTimeout(context.Background(), 60*time.Millisecond)
	defer cancelShort()
	_, err := wait(t, offload.Call(runtime.Detached(short), p, slow, true))
	var oe *offload.OverloadError
	if !errors.As(err, &oe) {
		t.Fatalf("a job with 60ms left behind 100ms of wait: %v, want an *OverloadError", err)
	}
	// With a minute left it is admitted.
	admitted := offload.Call(runtime.Detached(ctx), p, slow, true)
	close(gate)
	for _, f := range []runtime.Future[int]{busy, queued, admitted} {
		if v, err := wait(t, f); err != nil || v != 1 {
			t.Fatalf("(%d, %v)", v, err)
		}
	}
}

func TestConfigValidation(t *testing.T) {
	cases := []struct {
		cfg  weftnats.Config
		name string
	}{
		{weftnats.Config{Heartbeat: -1}, "Heartbeat"},
		{weftnats.Config{LostAfter: -1}, "LostAfter"},
		{weftnats.Config{Heartbeat: time.Second, LostAfter: time.Second}, "LostAfter"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := weftnats.New(tc.cfg); err == nil || !strings.Contains(err.Error(), tc.name) {
				t.Fatalf("New = %v, want an error naming %s", err, tc.name)
			}
		})
	}
}

func TestCloseFailsUnansweredJobs(t *testing.T) {
	_, url := startServer(t, 0)
	started, cancelled, giveUp := make(chan struct{}), make(chan struct{}), make(chan struct{})
	defer close(giveUp)
	blocks := offload.NewJob("blocks", func(ctx context.Context, _ int) (int, error) {
		close(started)
		select {
		case <-ctx.Done():
			close(cancelled)
		case <-giveUp: // the test failed: let the worker's pool close
		}
		return 0, ctx.Err()
	}, offload.JobConfig{})
	worker(t, weftnats.Config{URL: url}, offload.Config{Workers: 1}, blocks)
	b, err := weftnats.New(weftnats.Config{URL: url})
	if err != nil {
		t.Fatal(err)
	}
	p := newPool(t, offload.Config{Workers: offload.NoWorkers, Remote: b})
	f := offload.Call(runtime.Detached(context.Background()), p, blocks, 0)
	<-started
	if err := b.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := wait(t, f); !errors.Is(err, offload.ErrClosed) {
		t.Fatalf("unanswered job after Close: %v, want ErrClosed", err)
	}
	select {
	case <-cancelled:
	case <-time.After(10 * time.Second):
		t.Fatal("the job of a closed caller was not cancelled on its worker")
	}
	if err := b.Serve(p, blocks); !errors.Is(err, offload.ErrClosed) {
		t.Fatalf("Serve after Close: %v, want ErrClosed", err)
	}
	if _, err := wait(t, offload.Call(runtime.Detached(context.Background()), p, blocks, 0)); !errors.Is(err, offload.ErrUnavailable) {
		t.Fatalf("Call after Close: %v, want ErrUnavailable", err)
	}
}

// TestWorkerCloseLetsRunningJobsFinish: a worker that closes takes no new
// job, and the jobs it runs still hear their cancels and answer.
func TestWorkerCloseLetsRunningJobsFinish(t *testing.T) {
	_, url := startServer(t, 0)
	started, cancelled := make(chan struct{}), make(chan struct{})
	giveUp := make(chan struct{})
	defer close(giveUp)
	blocks := offload.NewJob("blocks", func(ctx context.Context, first bool) (int, error) {
		if !first {
			return 2, nil
		}
		close(started)
		select {
		case <-ctx.Done():
			close(cancelled)
		case <-giveUp:
		}
		return 0, ctx.Err()
	}, offload.JobConfig{})
	wb, _ := worker(t, weftnats.Config{URL: url}, offload.Config{Workers: 2}, blocks)
	p, _ := caller(t, weftnats.Config{URL: url})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	f := offload.Call(runtime.Detached(ctx), p, blocks, true)
	<-started
	closed := make(chan error, 1)
	go func() { closed <- wb.Close(context.Background()) }()
	// Once the worker has left the queue group, a new job finds no one.
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err := wait(t, offload.Call(runtime.Detached(context.Background()), p, blocks, false))
		if errors.Is(err, offload.ErrUnavailable) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the closing worker still takes jobs (%v)", err)
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	select {
	case <-cancelled:
	case <-time.After(10 * time.Second):
		t.Fatal("a job running on a closing worker did not hear its cancel")
	}
	if _, err := wait(t, f); !errors.Is(err, context.Canceled) {
		t.Fatalf("caller: %v, want context.Canceled", err)
	}
	select {
	case err := <-closed:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not return once its jobs had answered")
	}
}
