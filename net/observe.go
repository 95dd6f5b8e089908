package net

import (
	"context"
	"math"
	stdnet "net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/weftgo/weft/runtime"
)

// This file holds what the server shows of itself: the counters Stats
// reads, what the blocked-loop watchdog (watchdog.go) may read of a request
// while its loop is stuck in it, and the log lines for requests refused
// before any handler. Recording costs the loop a few atomic operations and
// no allocation: the counters live per loop and are added up when read.

// The kinds of loop callbacks, for runtime.Activity.
const (
	kindTraffic uint8 = iota + 1 // OnTraffic: parsing, handlers, writing
	kindTask                     // a posted task: continuations, resumes
	kindTimer                    // the sweep: timeouts
	kindConn                     // OnOpen, OnClose
)

// Activity returns the loop's callback marks, which its LagMonitor reads to
// tell an idle loop (runtime.ActivityLoop). Safe for concurrent use.
func (l *loop) Activity() *runtime.Activity { return &l.obs.act }

// taskKind tells the sweep (a timer) from other tasks (continuations).
func taskKind(t runtime.Task) uint8 {
	if _, ok := t.(*sweeper); ok {
		return kindTimer
	}
	return kindTask
}

// loopObs is a loop's share of the server's health figures. The loop writes
// act, running and the refusal counts; the watchdog writes the samples and
// blocked; Stats reads them all with atomic loads.
type loopObs struct {
	act     runtime.Activity
	running atomic.Pointer[Ctx] // the request whose handler is running now

	samples, busySamples atomic.Uint64 // watchdog samples, and those that found the loop busy
	blocked              atomic.Uint64 // blocked episodes reported
	util                 atomic.Uint64 // float64 bits: utilization over the last window of samples
	refused              [len(refusedStatuses)]atomic.Uint64
}

// refusedStatuses are the statuses the server answers a request with before
// any handler runs: a malformed or oversized request (400, 413, 414, 417,
// 431, 501, 505), one that took too long to arrive (408), a panic in
// Server.BodyLimit (500).
var refusedStatuses = [...]int{400, 408, 413, 414, 417, 431, 500, 501, 505}

// RefusedStatuses returns the statuses counted in ServerStats.RequestsRefused,
// in its order.
func RefusedStatuses() []int { return append([]int(nil), refusedStatuses[:]...) }

func refusedIndex(status int) int {
	for i, s := range refusedStatuses {
		if s == status {
			return i
		}
	}
	return 0 // not expected: counted as a 400
}

// errRequestTimeout is logged for a request that took too long to arrive.
var errRequestTimeout = &Error{Status: StatusRequestTimeout, Message: "request head or body not received in time"}

// refusedOnLoop counts a request the server answered itself with status
// before any handler ran, and logs it at debug level: enable debug on
// Server.Logger to see each one.
func (l *loop) refusedOnLoop(status int, err error, remote stdnet.Addr) {
	l.obs.refused[refusedIndex(status)].Add(1)
	if ce := l.log.Check(zap.DebugLevel, "request refused before any handler"); ce != nil {
		ce.Write(zap.Int("status", status), zap.Error(err), zap.Int("loop", l.id), zap.Stringer("remote", addrString{remote}))
	}
}

// addrString prints a possibly nil address.
type addrString struct{ a stdnet.Addr }

func (a addrString) String() string {
	if a.a == nil {
		return ""
	}
	return a.a.String()
}

// refusedConn counts a connection refused at MaxConns (503) or for want of
// descriptors, and logs it at debug level. It runs on the accept goroutine.
func (st *serverState) refusedConn(maxConns bool, err error, remote stdnet.Addr) {
	reason := "descriptors"
	if maxConns {
		reason = "max_conns"
		st.refusedMaxConns.Add(1)
	} else {
		st.refusedFDs.Add(1)
	}
	if ce := st.cfg.log.Check(zap.DebugLevel, "connection refused"); ce != nil {
		ce.Write(zap.String("reason", reason), zap.Error(err), zap.Stringer("remote", addrString{remote}))
	}
}

// shown is what the watchdog may read of a request while its loop is stuck
// in it: the route pattern and the request id. The loop writes it (rarely:
// when a router sets the route, when middleware sets the id, when the Ctx
// is reset), the watchdog reads it; the two flags make a Dekker handshake,
// so that the loop's write costs two atomic stores and a load, and takes
// the mutex only while a reader is in.
//
// A reader that finds the loop writing gives up: the loop is then not stuck.
// The id may be a view of the request's bytes: those are rewritten only after
// the Ctx is reset, and the reset is a write that waits for any reader.
type shown struct {
	route, id string // written by setOnLoop, read by read
	writing   atomic.Bool
	reading   atomic.Bool
	mu        sync.Mutex // held by a reader
	set       bool       // loop-only: route or id is not empty
}

func (s *shown) setOnLoop(route, id string) {
	s.writing.Store(true)
	if s.reading.Load() {
		s.mu.Lock()
		s.route, s.id = route, id
		s.mu.Unlock()
	} else {
		s.route, s.id = route, id
	}
	s.writing.Store(false)
	s.set = route != "" || id != ""
}

// clearOnLoop empties s before its Ctx is reused.
func (s *shown) clearOnLoop() {
	if s.set {
		s.setOnLoop("", "")
	}
}

// read returns copies of the route and id, or ok false if the loop is
// writing them. Safe for concurrent use.
func (s *shown) read() (route, id string, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reading.Store(true)
	if !s.writing.Load() {
		route, id, ok = strings.Clone(s.route), strings.Clone(s.id), true
	}
	s.reading.Store(false)
	return route, id, ok
}

// SetRequestID records on c the request's id, which c.RequestID returns;
// middleware.RequestID calls it, handlers never need to. The server's own
// log lines about the request (a panic, a blocked loop) carry it. The
// string may be a view of the request's bytes. Loop-only.
func SetRequestID(c *Ctx, id string) {
	c.requestID = id
	c.shown.setOnLoop(c.route, id)
}

// RequestID returns the id set with SetRequestID, or "". Loop-only.
func (c *Ctx) RequestID() string { return c.requestID }

// LoopID returns the index of the request's loop, 0 to Server.Loops-1, as
// the server's log lines and ServerStats name it: per-loop state (metrics
// shards) can be kept in a slice indexed by it. Safe for concurrent use.
func (c *Ctx) LoopID() int { return c.l.id }

// LoopLagP99 returns the 99th percentile of the request's loop's lag over
// the last second (runtime.LagMonitor.RecentLag: the last 100 probes, one
// every 10 ms), or the wait of a probe still pending if that is longer, so
// that a loop blocked now shows at once; 0 under TestConn, whose loop runs
// only inside Serve. LoadShed's MaxLoopLag reads it. Two atomic loads.
// Safe for concurrent use.
func (c *Ctx) LoopLagP99() time.Duration { return c.l.lagP99() }

// lagP99 is the loop's recent lag percentile (0 without a probe).
func (l *loop) lagP99() time.Duration {
	if l.lag == nil {
		return 0
	}
	return l.lag.RecentLag()
}

// LoopUtilization returns the share of the last second or so that the
// request's loop spent running callbacks (0 to 1; 0 in the first second),
// from the watchdog's samples: Node's event loop utilization, for load
// shedding. One atomic load. Safe for concurrent use.
func (c *Ctx) LoopUtilization() float64 { return math.Float64frombits(c.l.obs.util.Load()) }

// Queued marks work kept for the request as waiting in a queue (an offload
// job), for Timings: runtime.KeepQueued calls it, right after Keep. It
// makes the tracker a runtime.QueueTracker. Loop-only.
func (t *tracker) Queued(runtime.Work) { t.timing.queuedOnLoop() }

// Dequeued records that a queued job left its queue after waiting queued:
// the wait counts as OffloadQueued from now on, and the job as running.
// Safe for concurrent use.
func (t *tracker) Dequeued(_ runtime.Work, queued time.Duration) { t.timing.dequeuedOffLoop(queued) }

// SetContext replaces the request's context, what c.Context returns and
// what runtime.Blocking and offload jobs started for the request get, with
// ctx. ctx must derive from c.Context(), so that it is cancelled with the
// request: middleware uses it to carry values (a trace span) into off-loop
// work. Handlers never need it. Loop-only.
func SetContext(c *Ctx, ctx context.Context) {
	c.Context() // the request's own context (and its cancel) exist first
	c.reqCtx = ctx
}

// Logged wraps err, which middleware has already logged (Recover logs a
// panic with its stack), so that the server answers it as usual (its
// ErrorHandler, the status StatusOf gives) without logging it a second time.
func Logged(err error) error {
	if err == nil {
		return nil
	}
	return &loggedError{err}
}

type loggedError struct{ err error }

func (e *loggedError) Error() string { return e.err.Error() }
func (e *loggedError) Unwrap() error { return e.err }

// ServerStats is a snapshot of a server's health, for metrics and health
// checks. Server.Stats fills it.
type ServerStats struct {
	// Conns is the number of open connections.
	Conns int64
	// RefusedMaxConns counts connections answered 503 and closed because
	// MaxConns were open; RefusedDescriptors, connections the server
	// could not take for want of file descriptors (EMFILE, ENFILE: each
	// failed accept counts once; the client waits in the kernel's queue).
	RefusedMaxConns, RefusedDescriptors uint64
	// RequestsRefused counts the requests answered before any handler
	// ran, by status, one entry per status of RefusedStatuses, in order.
	RequestsRefused []StatusCount
	// Loops has one entry per loop, by LoopID.
	Loops []LoopStats
}

// StatusCount is a count of responses with one status.
type StatusCount struct {
	Status int
	Count  uint64
}

// LoopStats is one loop's share of ServerStats.
type LoopStats struct {
	ID int
	// Conns is the number of the loop's open connections; InFlight, its
	// requests read and not yet answered.
	Conns, InFlight int64
	// Lag is the distribution of the loop's lag, probed every 10 ms
	// (runtime.LagMonitor); LagNow is the current lag (LagMonitor.Lag),
	// LagP99 the 99th percentile of the last second's probes, or the
	// current wait if longer (LagMonitor.RecentLag, Ctx.LoopLagP99).
	Lag            runtime.LagHistogram
	LagNow, LagP99 time.Duration
	// Samples counts the watchdog's looks at the loop (one every few ms),
	// BusySamples those that found it running a callback: their ratio
	// over an interval is the loop's utilization.
	Samples, BusySamples uint64
	// Utilization is the share of busy samples over the last window of
	// them (about a second): Ctx.LoopUtilization.
	Utilization float64
	// Blocked counts the blocked-loop episodes reported (see
	// Server.BlockedLoopThreshold).
	Blocked uint64
}

// Stats fills into with the server's current figures, reusing its slices.
// Before Start, and after the server stopped, into describes no loop (the
// counts of refusals stay, as the last figures of a stopped server). Safe
// for concurrent use; it takes no lock the loops take.
func (s *Server) Stats(into *ServerStats) {
	into.Loops = into.Loops[:0]
	into.RequestsRefused = into.RequestsRefused[:0]
	var refused [len(refusedStatuses)]uint64
	st := s.state.Load()
	if st != nil {
		into.Conns = st.conns.Load()
		into.RefusedMaxConns = st.refusedMaxConns.Load()
		into.RefusedDescriptors = st.refusedFDs.Load()
		stopped := st.stopped.Load()
		st.forEachLoop(func(l *loop) {
			for i := range refused {
				refused[i] += l.obs.refused[i].Load()
			}
			if stopped {
				return // the counts stay; the loops are gone
			}
			into.Loops = append(into.Loops, LoopStats{
				ID:          l.id,
				Conns:       l.open.Load(),
				InFlight:    l.inflight.Load(),
				Lag:         l.lagHistogram(),
				LagNow:      l.lagNow(),
				LagP99:      l.lagP99(),
				Samples:     l.obs.samples.Load(),
				BusySamples: l.obs.busySamples.Load(),
				Utilization: math.Float64frombits(l.obs.util.Load()),
				Blocked:     l.obs.blocked.Load(),
			})
		})
	} else {
		into.Conns, into.RefusedMaxConns, into.RefusedDescriptors = 0, 0, 0
	}
	for i, status := range refusedStatuses {
		into.RequestsRefused = append(into.RequestsRefused, StatusCount{status, refused[i]})
	}
}
