package net

import (
	"context"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/panjf2000/gnet/v2"
	"go.uber.org/zap"

	"github.com/weftgo/weft/net/internal/http1"
	"github.com/weftgo/weft/runtime"
)

// loop is weft's side of one gnet event loop: the runtime.Loop that
// continuations run on, and the state every connection of the loop shares.
//
// Post and Running are safe for concurrent use; the fields after "loop-only"
// are touched only on the loop's goroutine.
type loop struct {
	owner runtime.Owner
	id    int
	obs   loopObs // health figures (observe.go)
	el    gnet.EventLoop
	st    *serverState
	log   *zap.Logger

	// inflight counts requests read and not yet answered; Shutdown reads
	// it from another goroutine.
	inflight atomic.Int64
	lag      *runtime.LagMonitor
	// sweeps and drains count the sweeps run and the drains the drain
	// watch saw; drainPolls and drainEvents count its checks on the timer
	// and on an event (drain.go) (for tests).
	sweeps, drains          atomic.Int64
	drainPolls, drainEvents atomic.Int64
	// readPauses counts the times reading a socket was paused (tests).
	readPauses atomic.Int64
	// lingers counts the connections whose close lingered (linger.go; tests).
	lingers atomic.Int64
	// epfd is gnet's epoll descriptor for this loop, or -1 (readpause.go).
	epfd int
	// open and enrolling count the loop's connections and those handed to
	// it and not yet opened, for the accept loop's choice of a loop.
	open, enrolling atomic.Int64

	mu        sync.Mutex
	inbox     []runtime.Task
	scheduled bool // a drain is queued with gnet
	closed    bool
	fired     []int32 // descriptors the drain watcher saw writable (drain.go)
	firedB    []int32 // fired's other half, loop-only
	firing    bool    // a drainEvent task is posted

	// loop-only
	spare   []runtime.Task
	conns   []*conn       // every open connection, for the sweep
	ready   []*conn       // connections marked since the last serviceTask
	readyB  []*conn       // the other half of ready's double buffer
	serving bool          // a serviceTask is posted
	watch   []*conn       // connections whose output drainT watches (drain.go)
	armed   map[int]*conn // connections armed in the drain watcher, by descriptor
	waker   *waker        // see waker.go; nil without one
	yielded []*conn       // connections that used their turn, waiting for the waker
	drainT  *time.Timer
	polling bool // drainT will post a drainCheck
	freeCtx []*Ctx
	out     []byte // response bytes being gathered for one write
	head    []byte // a stream's head written with its first bytes (Stream.writeDirectOnLoop)
	iov     [][]byte
	ctx     context.Context
	cancel  context.CancelFunc
	doneCtx context.Context // already cancelled, for contexts asked for too late
}

func newLoop(st *serverState, el gnet.EventLoop, id int) *loop {
	l := &loop{el: el, st: st, log: st.cfg.log, id: id}
	l.ctx, l.cancel = context.WithCancel(st.ctx)
	l.epfd = epollOf(el)
	var cancelDone context.CancelFunc
	l.doneCtx, cancelDone = context.WithCancel(context.Background())
	cancelDone()
	if st.noLagProbe {
		return l
	}
	l.lag = runtime.NewLagMonitor(l, runtime.LagConfig{}) // blocked loops: the watchdog's
	return l
}

// Post queues t to run on the loop. Tasks run in the order they were
// posted, batched behind one gnet Execute (which alone is neither FIFO under
// load nor free of allocation).
func (l *loop) Post(t runtime.Task) error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return runtime.ErrLoopClosed
	}
	l.inbox = append(l.inbox, t)
	wake := !l.scheduled
	l.scheduled = true
	l.mu.Unlock()
	if wake {
		if err := l.el.Execute(context.Background(), l); err != nil {
			// The engine is stopping: gnet will not run the drain.
			l.mu.Lock()
			l.closed = true
			l.inbox = nil
			l.mu.Unlock()
			return runtime.ErrLoopClosed
		}
	}
	return nil
}

// closeInbox marks the loop stopped: gnet runs no more of its tasks, so
// Post must say so rather than queue work that never runs.
func (l *loop) closeInbox() {
	l.mu.Lock()
	l.closed = true
	l.inbox = nil
	l.mu.Unlock()
}

// lagNow returns the loop's lag (runtime.LagMonitor), 0 for a loop with no
// probe (a TestConn's, which runs tasks only inside Serve).
func (l *loop) lagNow() time.Duration {
	if l.lag == nil {
		return 0
	}
	return l.lag.Lag()
}

// lagHistogram returns the loop's lag histogram (empty without a probe).
func (l *loop) lagHistogram() runtime.LagHistogram {
	if l.lag == nil {
		return runtime.LagHistogram{}
	}
	return l.lag.Histogram()
}

// Running reports whether the caller runs on this loop.
func (l *loop) Running() bool { return l.owner.Running() }

// Run runs the tasks posted before gnet called it (it is the gnet.Runnable
// that Post schedules). Tasks posted meanwhile (a connection's next turn,
// a continuation) wait for the next batch, which Run schedules with one
// more Execute: a batch never grows while it runs.
func (l *loop) Run(context.Context) error {
	l.mu.Lock()
	batch := l.inbox
	l.inbox = l.spare[:0]
	l.mu.Unlock()
	for i, t := range batch {
		batch[i] = nil
		l.runTaskOnLoop(t)
	}
	l.spare = batch[:0]
	l.mu.Lock()
	if len(l.inbox) == 0 || l.closed {
		l.scheduled = false
		l.mu.Unlock()
		return nil
	}
	l.mu.Unlock()
	if err := l.el.Execute(context.Background(), l); err != nil {
		l.closeInbox()
	}
	return nil
}

func (l *loop) runTaskOnLoop(t runtime.Task) {
	l.obs.act.Enter(taskKind(t))
	defer func() {
		l.obs.act.Exit()
		if r := recover(); r != nil {
			l.log.Error("panic in a loop task", zap.Any("panic", r), zap.ByteString("stack", debug.Stack()))
		}
	}()
	t.Run()
}

// getCtx returns a reset Ctx for a request of cn.
func (l *loop) getCtx(cn *conn) *Ctx {
	var c *Ctx
	if n := len(l.freeCtx); n > 0 {
		c = l.freeCtx[n-1]
		l.freeCtx[n-1] = nil
		l.freeCtx = l.freeCtx[:n-1]
	} else {
		c = newCtx(l)
	}
	c.conn = cn
	return c
}

// putCtx resets c and keeps it for reuse.
func (l *loop) putCtx(c *Ctx) {
	c.reset()
	l.freeCtx = append(l.freeCtx, c)
}

// maxKeptOut bounds the gathering buffer a loop keeps between writes.
const maxKeptOut = 64 << 10

// readyOnLoop puts cn on the list of connections to serve in the loop's
// next serviceTask.
func (l *loop) readyOnLoop(cn *conn) {
	l.ready = append(l.ready, cn)
	if !l.serving {
		l.serving = true
		if l.Post((*serviceTask)(l)) != nil {
			l.serving = false
		}
	}
}

// serviceTask, drainCheck, sweeper, closeIdle and closeAll are tasks
// posted to a loop.
type (
	serviceTask loop
	drainCheck  loop
	sweeper     loop
	closeIdle   loop
	closeAll    loop
)

// Run serves each connection on the ready list once.
func (s *serviceTask) Run() {
	l := (*loop)(s)
	l.serving = false
	list := l.ready
	l.ready = l.readyB[:0]
	for i, cn := range list {
		list[i] = nil
		cn.queued = false
		if cn.serviceOnLoop() {
			cn.closeNowOnLoop()
		}
	}
	l.readyB = list[:0]
}

// Run marks every connection for a look at its timeouts.
func (s *sweeper) Run() {
	l := (*loop)(s)
	l.sweeps.Add(1)
	for _, cn := range l.conns {
		cn.markOnLoop(evTimers)
	}
}

// serverState is what the engine, the loops and Shutdown share.
type serverState struct {
	cfg     *config
	private string // gnet's private listener, when it is a TCP address
	// noLagProbe: the loops get no lag monitor (a TestConn's loop runs
	// its tasks only inside Serve, so a probe would age between calls and
	// read as lag).
	noLagProbe bool
	limits     http1.Limits
	ctx        context.Context // parent of every loop's (and request's) context
	cancel     context.CancelFunc

	draining atomic.Bool
	// registering counts connections handed to gnet whose registration
	// has not been confirmed yet (they count toward MaxConns).
	registering atomic.Int64
	lastReq     atomic.Int64  // while draining: when a request was last read, unix ns
	stopping    chan struct{} // closed when Shutdown begins (beginDrain)
	stopOnce    sync.Once
	conns       atomic.Int64
	now         atomic.Int64             // coarse clock, unix ns, updated by the ticker
	date        atomic.Pointer[dateLine] // "Date: ...\r\n", updated by the ticker
	loopsMu     sync.Mutex               // serializes additions to loops
	loops       atomic.Pointer[[]*loop]  // copy on write, in the order they appeared
	byGnet      sync.Map                 // gnet.EventLoop -> *loop
	lateWarned  sync.Map                 // route -> struct{}: routes warned of a late write (late.go)
	tickStop    chan struct{}
	tickDone    chan struct{}
	// drainW tells the loops of a Server on gnet that output drained
	// (drain.go); nil elsewhere, and if it could not be made.
	drainW *drainWatcher

	// health (observe.go, watchdog.go)
	watch                       *watchdog
	refusedMaxConns, refusedFDs atomic.Uint64
	stopped                     atomic.Bool // the loops have stopped (stopTicker)
}

type dateLine struct {
	sec  int64
	line []byte
}

// tick is how often the ticker refreshes the clock and the Date header and
// sweeps the loops for timeouts.
const tick = 250 * time.Millisecond

func newServerState(cfg *config) *serverState {
	st := &serverState{
		cfg: cfg,
		limits: http1.Limits{
			MaxRequestLine: cfg.maxRequestLine,
			MaxHeaderBytes: cfg.maxHeaderBytes,
			MaxHeaders:     cfg.maxHeaderCount,
		},
		tickStop: make(chan struct{}),
		tickDone: make(chan struct{}),
		stopping: make(chan struct{}),
	}
	st.ctx, st.cancel = context.WithCancel(context.Background())
	st.watch = newWatchdog(st, cfg.blockedThreshold, cfg.blockedQuiet)
	st.updateClock(time.Now())
	go st.runTicker()
	go st.watch.run()
	return st
}

func (st *serverState) updateClock(t time.Time) {
	st.now.Store(t.UnixNano())
	sec := t.Unix()
	if d := st.date.Load(); d != nil && d.sec == sec {
		return
	}
	line := make([]byte, 0, 40)
	line = append(line, "Date: "...)
	line = t.UTC().AppendFormat(line, "Mon, 02 Jan 2006 15:04:05 GMT")
	line = append(line, "\r\n"...)
	st.date.Store(&dateLine{sec: sec, line: line})
}

func (st *serverState) runTicker() {
	defer close(st.tickDone)
	t := time.NewTicker(st.cfg.tick)
	defer t.Stop()
	for {
		select {
		case <-st.tickStop:
			return
		case now := <-t.C:
			st.updateClock(now)
			st.forEachLoop(func(l *loop) { _ = l.Post((*sweeper)(l)) })
		}
	}
}

// stopTicker stops the ticker goroutine and waits for it.
func (st *serverState) stopTicker() {
	select {
	case <-st.tickStop:
	default:
		close(st.tickStop)
	}
	<-st.tickDone
	if st.drainW != nil {
		st.drainW.stop()
	}
	if st.watch != nil {
		st.watch.stopAndWait()
	}
	st.forEachLoop(func(l *loop) {
		if l.lag != nil {
			l.lag.Stop()
		}
		l.closeInbox()
	})
	st.stopped.Store(true)
	st.cancel()
}

// beginDrain marks the server draining: no new connections or requests.
func (st *serverState) beginDrain() {
	st.lastReq.Store(time.Now().UnixNano())
	st.draining.Store(true)
	st.stopOnce.Do(func() { close(st.stopping) })
}

// loopFor returns weft's loop for gnet's loop el, making it on first use.
// It runs on el's goroutine (from OnOpen), which thereby claims the loop.
func (st *serverState) loopFor(el gnet.EventLoop) *loop {
	if l, ok := st.byGnet.Load(el); ok {
		return l.(*loop)
	}
	st.loopsMu.Lock()
	var loops []*loop
	if p := st.loops.Load(); p != nil {
		loops = *p
	}
	l := newLoop(st, el, len(loops))
	l.owner.Claim()
	loops = append(loops[:len(loops):len(loops)], l)
	st.loops.Store(&loops)
	st.loopsMu.Unlock()
	st.byGnet.Store(el, l)
	return l
}

func (st *serverState) forEachLoop(fn func(*loop)) {
	if p := st.loops.Load(); p != nil {
		for _, l := range *p {
			fn(l)
		}
	}
}

// pickLoop returns the loop to give a new connection: the one with the
// fewest connections (open or being handed over), among those not lagging
// (a blocked loop would make its new clients wait); any, if all lag.
func (st *serverState) pickLoop() *loop {
	p := st.loops.Load()
	if p == nil {
		return nil
	}
	var best *loop
	var bestN int64
	bestLagging := true
	for _, l := range *p {
		n := l.open.Load() + l.enrolling.Load()
		lagging := l.lagNow() > lagSkip
		if best == nil || (bestLagging && !lagging) || (lagging == bestLagging && n < bestN) {
			best, bestN, bestLagging = l, n, lagging
		}
	}
	return best
}

// lagSkip is the lag past which a loop gets no new connections while
// another loop is responsive.
const lagSkip = 100 * time.Millisecond

// inflight sums the loops' in-flight counts without locks.
func (st *serverState) inflight() int64 {
	var n int64
	if p := st.loops.Load(); p != nil {
		for _, l := range *p {
			n += l.inflight.Load()
		}
	}
	return n
}

// drainGrace is how long a draining server keeps idle keep-alive
// connections open after the last request it read: a client that sends its
// next request meanwhile gets an answer that closes the connection, rather
// than a reset it must guess about.
const drainGrace = 100 * time.Millisecond

// waitIdle waits until no request is in flight and none has arrived for
// drainGrace, closes the idle connections, and returns; or returns ctx's
// error.
func (st *serverState) waitIdle(ctx context.Context) error {
	t := time.NewTicker(5 * time.Millisecond)
	defer t.Stop()
	for st.inflight() > 0 || time.Since(time.Unix(0, st.lastReq.Load())) < drainGrace {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
	st.forEachLoop(func(l *loop) { _ = l.Post((*closeIdle)(l)) })
	return nil
}

// waitConns waits until every connection is closed (each closes once its
// last answer is sent), or ctx ends.
func (st *serverState) waitConns(ctx context.Context) error {
	t := time.NewTicker(5 * time.Millisecond)
	defer t.Stop()
	for st.conns.Load() > 0 {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
	return nil
}

// cancelAll cancels every request's context.
func (st *serverState) cancelAll() { st.cancel() }

// Run serves or closes each connection for a graceful drain.
func (s *closeIdle) Run() {
	l := (*loop)(s)
	for i := 0; i < len(l.conns); i++ {
		if l.conns[i].drainOnLoop() {
			i-- // closing removed it, swapping the last one in
		}
	}
}

// Run closes every connection.
func (s *closeAll) Run() {
	l := (*loop)(s)
	for len(l.conns) > 0 {
		l.conns[len(l.conns)-1].closeNowOnLoop()
	}
}

// endEventStreams is the task that cancels the contexts of the loop's
// Server-Sent Events responses when the server starts draining.
type endEventStreams loop

// Run cancels every SSE stream's request context.
func (e *endEventStreams) Run() {
	l := (*loop)(e)
	for _, cn := range l.conns {
		for _, c := range cn.queue {
			if s := c.stream; s != nil && s.events && c.cancel != nil {
				c.cancel()
			}
		}
	}
}
