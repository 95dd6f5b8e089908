package offload_test

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/weftgo/weft/offload"
	"github.com/weftgo/weft/runtime"
)

// fakeRemote is a Backend that serves jobs on a worker pool of its own in
// this process, sending every error through offload.Failure as a real
// backend does across the wire. fail, when set, answers instead.
type fakeRemote struct {
	worker   *offload.Pool
	handlers map[string]offload.Handler
	fail     func(req offload.Request) error // nil: serve
	sent     atomic.Int32
}

func (r *fakeRemote) Send(ctx context.Context, req offload.Request, done func(offload.Reply)) {
	r.sent.Add(1)
	if r.fail != nil {
		if err := r.fail(req); err != nil {
			done(offload.Reply{Err: err})
			return
		}
	}
	h := r.handlers[req.Job]
	m := &meter{}
	f := offload.Run(meteredScope{runtime.Detached(ctx), m}, r.worker, func(ctx context.Context) ([]byte, error) { return h.Serve(ctx, req.Input) })
	go func() {
		out, err := f.Wait(context.Background())
		rep := offload.Reply{Output: out, Queued: m.queued, Ran: m.ran}
		if err != nil {
			rep.Err = offload.FailureOf(err).Err(req.Job) // the wire
		}
		done(rep)
	}()
}

// meter is a runtime.Tracker for tests.
type meter struct {
	mu          sync.Mutex
	n           int
	queued, ran time.Duration
}

func (m *meter) Measure(_ runtime.Work, queued, ran time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.n++
	m.queued, m.ran = queued, ran
}

func (m *meter) Keep()    {}
func (m *meter) Release() {}

type meteredScope struct {
	runtime.Scope
	m *meter
}

func (s meteredScope) Tracker() runtime.Tracker { return s.m }

// point has its own binary encoding, which the default codec must use.
type point struct{ X, Y int32 }

func (p point) MarshalBinary() ([]byte, error) {
	return binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint32(nil, uint32(p.X)), uint32(p.Y)), nil
}

func (p *point) UnmarshalBinary(b []byte) error {
	if len(b) != 8 {
		return fmt.Errorf("point: %d bytes", len(b))
	}
	p.X, p.Y = int32(binary.BigEndian.Uint32(b)), int32(binary.BigEndian.Uint32(b[4:]))
	return nil
}

type statusErr struct{}

func (statusErr) Error() string   { return "teapot" }
func (statusErr) HTTPStatus() int { return http.StatusTeapot }

var (
	double = offload.NewJob("double", func(_ context.Context, in point) (point, error) {
		return point{in.X * 2, in.Y * 2}, nil
	}, offload.JobConfig{})
	greet = offload.NewJob("greet", func(_ context.Context, in struct{ Name string }) (string, error) {
		return "hello " + in.Name, nil
	}, offload.JobConfig{})
	boom        = offload.NewJob("boom", func(context.Context, int) (int, error) { panic("kaboom") }, offload.JobConfig{})
	teapot      = offload.NewJob("teapot", func(context.Context, int) (int, error) { return 0, statusErr{} }, offload.JobConfig{})
	wait4cancel = offload.NewJob("wait4cancel", func(ctx context.Context, _ int) (int, error) {
		<-ctx.Done()
		return 0, ctx.Err()
	}, offload.JobConfig{})
	retryable = offload.NewJob("retryable", func(context.Context, int) (int, error) { return 7, nil }, offload.JobConfig{Idempotent: true})
	once      = offload.NewJob("once", func(context.Context, int) (int, error) { return 7, nil }, offload.JobConfig{})
)

func newRemote(t *testing.T, hs ...offload.Handler) *fakeRemote {
	r := &fakeRemote{worker: newPool(t, offload.Config{Workers: 2}), handlers: map[string]offload.Handler{}}
	for _, h := range hs {
		r.handlers[h.Name()] = h
	}
	return r
}

func TestJobCodecs(t *testing.T) {
	out, err := double.Serve(context.Background(), []byte{0, 0, 0, 1, 0, 0, 0, 2})
	if err != nil || string(out) != string([]byte{0, 0, 0, 2, 0, 0, 0, 4}) {
		t.Fatalf("BinaryMarshaler codec: (%v, %v)", out, err)
	}
	out, err = greet.Serve(context.Background(), []byte(`{"Name":"weft"}`))
	if err != nil || string(out) != `"hello weft"` {
		t.Fatalf("JSON codec: (%s, %v)", out, err)
	}
	if _, err := greet.Serve(context.Background(), []byte(`{`)); err == nil || !contains(err.Error(), "decoding its input") {
		t.Fatalf("bad input: %v", err)
	}
}

func TestNewJobRefusesBadNames(t *testing.T) {
	for _, name := range []string{"", "a.b", "a b", "a*", "a>", string(make([]byte, 129))} {
		t.Run(fmt.Sprintf("%q", name), func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Fatal("no panic")
				}
			}()
			offload.NewJob(name, func(context.Context, int) (int, error) { return 0, nil }, offload.JobConfig{})
		})
	}
}

// TestCallBehavesTheSameWhereverItRuns runs each job on local workers and on
// the fake remote (a pool with no local workers): same values, same kinds
// of errors, same meter.
func TestCallBehavesTheSameWhereverItRuns(t *testing.T) {
	remote := newRemote(t, double, greet, boom, teapot)
	pools := map[string]*offload.Pool{
		"local":  newPool(t, offload.Config{Workers: 1}),
		"remote": newPool(t, offload.Config{Workers: offload.NoWorkers, Remote: remote}),
	}
	for where, p := range pools {
		t.Run(where, func(t *testing.T) {
			m := &meter{}
			s := meteredScope{runtime.Detached(context.Background()), m}
			if v, err := wait(t, offload.Call(s, p, double, point{3, -4})); err != nil || v != (point{6, -8}) {
				t.Fatalf("double: (%v, %v)", v, err)
			}
			if m.n != 1 {
				t.Fatalf("meter called %d times, want 1", m.n)
			}
			if v, err := wait(t, offload.Call(s, p, greet, struct{ Name string }{"you"})); err != nil || v != "hello you" {
				t.Fatalf("greet: (%v, %v)", v, err)
			}
			_, err := wait(t, offload.Call(s, p, boom, 0))
			var pe *runtime.PanicError
			if !errors.As(err, &pe) || fmt.Sprint(pe.Value) != "kaboom" || len(pe.Stack) == 0 {
				t.Fatalf("boom: %v, want a *runtime.PanicError with its stack", err)
			}
			_, err = wait(t, offload.Call(s, p, teapot, 0))
			var hs interface{ HTTPStatus() int }
			if !errors.As(err, &hs) || hs.HTTPStatus() != http.StatusTeapot {
				t.Fatalf("teapot: %v, want its status to survive", err)
			}
		})
	}
	if n := remote.sent.Load(); n != 4 {
		t.Fatalf("remote got %d jobs, want 4", n)
	}
}

func TestCallCancellationReachesTheJob(t *testing.T) {
	remote := newRemote(t, wait4cancel)
	p := newPool(t, offload.Config{Workers: offload.NoWorkers, Remote: remote})
	ctx, cancel := context.WithCancel(context.Background())
	f := offload.Call(runtime.Detached(ctx), p, wait4cancel, 0)
	cancel()
	if _, err := wait(t, f); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

func TestCallPlacement(t *testing.T) {
	remote := newRemote(t, greet)
	p := newPool(t, offload.Config{Workers: 1, Remote: remote})
	in := struct{ Name string }{"x"}
	if _, err := wait(t, offload.Call(runtime.Detached(context.Background()), p, greet, in)); err != nil {
		t.Fatal(err)
	}
	if n := remote.sent.Load(); n != 0 {
		t.Fatalf("an idle local worker, yet %d jobs went remote", n)
	}
	release := blockWorkers(t, p, 1)
	defer release()
	if _, err := wait(t, offload.Call(runtime.Detached(context.Background()), p, greet, in)); err != nil {
		t.Fatal(err)
	}
	if n := remote.sent.Load(); n != 1 {
		t.Fatalf("local worker busy: %d jobs went remote, want 1", n)
	}
	if s := p.Stats(); s.Remote.Sent != 1 || s.Remote.Completed != 1 || s.Remote.InFlight != 0 || s.Remote.RoundTrip.Count != 1 {
		t.Fatalf("remote stats %+v", s.Remote)
	}
}

func TestCallWhenRemoteFails(t *testing.T) {
	cases := []struct {
		name     string
		workers  int
		fallback bool
		job      *offload.Job[int, int]
		fail     func(calls *atomic.Int32) func(offload.Request) error
		want     error // nil: the job ran (locally)
		sends    int32
	}{
		{"unavailable, no fallback", 1, false, once, always(offload.ErrUnavailable), offload.ErrUnavailable, 1},
		{"unavailable, fallback", 1, true, once, always(offload.ErrUnavailable), nil, 1},
		{"unavailable, fallback, no local workers", offload.NoWorkers, true, once, always(offload.ErrUnavailable), offload.ErrUnavailable, 1},
		{"overloaded remote overflows back", 1, false, once, always(&offload.OverloadError{}), nil, 1},
		{"overloaded remote, no local workers: sent once more", offload.NoWorkers, false, once, firstOnly(&offload.OverloadError{}), nil, 2},
		{"overloaded twice, no local workers: fails", offload.NoWorkers, false, once, always(&offload.OverloadError{}), offload.ErrOverloaded, 2},
		{"lost, not idempotent", offload.NoWorkers, false, once, always(offload.ErrLost), offload.ErrLost, 1},
		{"lost, idempotent: sent again", offload.NoWorkers, false, retryable, firstOnly(offload.ErrLost), nil, 2},
		{"lost twice, idempotent: fails", offload.NoWorkers, false, retryable, always(offload.ErrLost), offload.ErrLost, 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			remote := newRemote(t, tc.job)
			var calls atomic.Int32
			remote.fail = tc.fail(&calls)
			p := newPool(t, offload.Config{Workers: tc.workers, Remote: remote, LocalFallback: tc.fallback})
			if tc.workers > 0 {
				release := blockWorkers(t, p, tc.workers)
				f := offload.Call(runtime.Detached(context.Background()), p, tc.job, 0)
				release()
				checkOutcome(t, f, tc.want)
			} else {
				checkOutcome(t, offload.Call(runtime.Detached(context.Background()), p, tc.job, 0), tc.want)
			}
			if n := remote.sent.Load(); n != tc.sends {
				t.Fatalf("sent %d times, want %d", n, tc.sends)
			}
		})
	}
}

func always(err error) func(*atomic.Int32) func(offload.Request) error {
	return func(*atomic.Int32) func(offload.Request) error {
		return func(offload.Request) error { return err }
	}
}

func firstOnly(err error) func(*atomic.Int32) func(offload.Request) error {
	return func(calls *atomic.Int32) func(offload.Request) error {
		return func(offload.Request) error {
			if calls.Add(1) == 1 {
				return err
			}
			return nil
		}
	}
}

func checkOutcome(t *testing.T, f runtime.Future[int], want error) {
	t.Helper()
	v, err := wait(t, f)
	if want == nil {
		if err != nil || v != 7 {
			t.Fatalf("got (%d, %v), want (7, nil)", v, err)
		}
		return
	}
	if !errors.Is(err, want) {
		t.Fatalf("err = %v, want %v", err, want)
	}
}

func TestFailureRoundTrip(t *testing.T) {
	cases := []struct {
		err   error
		check func(error) bool
	}{
		{context.Canceled, func(e error) bool { return errors.Is(e, context.Canceled) }},
		{fmt.Errorf("wrapped: %w", context.DeadlineExceeded), func(e error) bool { return errors.Is(e, context.DeadlineExceeded) }},
		{&offload.OverloadError{Retry: 3 * time.Second}, func(e error) bool {
			var oe *offload.OverloadError
			return errors.As(e, &oe) && oe.RetryAfter() == 3*time.Second
		}},
		{offload.ErrClosed, func(e error) bool { return errors.Is(e, offload.ErrClosed) }},
		{offload.ErrLost, func(e error) bool { return errors.Is(e, offload.ErrLost) }},
		{errors.New("plain"), func(e error) bool {
			var re *offload.RemoteError
			return errors.As(e, &re) && re.Message == "plain" && re.HTTPStatus() == 500 && re.Job == "j"
		}},
	}
	for _, tc := range cases {
		t.Run(tc.err.Error(), func(t *testing.T) {
			if got := offload.FailureOf(tc.err).Err("j"); !tc.check(got) {
				t.Fatalf("%v came back as %v (%T)", tc.err, got, got)
			}
		})
	}
}
