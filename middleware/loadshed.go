package middleware

import (
	"fmt"
	"os"
	"runtime/metrics"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/weftgo/weft/net"
	"github.com/weftgo/weft/offload"
)

// LoadShedConfig configures LoadShed. The zero value is ready to use: it
// sheds on loop lag alone, with the defaults below.
type LoadShedConfig struct {
	// MaxLoopLag sheds requests while the 99th percentile of the
	// request's loop's lag over the last second is above it
	// (Ctx.LoopLagP99: the last 100 probes of runtime.LagMonitor, one
	// every 10 ms, or the wait of a probe still pending if longer, so
	// that a loop blocked now sheds at once). One slow callback in a
	// second does not shed; two do. Default 200 ms; negative: never on
	// lag. An idle or healthy loop shows well under a millisecond.
	MaxLoopLag time.Duration

	// MaxUtilization sheds requests while the request's loop spent more
	// than this share (0 to 1) of the last second running callbacks
	// (Ctx.LoopUtilization: Node's event loop utilization, as
	// under-pressure's maxEventLoopUtilization). Default 0: off.
	MaxUtilization float64

	// MaxHeapBytes sheds requests while the Go heap's objects take more
	// than this many bytes (runtime/metrics
	// /memory/classes/heap/objects:bytes), MaxRSSBytes while the
	// process's resident set is larger (Linux: /proc/self/statm), as
	// under-pressure's maxHeapUsedBytes and maxRssBytes. Both are sampled
	// at most once per SampleInterval (default 1 s), by the request that
	// finds the sample stale, on its loop (a few µs). Default 0: off.
	MaxHeapBytes, MaxRSSBytes uint64
	SampleInterval            time.Duration

	// Pool and MaxQueue shed requests while more than MaxQueue jobs wait
	// for one of Pool's workers: the whole service backs off before the
	// pool itself starts refusing jobs. MaxQueue defaults to 32 per
	// worker (half the pool's own default queue); it is ignored without
	// a Pool.
	Pool     *offload.Pool
	MaxQueue int

	// InFlight and MaxInFlight shed requests while InFlight() (requests
	// read and not yet answered, across the server) is above
	// MaxInFlight. Pass the server's method value: InFlight: srv.InFlight.
	// InFlight is called once per request from every loop, so it must be
	// cheap and safe for concurrent use. MaxInFlight is required with
	// InFlight.
	InFlight    func() int
	MaxInFlight int

	// Exempt lists request paths (exact, as sent: Ctx.Path) that are
	// never shed: health and readiness checks, which must answer while
	// the service sheds so that the orchestrator sees it is alive.
	Exempt []string
	// ExemptFunc, if set, also exempts the requests for which it returns
	// true. It runs on the loop and must be safe for concurrent use.
	ExemptFunc func(c *net.Ctx) bool

	// RetryAfter is the Retry-After of a shed request. Default 10 s (as
	// Fastify's under-pressure); it is rounded up to whole seconds.
	RetryAfter time.Duration

	// Handler, if set, answers a shed request (Retry-After already set)
	// instead of the 503 text, as under-pressure's pressureHandler. It
	// runs on the loop.
	Handler net.Handler

	// Server, if set, lets Health report every loop of the server, not
	// only the one that serves the health check. LoadShed itself looks at
	// the request's own loop.
	Server *net.Server
}

// LoadShed returns middleware that answers 503 Service Unavailable with
// Retry-After, without calling the handler, while the server is under
// pressure, as Fastify's under-pressure does: when the request's loop lags
// (MaxLoopLag) or is busy (MaxUtilization), when the offload pool's queue
// is deep (Pool, MaxQueue), when too many requests are in flight
// (InFlight, MaxInFlight), or when the heap or the resident set is too
// large (MaxHeapBytes, MaxRSSBytes). Exempt paths always pass. Health
// reports the same signals for a health route.
//
// Its checks are atomic loads (two for loop lag, one for utilization, one
// for the queue), plus whatever InFlight costs, plus a clock read when a
// memory threshold is set: no locks of its own and no allocation. The
// lag is that of the loop the request runs on, so a loop blocked by a
// handler sheds the requests queued behind it while the others serve on.
//
// LoadShed panics on an invalid config. The middleware runs on the loop
// and is safe for concurrent use by every loop.
func LoadShed(cfg LoadShedConfig) net.Middleware {
	s := newShedder(cfg)
	return func(next net.Handler) net.Handler {
		return func(c *net.Ctx) net.Result {
			if !s.pressured(c) || s.exempt(c) {
				return next(c)
			}
			c.SetHeader("Retry-After", s.retryAfter)
			if s.handler != nil {
				return s.handler(c)
			}
			return c.Text(net.StatusServiceUnavailable, net.StatusText(net.StatusServiceUnavailable))
		}
	}
}

// shedder is LoadShed's configuration with defaults filled in; read-only
// once made.
type shedder struct {
	maxLag      time.Duration // < 0: off
	maxUtil     float64       // 0: off
	maxHeap     uint64        // 0: off
	maxRSS      uint64        // 0: off
	mem         memSampler
	handler     net.Handler
	server      *net.Server
	pool        *offload.Pool
	maxQueue    int
	inFlight    func() int
	maxInFlight int
	exemptPaths []string
	exemptFunc  func(*net.Ctx) bool
	retryAfter  string
}

func newShedder(cfg LoadShedConfig) *shedder {
	s := &shedder{
		maxLag:      cfg.MaxLoopLag,
		maxUtil:     cfg.MaxUtilization,
		maxHeap:     cfg.MaxHeapBytes,
		maxRSS:      cfg.MaxRSSBytes,
		handler:     cfg.Handler,
		server:      cfg.Server,
		pool:        cfg.Pool,
		maxQueue:    cfg.MaxQueue,
		inFlight:    cfg.InFlight,
		maxInFlight: cfg.MaxInFlight,
		exemptPaths: cfg.Exempt,
		exemptFunc:  cfg.ExemptFunc,
	}
	if s.maxLag == 0 {
		s.maxLag = 200 * time.Millisecond
	}
	if cfg.MaxUtilization < 0 || cfg.MaxUtilization > 1 {
		panic(fmt.Sprintf("middleware.LoadShed: LoadShedConfig.MaxUtilization is %v, want 0 (off) to 1", cfg.MaxUtilization))
	}
	switch {
	case cfg.SampleInterval < 0:
		panic(fmt.Sprintf("middleware.LoadShed: LoadShedConfig.SampleInterval is %v, want > 0 (0: the default, 1 s)", cfg.SampleInterval))
	case cfg.SampleInterval == 0:
		s.mem.interval = time.Second
	default:
		s.mem.interval = cfg.SampleInterval
	}
	s.mem.epoch = time.Now()
	if cfg.MaxQueue < 0 {
		panic(fmt.Sprintf("middleware.LoadShed: LoadShedConfig.MaxQueue is %d, want >= 0 (0: 32 per worker)", cfg.MaxQueue))
	}
	if s.pool != nil && s.maxQueue == 0 {
		s.maxQueue = 32 * s.pool.Stats().Workers
	}
	if s.inFlight != nil && cfg.MaxInFlight <= 0 {
		panic(fmt.Sprintf("middleware.LoadShed: LoadShedConfig.MaxInFlight is %d, want > 0 when InFlight is set", cfg.MaxInFlight))
	}
	if s.inFlight == nil && cfg.MaxInFlight != 0 {
		panic("middleware.LoadShed: LoadShedConfig.MaxInFlight is set without InFlight (pass InFlight: srv.InFlight)")
	}
	retry := cfg.RetryAfter
	switch {
	case retry == 0:
		retry = 10 * time.Second
	case retry < 0:
		panic(fmt.Sprintf("middleware.LoadShed: LoadShedConfig.RetryAfter is %v, want > 0 (0: the default, 10 s)", cfg.RetryAfter))
	}
	s.retryAfter = strconv.FormatInt(int64((retry+time.Second-1)/time.Second), 10)
	return s
}

// pressured reports whether a threshold is passed, cheapest check first.
func (s *shedder) pressured(c *net.Ctx) bool {
	return (s.maxLag > 0 && c.LoopLagP99() > s.maxLag) ||
		(s.maxUtil > 0 && c.LoopUtilization() > s.maxUtil) ||
		(s.pool != nil && s.pool.QueueLen() > s.maxQueue) ||
		(s.inFlight != nil && s.inFlight() > s.maxInFlight) ||
		((s.maxHeap > 0 || s.maxRSS > 0) && s.memoryPressured())
}

func (s *shedder) memoryPressured() bool {
	heap, rss := s.mem.get(s.maxHeap > 0, s.maxRSS > 0, false)
	return (s.maxHeap > 0 && heap > s.maxHeap) || (s.maxRSS > 0 && rss > s.maxRSS)
}

// memSampler keeps the heap and RSS figures, sampled at most once per
// interval by whichever caller finds them stale.
type memSampler struct {
	interval  time.Duration
	epoch     time.Time
	next      atomic.Int64 // ns since epoch when the next sample is due
	heap, rss atomic.Uint64
	mu        sync.Mutex // held while sampling
	samples   []metrics.Sample
}

// get returns the heap and RSS bytes, sampling those asked for if they are
// stale (or now, if fresh is set).
func (m *memSampler) get(heap, rss, fresh bool) (uint64, uint64) {
	now := int64(time.Since(m.epoch))
	if (fresh || now >= m.next.Load()) && m.mu.TryLock() {
		if heap {
			if m.samples == nil {
				m.samples = []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
			}
			metrics.Read(m.samples)
			if m.samples[0].Value.Kind() == metrics.KindUint64 {
				m.heap.Store(m.samples[0].Value.Uint64())
			}
		}
		if rss {
			m.rss.Store(residentBytes())
		}
		m.next.Store(now + int64(m.interval))
		m.mu.Unlock()
	}
	return m.heap.Load(), m.rss.Load()
}

// residentBytes returns the process's resident set size, or 0 where
// /proc/self/statm cannot be read.
func residentBytes() uint64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return 0
	}
	pages, err := strconv.ParseUint(f[1], 10, 64)
	if err != nil {
		return 0
	}
	return pages * uint64(os.Getpagesize())
}

// PressureReport is the body Health answers with.
type PressureReport struct {
	// Status is "ok", or "under pressure" while a threshold is passed.
	Status string `json:"status"`
	// Pressure names the signals past their threshold: "loop_lag",
	// "loop_utilization", "offload_queue", "in_flight", "heap", "rss".
	Pressure []string `json:"pressure,omitempty"`
	// Loops reports every loop of LoadShedConfig.Server, or the loop that
	// serves the check.
	Loops        []LoopPressure `json:"loops"`
	OffloadQueue *int           `json:"offload_queue,omitempty"`
	InFlight     *int           `json:"in_flight,omitempty"`
	HeapBytes    uint64         `json:"heap_bytes"`
	RSSBytes     uint64         `json:"rss_bytes"`
}

// LoopPressure is one loop's part of a PressureReport.
type LoopPressure struct {
	ID int `json:"id"`
	// LagSeconds is the loop's current lag (Ctx.LoopLag), LagP99Seconds
	// the 99th percentile of the last second's (Ctx.LoopLagP99), which
	// MaxLoopLag is compared with.
	LagSeconds    float64 `json:"lag_seconds"`
	LagP99Seconds float64 `json:"lag_p99_seconds"`
	Utilization   float64 `json:"utilization"`
}

// Health returns a handler for a health or readiness route (exempt it
// from LoadShed) that reports the signals LoadShed with the same cfg
// sheds on, as JSON (PressureReport): 200 while none passes its
// threshold, 503 with Retry-After while one does, so that an orchestrator
// or a load balancer can take the instance out of rotation. Loop signals
// are those of every loop of cfg.Server if set (any loop past a threshold
// counts), else of the loop that serves the check. Heap and RSS are
// sampled for each check. It panics on an invalid config, as LoadShed. The
// handler runs on the loop and is safe for concurrent use.
func Health(cfg LoadShedConfig) net.Handler {
	s := newShedder(cfg)
	return func(c *net.Ctx) net.Result {
		rep := s.report(c)
		status := net.StatusOK
		if len(rep.Pressure) > 0 {
			status = net.StatusServiceUnavailable
			c.SetHeader("Retry-After", s.retryAfter)
		}
		return c.JSON(status, rep)
	}
}

// report reads every signal.
func (s *shedder) report(c *net.Ctx) PressureReport {
	rep := PressureReport{Status: "ok"}
	flag := func(name string, over bool) {
		if over && !slices.Contains(rep.Pressure, name) {
			rep.Pressure = append(rep.Pressure, name)
		}
	}
	if s.server != nil {
		var st net.ServerStats
		s.server.Stats(&st)
		for _, l := range st.Loops {
			rep.Loops = append(rep.Loops, LoopPressure{ID: l.ID, LagSeconds: l.LagNow.Seconds(), LagP99Seconds: l.LagP99.Seconds(), Utilization: l.Utilization})
			flag("loop_lag", s.maxLag > 0 && l.LagP99 > s.maxLag)
			flag("loop_utilization", s.maxUtil > 0 && l.Utilization > s.maxUtil)
		}
	} else {
		lag, p99, util := c.LoopLag(), c.LoopLagP99(), c.LoopUtilization()
		rep.Loops = []LoopPressure{{ID: c.LoopID(), LagSeconds: lag.Seconds(), LagP99Seconds: p99.Seconds(), Utilization: util}}
		flag("loop_lag", s.maxLag > 0 && p99 > s.maxLag)
		flag("loop_utilization", s.maxUtil > 0 && util > s.maxUtil)
	}
	if s.pool != nil {
		q := s.pool.QueueLen()
		rep.OffloadQueue = &q
		flag("offload_queue", q > s.maxQueue)
	}
	if s.inFlight != nil {
		n := s.inFlight()
		rep.InFlight = &n
		flag("in_flight", n > s.maxInFlight)
	}
	rep.HeapBytes, rep.RSSBytes = s.mem.get(true, true, true)
	flag("heap", s.maxHeap > 0 && rep.HeapBytes > s.maxHeap)
	flag("rss", s.maxRSS > 0 && rep.RSSBytes > s.maxRSS)
	if len(rep.Pressure) > 0 {
		rep.Status = "under pressure"
	}
	return rep
}

func (s *shedder) exempt(c *net.Ctx) bool {
	if len(s.exemptPaths) > 0 {
		p := c.Path()
		for _, e := range s.exemptPaths {
			if p == e {
				return true
			}
		}
	}
	return s.exemptFunc != nil && s.exemptFunc(c)
}
