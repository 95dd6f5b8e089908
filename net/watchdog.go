package net

import (
	"bytes"
	"math"
	"os"
	"strconv"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
)

// The watchdog is one goroutine per server, off the loops. Every interval it
// samples each loop's runtime.Activity: the samples give the loops'
// utilization, and a loop seen in the same callback for longer than
// BlockedLoopThreshold is reported as blocked, once per episode, while it is
// still blocked, with what it runs and the loop goroutine's stack; a second
// line says when the episode ends. The loops pay for none of this but the
// two atomic stores per callback that Activity costs: no clock read.
//
// The first sample that finds a callback running starts its clock, so an
// episode is reported between BlockedLoopThreshold and one interval more
// after the callback began, and its duration is known to within an interval.

const (
	// defaultBlockedThreshold is BlockedLoopThreshold's default.
	defaultBlockedThreshold = 100 * time.Millisecond
	// maxWatchInterval is the longest time between two samples of a loop.
	maxWatchInterval = 10 * time.Millisecond
	// defaultStartupQuiet is how long after Start nothing is reported:
	// first requests may warm caches and connection pools on the loop.
	defaultStartupQuiet = time.Second
)

type watchdog struct {
	st        *serverState
	threshold time.Duration // 0: report nothing (sample only)
	interval  time.Duration
	started   time.Time    // when the watchdog was made (monotonic)
	quietFor  atomic.Int64 // ns after started: the start-up quiet time
	tracer    func() bool  // reports whether a debugger is attached
	stop      chan struct{}
	done      chan struct{}
	loops     []watched // watchdog goroutine only, by loop id
}

// watched is the watchdog's memory of one loop.
type watched struct {
	turn     uint64    // the callback seen running
	since    time.Time // when it was first seen running; zero: none
	reported bool      // an episode was reported for this callback
	quiet    bool      // an episode was found while a debugger was attached: not reported

	window, windowBusy int // samples of the current utilization window
}

// utilWindow is how many samples make one utilization figure (Ctx.
// LoopUtilization): about a second at the default interval.
const utilWindow = 100

func newWatchdog(st *serverState, threshold, quiet time.Duration) *watchdog {
	interval := maxWatchInterval
	if threshold > 0 {
		interval = min(max(threshold/10, time.Millisecond), maxWatchInterval)
	}
	w := &watchdog{
		st:        st,
		threshold: threshold,
		interval:  interval,
		tracer:    tracerAttached,
		stop:      make(chan struct{}),
		done:      make(chan struct{}),
	}
	w.started = time.Now()
	w.quietFor.Store(int64(quiet))
	return w
}

func (w *watchdog) run() {
	defer close(w.done)
	t := time.NewTicker(w.interval)
	defer t.Stop()
	for {
		select {
		case <-w.stop:
			return
		case now := <-t.C:
			w.st.forEachLoop(func(l *loop) { w.lookOnce(l, now) })
		}
	}
}

// stopAndWait stops the watchdog and waits for it.
func (w *watchdog) stopAndWait() {
	select {
	case <-w.stop:
	default:
		close(w.stop)
	}
	<-w.done
}

// lookOnce samples loop l.
func (w *watchdog) lookOnce(l *loop, now time.Time) {
	for len(w.loops) <= l.id {
		w.loops = append(w.loops, watched{})
	}
	s := &w.loops[l.id]
	a := l.obs.act.Sample()
	l.obs.samples.Add(1)
	s.window++
	if a.Busy {
		l.obs.busySamples.Add(1)
		s.windowBusy++
	}
	if s.window == utilWindow {
		l.obs.util.Store(math.Float64bits(float64(s.windowBusy) / utilWindow))
		s.window, s.windowBusy = 0, 0
	}
	if a.Busy && a.Turn == s.turn && !s.since.IsZero() {
		// Time spent blocked during the start-up quiet time does not
		// count: a callback still running a threshold after it is stuck,
		// not warming up.
		from := s.since
		if quietEnd := w.started.Add(time.Duration(w.quietFor.Load())); from.Before(quietEnd) {
			from = quietEnd
		}
		if w.threshold > 0 && !s.reported && !s.quiet && now.Sub(from) >= w.threshold {
			if w.tracer() {
				// Stopped at a breakpoint, most likely: this episode
				// is the debugger's, even after it detaches.
				s.quiet = true
				return
			}
			s.reported = true
			l.obs.blocked.Add(1)
			w.reportBlocked(l, a.Kind, a.Turn, now.Sub(s.since))
		}
		return
	}
	if s.reported {
		l.log.Warn("event loop unblocked", zap.Int("loop", l.id), zap.Duration("blocked for", now.Sub(s.since)))
	}
	s.turn, s.since, s.reported, s.quiet = 0, time.Time{}, false, false
	if a.Busy {
		s.turn, s.since = a.Turn, now
	}
}

// reportBlocked logs that loop l has run one callback of kind for d so far.
func (w *watchdog) reportBlocked(l *loop, kind uint8, turn uint64, d time.Duration) {
	what, route, id := "connection", "", ""
	switch kind {
	case kindTask:
		what = "continuation"
	case kindTimer:
		what = "timer"
	}
	// A handler runs from OnTraffic, and from a service task too (the
	// request after a pending one, a connection's next turn): whatever
	// the callback, a handler running in it is what blocks.
	if c := l.obs.running.Load(); c != nil {
		if r, i, ok := c.shown.read(); ok && l.obs.running.Load() == c {
			what, route, id = "request", r, i
		}
	}
	stack := l.owner.Stack()
	if now := l.obs.act.Sample(); !now.Busy || now.Turn != turn {
		// It ended while we looked: the stack shows something else.
		stack = nil
	}
	fields := []zap.Field{
		zap.Int("loop", l.id),
		zap.String("running", what),
	}
	if route != "" {
		fields = append(fields, zap.String("route", route))
	}
	if id != "" {
		fields = append(fields, zap.String("request_id", id))
	}
	fields = append(fields,
		zap.Duration("for", d),
		zap.Duration("threshold", w.threshold),
		zap.ByteString("stack", stack),
	)
	l.log.Warn("event loop blocked: a handler or continuation is not returning", fields...)
}

// tracerAttached reports whether a debugger (or any ptrace tracer: strace,
// delve) is attached to the process, from the TracerPid line of
// /proc/self/status (Linux). A process stopped at a breakpoint looks like a
// blocked loop; the watchdog keeps quiet then.
func tracerAttached() bool {
	b, err := os.ReadFile("/proc/self/status")
	return err == nil && tracerPid(b) != 0
}

// tracerPid returns the TracerPid of a /proc/<pid>/status file, 0 if none
// or unreadable.
func tracerPid(status []byte) int {
	_, rest, ok := bytes.Cut(status, []byte("\nTracerPid:"))
	if !ok {
		return 0
	}
	line, _, _ := bytes.Cut(rest, []byte("\n"))
	pid, err := strconv.Atoi(string(bytes.TrimSpace(line)))
	if err != nil {
		return 0
	}
	return pid
}
