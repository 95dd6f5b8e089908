package runtime

import (
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// LagConfig configures a LagMonitor.
type LagConfig struct {
	// Interval is how often a probe is posted. Default 10 ms, the
	// resolution of Node's monitorEventLoopDelay.
	Interval time.Duration
	// BlockedAfter is how long a probe may wait before the loop counts
	// as blocked and OnBlocked is called. Default 1 s.
	BlockedAfter time.Duration
	// OnBlocked, if set, is called on the monitor's goroutine once per
	// blocked episode, with how long the probe has waited so far.
	OnBlocked func(waited time.Duration)
	// IdleEvery is how many intervals apart an idle loop (see
	// LagMonitor) is probed. Default 10; 1 probes idle loops like busy
	// ones.
	IdleEvery int
}

// An ActivityLoop is a Loop that shows its Activity, so that a LagMonitor
// can tell an idle loop. Activity must be safe for concurrent use.
type ActivityLoop interface {
	Loop
	Activity() *Activity
}

// LagMonitor measures how late a loop runs its tasks, as Node's
// monitorEventLoopDelay does: every Interval it posts a probe to the loop and
// records the delay between posting and running. A loop that is busy or
// blocked answers late; an idle one at once.
//
// A loop that reports its Activity (an ActivityLoop: net's loops do) and has
// run no callback since the last probe, and is not in one, is idle: it is
// probed every IdleEvery intervals only (every 100 ms by default), since each
// probe wakes it from its poller, the main cost of an idle server. A loop
// that runs anything is probed every Interval again from the next tick.
//
// Lag, Max and Stop are safe for concurrent use. Lag costs two atomic loads
// and, while a probe is pending, a clock read: cheap enough for load
// shedding on every request.
type LagMonitor struct {
	loop     Loop
	cfg      LagConfig
	pending  atomic.Int64  // when the probe in flight was posted (monotonic ns); 0: none
	act      *Activity     // the loop's, if it shows it
	ranTurn  atomic.Uint64 // the loop's callback turn when the last probe ran
	last     atomic.Int64  // lag of the last probe to run, ns
	max      atomic.Int64  // largest lag since the last ResetMax, ns
	hist     lagHistogram  // every probe's lag
	window   lagWindow     // loop-only: the last probes' lags, for RecentLag
	p99      atomic.Int64  // their 99th percentile, ns
	stop     chan struct{}
	stopOnce sync.Once
	done     chan struct{}
	reported bool // monitor goroutine only: OnBlocked called for this episode
}

type lagProbe LagMonitor

// Run runs on the loop.
func (p *lagProbe) Run() {
	m := (*LagMonitor)(p)
	if posted := m.pending.Swap(0); posted != 0 {
		m.record(monoNow() - posted)
	}
	if m.act != nil {
		m.ranTurn.Store(m.act.Sample().Turn)
	}
}

// NewLagMonitor starts monitoring l. Stop it when the loop stops.
func NewLagMonitor(l Loop, cfg LagConfig) *LagMonitor {
	if cfg.Interval <= 0 {
		cfg.Interval = 10 * time.Millisecond
	}
	if cfg.BlockedAfter <= 0 {
		cfg.BlockedAfter = time.Second
	}
	if cfg.IdleEvery <= 0 {
		cfg.IdleEvery = 10
	}
	m := &LagMonitor{loop: l, cfg: cfg, stop: make(chan struct{}), done: make(chan struct{})}
	if al, ok := l.(ActivityLoop); ok {
		m.act = al.Activity()
	}
	go m.run()
	return m
}

func (m *LagMonitor) run() {
	defer close(m.done)
	t := time.NewTicker(m.cfg.Interval)
	defer t.Stop()
	skipped := 0 // ticks without a probe to an idle loop
	for {
		select {
		case <-m.stop:
			return
		case <-t.C:
		}
		if posted := m.pending.Load(); posted != 0 {
			// The last probe has not run yet: no pile-up, but watch
			// for a blocked loop.
			waited := time.Duration(monoNow() - posted)
			if waited >= m.cfg.BlockedAfter && !m.reported && m.cfg.OnBlocked != nil {
				m.reported = true
				m.cfg.OnBlocked(waited)
			}
			continue
		}
		m.reported = false
		if m.act != nil && skipped+1 < m.cfg.IdleEvery {
			if a := m.act.Sample(); !a.Busy && a.Turn == m.ranTurn.Load() {
				skipped++ // idle since the last probe: let it sleep
				continue
			}
		}
		skipped = 0
		m.pending.Store(monoNow())
		if m.loop.Post((*lagProbe)(m)) != nil {
			m.pending.Store(0)
			return
		}
	}
}

func (m *LagMonitor) record(lag int64) {
	m.last.Store(lag)
	m.hist.observe(lag)
	m.p99.Store(m.window.add(lag))
	for {
		cur := m.max.Load()
		if lag <= cur || m.max.CompareAndSwap(cur, lag) {
			return
		}
	}
}

// Lag returns the loop's current lag: the delay of the last probe, or, if a
// probe is still waiting longer than that, how long it has waited, so that a
// blocked loop shows at once rather than when it recovers.
func (m *LagMonitor) Lag() time.Duration {
	lag := m.last.Load()
	if posted := m.pending.Load(); posted != 0 {
		lag = max(lag, monoNow()-posted)
	}
	return time.Duration(lag)
}

// RecentLag returns the 99th percentile of the lags of the last
// LagWindow probes (the last second at the default 10 ms interval), or, if
// a probe is still waiting longer than that, how long it has waited: a
// blocked loop shows at once, and a single slow callback once it has run
// does not, two do (before LagWindow probes have run, the missing ones
// count as lags of 0). Each probe updates the percentile when it runs;
// RecentLag costs two atomic loads and, while a probe is
// pending, a clock read: cheap enough for load shedding on every request.
// Safe for concurrent use.
func (m *LagMonitor) RecentLag() time.Duration {
	lag := m.p99.Load()
	if posted := m.pending.Load(); posted != 0 {
		lag = max(lag, monoNow()-posted)
	}
	return time.Duration(lag)
}

// LagWindow is how many of the last probes RecentLag's percentile covers.
const LagWindow = lagWindowLen

const lagWindowLen = 100

// lagWindow keeps the last lagWindowLen probe lags, in arrival order and
// sorted, so that each probe updates the percentile with a binary search
// and a short copy (tens of ns, on the loop, every 10 ms). Loop-only: the
// probe task writes it.
type lagWindow struct {
	ring   [lagWindowLen]int64
	buf    [lagWindowLen]int64
	sorted []int64 // buf[:min(n, lagWindowLen)], ascending
	n      uint64  // probes recorded
}

// add records lag and returns the 99th percentile (nearest rank) of the
// window. A window not yet full counts its empty slots as lags of 0 (the
// loop before the monitor started), so that a single slow probe never
// counts, however few probes there are, and two do: otherwise one slow
// callback soon after the start would be the percentile until 100 probes
// have run, 10 s on a loop idle enough to be probed every IdleEvery
// intervals.
func (w *lagWindow) add(lag int64) int64 {
	if w.sorted == nil {
		w.sorted = w.buf[:0]
	}
	slot := &w.ring[w.n%lagWindowLen]
	if w.n >= lagWindowLen {
		i, _ := slices.BinarySearch(w.sorted, *slot)
		w.sorted = slices.Delete(w.sorted, i, i+1)
	}
	*slot = lag
	w.n++
	i, _ := slices.BinarySearch(w.sorted, lag)
	w.sorted = slices.Insert(w.sorted, i, lag)
	// Rank 99 of lagWindowLen, the lagWindowLen-k empty slots first.
	i = (99*lagWindowLen+99)/100 - 1 - (lagWindowLen - len(w.sorted))
	if i < 0 {
		return 0
	}
	return w.sorted[i]
}

// Max returns the largest lag recorded since the last ResetMax (or since
// the start) and resets it when reset is true.
func (m *LagMonitor) Max(reset bool) time.Duration {
	if reset {
		return time.Duration(m.max.Swap(0))
	}
	return time.Duration(m.max.Load())
}

// Stop stops the monitor and waits for its goroutine.
func (m *LagMonitor) Stop() {
	m.stopOnce.Do(func() { close(m.stop) })
	<-m.done
}

// monoNow is a monotonic clock in nanoseconds.
func monoNow() int64 { return int64(time.Since(monoEpoch)) }

var monoEpoch = time.Now()

// lagBounds are the upper bounds of the buckets of a LagMonitor's histogram,
// from 100 µs (an idle loop answers a probe in a few µs) to 10 s.
var lagBounds = [...]time.Duration{
	100 * time.Microsecond, 250 * time.Microsecond, 500 * time.Microsecond,
	time.Millisecond, 2500 * time.Microsecond, 5 * time.Millisecond,
	10 * time.Millisecond, 25 * time.Millisecond, 50 * time.Millisecond,
	100 * time.Millisecond, 250 * time.Millisecond, 500 * time.Millisecond,
	time.Second, 2500 * time.Millisecond, 5 * time.Second, 10 * time.Second,
}

// LagBuckets returns the upper bounds of the buckets of LagMonitor's
// histogram, smallest first (a new slice each call). A last, unbounded
// bucket (+Inf) follows them.
func LagBuckets() []time.Duration { return slices.Clone(lagBounds[:]) }

// LagHistogram is a snapshot of the lags a LagMonitor's probes measured since
// it started. Counts[i] is how many probes had a lag of at most
// LagBuckets()[i] and more than the bound before it; the last count is the
// probes over the largest bound. Counts are not cumulative.
type LagHistogram struct {
	Counts [len(lagBounds) + 1]uint64
	Count  uint64        // probes measured
	Sum    time.Duration // their lags added up
}

// lagHistogram counts probe lags; the probe task (on the loop) writes it,
// readers snapshot it with atomic loads.
type lagHistogram struct {
	counts [len(lagBounds) + 1]atomic.Uint64
	sum    atomic.Int64
}

func (h *lagHistogram) observe(lag int64) {
	i, _ := slices.BinarySearch(lagBounds[:], time.Duration(lag))
	h.counts[i].Add(1)
	h.sum.Add(lag)
}

// Histogram returns the distribution of the lags measured so far. A probe
// is counted when it runs, so a loop blocked for 2 s adds one observation
// of about 2 s when it recovers (Lag shows it while it lasts). The counts
// are read one by one while probes may be recorded: Count may run one
// probe ahead of, or behind, Sum. Safe for concurrent use.
func (m *LagMonitor) Histogram() LagHistogram {
	var h LagHistogram
	for i := range m.hist.counts {
		h.Counts[i] = m.hist.counts[i].Load()
		h.Count += h.Counts[i]
	}
	h.Sum = time.Duration(m.hist.sum.Load())
	return h
}
