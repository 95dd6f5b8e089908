package offload

import (
	"context"
	"errors"
	"fmt"
	goruntime "runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/panjf2000/ants/v2"
	"go.uber.org/zap"

	"github.com/weftgo/weft/runtime"
)

// Config configures a Pool. The zero value of every field has a documented
// default; New fails with an error that names a bad field.
type Config struct {
	// Name names the pool in logs and metrics (Stats.Name, the pool label
	// of weft's Prometheus metrics). Default "default".
	Name string

	// Workers is how many jobs run at once on this machine. Default:
	// runtime.NumCPU(). NoWorkers: none; every job goes to Remote (Run,
	// which takes a function, then fails with ErrNoWorkers).
	Workers int

	// MaxQueue is how many jobs may wait for a worker. When it is full, Run
	// fails at once with an *OverloadError (503 through the error
	// handler), like piscina's maxQueue. Default: 64 per worker.
	MaxQueue int

	// MaxWait is the longest queue wait the pool accepts for a job whose
	// context has no deadline: a job whose expected wait is longer is
	// refused at once with an *OverloadError. A job with a deadline is
	// refused when its expected wait exceeds the time left to its
	// deadline. Default 10 s; negative: no limit for jobs without a
	// deadline. docs/offload.md says how the wait is estimated.
	MaxWait time.Duration

	// Remote, if set, runs jobs by name (Call) on other processes when
	// the local workers are busy or absent. Run, which takes a function,
	// always runs locally. offload/nats provides one.
	Remote Backend

	// LocalFallback makes Call run a job on the local workers when Remote
	// cannot reach any worker (ErrUnavailable) instead of failing it.
	// Ignored with NoWorkers.
	LocalFallback bool

	// Logger receives the pool's own events. Default: zap.NewNop().
	Logger *zap.Logger

	// Nice is the nice value (1 to 19) of the worker threads, each locked
	// to an OS thread of its own, so that the kernel runs the loops'
	// threads first when both want a core; never below the process's own
	// nice value (a process run niced keeps its workers behind its loops,
	// even with the privilege to lower it). Default 15; negative: workers
	// are ordinary goroutines at the process's priority. See
	// docs/offload.md for the measurements behind the default.
	Nice int

	// YieldEvery is how long a worker runs a job before it lets a waiting
	// loop have its processor, at the job's next ctx.Err() check.
	// Default 2.5 ms; negative: never (loops then wait for Go's preemption,
	// up to 10 ms, whenever every worker is busy).
	YieldEvery time.Duration

	// FastLane is the longest expected run time of a job that may skip
	// the locked, niced worker threads: while a worker slot is free and
	// nothing is queued, such a job runs on an ordinary goroutine, which
	// saves the thread handoffs that waking a locked thread costs (an
	// empty job's round trip falls from tens of µs to about one). The
	// expected run time is a moving average of the job's own past runs,
	// per function (Run) or per Job name (Call); a job that has not run yet
	// takes the locked workers. Fast-lane jobs count against Workers like
	// any other. Default 100 µs; negative: off. See docs/offload.md,
	// "The fast lane".
	FastLane time.Duration
}

// NoWorkers, as Config.Workers, gives a pool no local workers: its jobs run
// on Config.Remote only.
const NoWorkers = -1

const (
	defaultName           = "default"
	defaultMaxWait        = 10 * time.Second
	defaultQueuePerWorker = 64
	defaultNice           = 15
	defaultYieldEvery     = 2500 * time.Microsecond
	defaultFastLane       = 100 * time.Microsecond
)

// jobContext is the context a job runs with: its Err also lets a waiting
// loop run (a Gosched once the job has run yieldEvery since it last did), so
// a job that checks for cancellation now and then keeps the loops responsive
// without extra processors. Each job has its own, never reused: a job may
// hand its ctx to goroutines that outlive it, or call Err from several.
type jobContext struct {
	context.Context
	yieldEvery time.Duration
	lastYield  atomic.Int64 // monotonic ns since the pool's epoch
	epoch      time.Time
}

func (c *jobContext) Err() error {
	if c.yieldEvery > 0 {
		now := int64(time.Since(c.epoch))
		if last := c.lastYield.Load(); now-last >= int64(c.yieldEvery) && c.lastYield.CompareAndSwap(last, now) {
			goruntime.Gosched()
		}
	}
	return c.Context.Err()
}

// Pool runs CPU-bound jobs on a bounded set of workers (an ants pool), with a
// bounded queue in front. It is weft's Worker Threads: a loop hands a job to
// the pool and gets a future back, and the loop keeps answering while the job
// runs.
//
// Safe for concurrent use.
type Pool struct {
	cfg     Config
	log     *zap.Logger
	workers *ants.Pool
	jobs    chan task

	closeMu sync.Mutex // guards closed against Run's send
	closed  bool
	done    sync.WaitGroup // workers

	// active holds each worker's running job, to cancel at Close's
	// deadline.
	activeMu sync.Mutex
	active   []context.CancelFunc

	// slots holds one token per job running, on either lane: a worker
	// takes one before it starts a job, so fast-lane jobs and the locked
	// workers together never run more than Workers jobs at once.
	slots chan struct{}
	// fastIdx holds the free indexes of active (Workers to 3*Workers-1)
	// for fast-lane jobs: twice as many as slots, as a job gives its slot
	// back before its index (before and after its future settles).
	fastIdx chan int
	// held[w] says whether the job running as active index w holds a
	// slot; only the goroutine running as w touches it.
	held []bool
	// lanes maps a job's key (its function's code pointer, or a Job's
	// name) to its run times, for the fast lane's choice.
	lanes sync.Map // uintptr or jobKey -> *laneStat

	m metrics
}

// task is a job of any result type.
type task interface {
	// start runs the job on worker w, or settles it without running if
	// its context is done.
	start(p *Pool, w int)
	// drop settles a job that will never run.
	drop(err error)
}

// ErrClosed is the error of jobs submitted to, or still queued in, a
// closed pool. It answers 503.
var ErrClosed error = closedError{}

type closedError struct{}

func (closedError) Error() string   { return "weft/offload: pool closed" }
func (closedError) HTTPStatus() int { return 503 }

// New starts a pool.
func New(cfg Config) (*Pool, error) {
	if cfg.Name == "" {
		cfg.Name = defaultName
	}
	switch {
	case cfg.Workers == NoWorkers && cfg.Remote == nil:
		return nil, errors.New("weft/offload: Config.Workers is NoWorkers but Config.Remote is nil: no job could run")
	case cfg.Workers == NoWorkers:
		cfg.Workers = 0
	case cfg.Workers < 0:
		return nil, fmt.Errorf("weft/offload: Config.Workers is %d; want 0 (one per CPU), NoWorkers or more", cfg.Workers)
	case cfg.Workers == 0:
		cfg.Workers = goruntime.NumCPU()
	}
	switch {
	case cfg.MaxWait == 0:
		cfg.MaxWait = defaultMaxWait
	case cfg.MaxWait < 0:
		cfg.MaxWait = -1
	}
	switch {
	case cfg.MaxQueue < 0:
		return nil, fmt.Errorf("weft/offload: Config.MaxQueue is %d; want 0 (%d per worker) or more", cfg.MaxQueue, defaultQueuePerWorker)
	case cfg.MaxQueue == 0:
		cfg.MaxQueue = defaultQueuePerWorker * cfg.Workers
	}
	switch {
	case cfg.Nice > 19:
		return nil, fmt.Errorf("weft/offload: Config.Nice is %d; want 0 (the default, %d), 1 to 19, or negative for none", cfg.Nice, defaultNice)
	case cfg.Nice == 0:
		cfg.Nice = defaultNice
	case cfg.Nice < 0:
		cfg.Nice = 0
	}
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
	switch {
	case cfg.YieldEvery == 0:
		cfg.YieldEvery = defaultYieldEvery
	case cfg.YieldEvery < 0:
		cfg.YieldEvery = 0
	}
	switch {
	case cfg.FastLane == 0:
		cfg.FastLane = defaultFastLane
	case cfg.FastLane < 0:
		cfg.FastLane = 0
	}
	p := &Pool{
		cfg:     cfg,
		log:     cfg.Logger.Named("offload").With(zap.String("pool", cfg.Name)),
		jobs:    make(chan task, cfg.MaxQueue),
		active:  make([]context.CancelFunc, 3*cfg.Workers),
		slots:   make(chan struct{}, cfg.Workers),
		fastIdx: make(chan int, 2*cfg.Workers),
		held:    make([]bool, 3*cfg.Workers),
	}
	for i := range 2 * cfg.Workers {
		p.fastIdx <- cfg.Workers + i
	}
	if cfg.Workers == 0 {
		p.cfg.MaxQueue = 0
		p.jobs = make(chan task)
		return p, nil
	}
	workers, err := ants.NewPool(cfg.Workers,
		ants.WithPreAlloc(true),
		ants.WithNonblocking(true),
		ants.WithDisablePurge(true),
		ants.WithLogger(antsLogger{p.log}),
		ants.WithPanicHandler(func(v any) {
			// Jobs recover their own panics; this is a bug in the pool.
			p.log.Error("panic in an offload worker", zap.Any("panic", v))
		}),
	)
	if err != nil {
		return nil, fmt.Errorf("weft/offload: %w", err)
	}
	p.workers = workers
	for w := range cfg.Workers {
		p.done.Add(1)
		if err := workers.Submit(func() { p.work(w) }); err != nil {
			p.done.Done()
			p.Close(context.Background())
			return nil, fmt.Errorf("weft/offload: starting worker %d: %w", w, err)
		}
	}
	return p, nil
}

// Run queues fn on p and returns a future for its result, whose
// continuations run on s's loop. fn gets a context that is done when s's
// context is (the client left, a timeout, the server stopping) or when Close
// gives up waiting; a CPU-bound job should check it now and then.
//
// Run never blocks. It fails at once, without queueing fn, with:
//   - s's context error, if that context is already done;
//   - an *OverloadError (503, Retry-After), if the queue is full, or if
//     the queue wait expected for fn exceeds the time left to the
//     context's deadline (Config.MaxWait without a deadline);
//   - ErrClosed, after Close;
//   - ErrNoWorkers, on a pool with no local workers.
//
// A job whose context is done before a worker takes it is not started; its
// future fails with the context's error. A panic in fn fails the future with
// a *runtime.PanicError. If s has a runtime.Tracker (a *net.Ctx does), it keeps
// its resources (the request's bytes, which fn may read) until fn has
// returned, even if nothing waits for the future.
//
// Call it on s's loop (from a handler, with its *net.Ctx as s), or from any
// goroutine for a Scope with no loop (runtime.Detached). The pool itself is
// safe for concurrent use.
func Run[T any](s runtime.Scope, p *Pool, fn func(ctx context.Context) (T, error)) runtime.Future[T] {
	return run(s, p, fn, fn)
}

// run is Run with the key of the job whose past run times decide the lane
// (see Pool.lane): fn itself for Run, the Job's jobKey for Call.
func run[T any](s runtime.Scope, p *Pool, key any, fn func(ctx context.Context) (T, error)) runtime.Future[T] {
	ctx := s.Context()
	if err := ctx.Err(); err != nil {
		p.m.cancelled.Add(1)
		return runtime.Rejected[T](err)
	}
	if p.cfg.Workers == 0 {
		if p.isClosed() {
			return runtime.Rejected[T](ErrClosed)
		}
		return runtime.Rejected[T](ErrNoWorkers)
	}
	j := &job[T]{fn: fn, ctx: ctx, promise: runtime.NewPromise[T](s.Loop()), queued: time.Now()}
	j.tracker = runtime.TrackerOf(s)
	j.announced = s.Loop() != nil // KeepQueued below tells the tracker
	if p.cfg.FastLane > 0 {
		j.lane = p.lane(key)
	}
	if err := p.submitLane(j, ctx, j.lane); err != nil {
		return runtime.Rejected[T](err)
	}
	// The job may read the scope's resources (a request's bytes) until it
	// returns: keep them until its future settles.
	runtime.KeepQueued(s, j.promise, runtime.WorkOffload)
	return j.promise.Future()
}

// isClosed reports whether Close was called.
func (p *Pool) isClosed() bool {
	p.closeMu.Lock()
	defer p.closeMu.Unlock()
	return p.closed
}

// submit queues t, whose context is ctx, unless the pool is closed, its
// queue full, or t's expected wait longer than ctx allows.
func (p *Pool) submit(t task, ctx context.Context) error {
	return p.submitLane(t, ctx, nil)
}

// submitLane is submit for a job whose run times are lane (nil: unknown):
// if the fast lane takes it, it starts at once on a goroutine of its own.
func (p *Pool) submitLane(t task, ctx context.Context, lane *laneStat) error {
	p.closeMu.Lock()
	defer p.closeMu.Unlock()
	if p.closed {
		return ErrClosed
	}
	if lane != nil && takesFastLane(p.cfg.FastLane, lane.expected(), p.queued()) {
		select {
		case p.slots <- struct{}{}:
			select {
			case w := <-p.fastIdx:
				p.m.submitted.Add(1)
				p.m.fast.Add(1)
				p.done.Add(1)
				go p.runFast(t, w)
				return nil
			default:
				// Every index is with a fast-lane job that gave its
				// slot back but has not returned yet: rare (there are
				// twice as many as slots), and no reason to wait.
				<-p.slots
			}
		default: // every slot is taken: the queue, as any job
		}
	}
	if err := p.admit(ctx); err != nil {
		p.m.rejected.Add(1)
		return err
	}
	if p.queued() >= p.cfg.MaxQueue {
		p.m.rejected.Add(1)
		return p.overload()
	}
	// The channel holds at most queued() jobs: this send does not block.
	p.m.queued.Add(1)
	p.jobs <- t
	p.m.submitted.Add(1)
	return nil
}

// queued returns how many jobs wait for a worker: in the queue, or taken
// by a worker that waits for a slot (while fast-lane jobs hold them all).
func (p *Pool) queued() int { return int(p.m.queued.Load()) }

// work is worker w's life: take jobs until the queue is closed.
func (p *Pool) work(w int) {
	defer p.done.Done()
	if p.cfg.Nice > 0 && threadNiceSupported {
		// The thread is niced for good (an unprivileged process cannot
		// raise a priority back), so it must never run anything else:
		// the goroutine stays locked and its thread exits with it.
		goruntime.LockOSThread()
		if err := setThreadNice(p.cfg.Nice); err != nil {
			p.log.Warn("cannot lower the worker thread's priority", zap.Error(err))
		}
	}
	for t := range p.jobs {
		p.slots <- struct{}{} // waits only while fast-lane jobs hold every slot
		p.held[w] = true
		p.m.queued.Add(-1) // only now: a job held here still counts as queued
		t.start(p, w)
		p.releaseSlot(w)
	}
}

// runFast runs t on the fast lane, as active index w, whose slot the
// caller took.
func (p *Pool) runFast(t task, w int) {
	defer p.done.Done()
	p.held[w] = true
	t.start(p, w)
	p.releaseSlot(w)
	p.fastIdx <- w
}

// releaseSlot gives back the slot that the job running as active index w
// holds, if it still holds it. A job gives it back as soon as it returns,
// before its future settles, so that the caller's next job finds it free.
// Only the goroutine running as w calls it.
func (p *Pool) releaseSlot(w int) {
	if p.held[w] {
		p.held[w] = false
		<-p.slots
	}
}

// setActive records (or clears, with nil) worker w's running job. Recording
// fails once Close has given up waiting, so that no job starts after Close
// has cancelled the running ones.
func (p *Pool) setActive(w int, cancel context.CancelFunc) bool {
	p.activeMu.Lock()
	defer p.activeMu.Unlock()
	if cancel != nil && p.m.closing.Load() {
		return false
	}
	p.active[w] = cancel
	return true
}

// Close stops the pool: Run fails with ErrClosed from now on, and the queued
// and running jobs finish. If ctx ends first, the running jobs' contexts are
// cancelled, the jobs still queued fail with ErrClosed without running, and
// Close returns ctx's error once the running jobs have returned (a job that
// ignores its context cannot be stopped). Close is safe to call more than
// once.
func (p *Pool) Close(ctx context.Context) error {
	p.closeMu.Lock()
	if p.closed {
		p.closeMu.Unlock()
		p.done.Wait()
		return nil
	}
	p.closed = true
	close(p.jobs)
	p.closeMu.Unlock()

	finished := make(chan struct{})
	go func() { p.done.Wait(); close(finished) }()
	var err error
	select {
	case <-finished:
	case <-ctx.Done():
		err = ctx.Err()
		p.activeMu.Lock()
		// From now on no job starts (setActive refuses it): workers
		// drain the queue, failing what is left with ErrClosed.
		p.m.closing.Store(true)
		for _, cancel := range p.active {
			if cancel != nil {
				cancel()
			}
		}
		p.activeMu.Unlock()
		<-finished
	}
	if p.workers != nil {
		p.workers.Release()
	}
	return err
}

// job is one Run call.
type job[T any] struct {
	fn      func(context.Context) (T, error)
	ctx     context.Context
	promise runtime.Promise[T]
	tracker runtime.Tracker // the caller's, if it has one
	// announced: KeepQueued told tracker that the job is queued (Run on a
	// loop), so the worker that takes it tells it Dequeued. A job queued
	// off the loop (Call's fallback from a remote backend) was not.
	announced bool
	queued    time.Time
	lane      *laneStat // its function's run times; nil: not recorded
}

func (j *job[T]) start(p *Pool, w int) {
	started := time.Now()
	waited := started.Sub(j.queued)
	p.m.wait.observe(int64(waited))
	measureWait := waited
	if j.announced {
		measureWait = runtime.Dequeued(j.tracker, runtime.WorkOffload, waited) // 0 once the tracker has it
	}
	if p.m.closing.Load() {
		j.drop(ErrClosed)
		return
	}
	if err := j.ctx.Err(); err != nil {
		p.m.cancelled.Add(1)
		j.drop(err)
		return
	}
	ctx, cancel := context.WithCancel(j.ctx)
	if !p.setActive(w, cancel) {
		cancel()
		j.drop(ErrClosed)
		return
	}
	p.m.running.Add(1)
	jctx := &jobContext{Context: ctx, yieldEvery: p.cfg.YieldEvery, epoch: started}
	v, err := j.call(jctx)
	p.m.running.Add(-1)
	p.setActive(w, nil)
	p.releaseSlot(w)
	cancel()
	ran := time.Since(started)
	p.m.observeRun(ran, j.lane)
	p.m.completed.Add(1)
	if j.tracker != nil {
		j.tracker.Measure(runtime.WorkOffload, measureWait, ran)
	}
	var pe *runtime.PanicError
	if errors.As(err, &pe) {
		p.m.panicked.Add(1)
	}
	j.fn, j.ctx, j.tracker = nil, nil, nil
	j.promise.Settle(v, err)
}

func (j *job[T]) call(ctx *jobContext) (v T, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = runtime.NewPanicError(r)
		}
	}()
	return j.fn(ctx)
}

func (j *job[T]) drop(err error) {
	j.fn, j.ctx, j.tracker = nil, nil, nil
	j.promise.Reject(err)
}

// antsLogger routes ants' messages to zap.
type antsLogger struct{ l *zap.Logger }

func (a antsLogger) Printf(format string, args ...any) {
	a.l.Warn(fmt.Sprintf(format, args...))
}
