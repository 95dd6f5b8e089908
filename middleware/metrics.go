package middleware

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"

	"github.com/weftgo/weft/net"
	"github.com/weftgo/weft/offload"
	"github.com/weftgo/weft/runtime"
)

// MetricsConfig configures NewMetrics.
type MetricsConfig struct {
	// Registerer receives the metrics' collector. Required: nothing is
	// registered anywhere else, prometheus.DefaultRegisterer included,
	// unless you pass it here.
	Registerer prometheus.Registerer

	// Server, if set, adds the server's and its loops' families:
	// weft_loop_lag_seconds, weft_loop_utilization, weft_loop_blocked_total,
	// weft_connections, weft_connections_rejected_total and
	// weft_requests_rejected_total. Each loop's series exist from the
	// first scrape after Start.
	Server *net.Server

	// Pools adds weft_offload_* for each pool (an *offload.Pool),
	// labelled with its name (offload.Config.Name).
	Pools []OffloadSource

	// WebSockets adds weft_websocket_* for each WebSocket endpoint,
	// labelled with its name (see WebSocketSourceFunc).
	WebSockets []WebSocketSource

	// Buckets are the upper bounds, in seconds, of
	// http_server_request_duration_seconds. Default: OpenTelemetry's
	// (5 ms to 10 s).
	Buckets []float64

	// Routes pre-initialises http_server_request_duration_seconds with a
	// series per method and route pattern, status 200, so that dashboards
	// see every route from the first scrape (pass the router's routes).
	// Optional.
	Routes []RouteLabels
}

// RouteLabels names a route: its method and pattern.
type RouteLabels struct {
	Method, Pattern string
}

// OffloadSource is an offload pool as Metrics reads it: a name (the "pool"
// label) and a snapshot of its figures. *offload.Pool is one. Its methods
// must be safe for concurrent use; they are called at each scrape, off the
// loops.
type OffloadSource interface {
	Name() string
	Stats() offload.Stats
}

// WebSocketSource is a WebSocket endpoint as Metrics reads it: a name (the
// "endpoint" label) and its counters. Its methods must be safe for
// concurrent use; they are called at each scrape, off the loops.
type WebSocketSource interface {
	Name() string
	WebSocketStats() WebSocketStats
}

// WebSocketStats are an endpoint's counters. Its fields are those of
// net/websocket's Stats, so that one converts to the other.
type WebSocketStats struct {
	Open        int64 // sessions open now
	Opened      int64 // sessions opened since the start
	MessagesIn  int64 // data messages received
	MessagesOut int64 // data messages sent
	BytesIn     int64 // payload bytes received (decompressed)
	BytesOut    int64 // payload bytes sent (before compression)
}

// WebSocketSourceFunc names a function as a WebSocketSource, for a
// websocket.Upgrader:
//
//	middleware.WebSocketSourceFunc("chat", func() middleware.WebSocketStats {
//		return middleware.WebSocketStats(up.Stats())
//	})
func WebSocketSourceFunc(name string, stats func() WebSocketStats) WebSocketSource {
	return wsSource{name, stats}
}

type wsSource struct {
	name  string
	stats func() WebSocketStats
}

func (w wsSource) Name() string                   { return w.name }
func (w wsSource) WebSocketStats() WebSocketStats { return w.stats() }

// defaultDurationBuckets are OpenTelemetry's advice for
// http.server.request.duration, in seconds.
var defaultDurationBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10}

// Metrics records Prometheus metrics of a server: its requests (through the
// middleware that Middleware returns), its loops and connections (from
// Server.Stats), its offload pools and Blocking calls. It is a
// prometheus.Collector registered on the Registerer of its config: the
// loops record into per-loop counters without locks or allocation, and a
// scrape adds them up.
//
// Its methods are safe for concurrent use; the middleware runs on the loops.
type Metrics struct {
	cfg      MetricsConfig
	bounds   []int64 // request duration bucket bounds, ns
	epoch    time.Time
	shards   [256]atomic.Pointer[reqShard] // by loop id (gnet runs at most 256 loops)
	shared   *reqShard                     // for loops of a second server: locked
	preRoute []reqKey

	mu    sync.Mutex // serializes Collect: the fields below
	stats net.ServerStats
	prev  []utilMark // per loop: samples at the previous scrape

	descs metricDescs
}

type utilMark struct{ samples, busy uint64 }

type metricDescs struct {
	reqDuration, active                              *prometheus.Desc
	lag, util, blocked                               *prometheus.Desc
	conns, connsRejected, reqsRejected, blockingBusy *prometheus.Desc
	offWait, offRun, offQueued, offRejected          *prometheus.Desc
	offWorkers, offRunning, offExpectedWait          *prometheus.Desc
	offJobs, offRemoteJobs, offRemoteInFlight        *prometheus.Desc
	offRemoteRoundTrip                               *prometheus.Desc
	wsOpen, wsOpened, wsMessages, wsBytes            *prometheus.Desc
}

// NewMetrics makes the metrics and registers their collector on
// cfg.Registerer. It fails if the Registerer refuses it (a name already
// registered) or the config is invalid.
func NewMetrics(cfg MetricsConfig) (*Metrics, error) {
	if cfg.Registerer == nil {
		return nil, errors.New("middleware.NewMetrics: MetricsConfig.Registerer is nil (pass a prometheus.NewRegistry(), or prometheus.DefaultRegisterer)")
	}
	if cfg.Buckets == nil {
		cfg.Buckets = defaultDurationBuckets
	}
	m := &Metrics{cfg: cfg, epoch: time.Now()}
	m.shared = m.newShard(nil, false)
	for i, b := range cfg.Buckets {
		if b <= 0 || (i > 0 && b <= cfg.Buckets[i-1]) {
			return nil, fmt.Errorf("middleware.NewMetrics: MetricsConfig.Buckets must be positive and increasing; %v is not", cfg.Buckets)
		}
		m.bounds = append(m.bounds, int64(b*float64(time.Second)))
	}
	for _, r := range cfg.Routes {
		m.preRoute = append(m.preRoute, reqKey{method: canonicalMethod(r.Method), route: r.Pattern, status: 200})
	}
	names := map[string]bool{}
	for _, p := range cfg.Pools {
		if names[p.Name()] {
			return nil, fmt.Errorf("middleware.NewMetrics: two pools named %q in MetricsConfig.Pools", p.Name())
		}
		names[p.Name()] = true
	}
	endpoints := map[string]bool{}
	for _, w := range cfg.WebSockets {
		if endpoints[w.Name()] {
			return nil, fmt.Errorf("middleware.NewMetrics: two WebSocket endpoints named %q in MetricsConfig.WebSockets", w.Name())
		}
		endpoints[w.Name()] = true
	}
	loop, pool, poolEvent := []string{"loop"}, []string{"pool"}, []string{"pool", "event"}
	endpoint, endpointDir := []string{"endpoint"}, []string{"endpoint", "direction"}
	m.descs = metricDescs{
		reqDuration: prometheus.NewDesc("http_server_request_duration_seconds",
			"Duration of HTTP server requests, from the handler's call to its Result settling.",
			[]string{"http_request_method", "http_route", "http_response_status_code"}, nil),
		active: prometheus.NewDesc("http_server_active_requests",
			"Number of HTTP server requests whose handler has been called and whose Result has not settled.", nil, nil),
		lag: prometheus.NewDesc("weft_loop_lag_seconds",
			"Delay of a probe task posted to the loop every 10 ms, before it ran.", loop, nil),
		util: prometheus.NewDesc("weft_loop_utilization",
			"Share of the time since the previous scrape the loop spent running callbacks (0-1), sampled every 10 ms or less.", loop, nil),
		blocked: prometheus.NewDesc("weft_loop_blocked_total",
			"Episodes in which the loop ran one callback for longer than the server's BlockedLoopThreshold.", loop, nil),
		conns: prometheus.NewDesc("weft_connections",
			"Open client connections.", nil, nil),
		connsRejected: prometheus.NewDesc("weft_connections_rejected_total",
			"Connections refused: at MaxConns (answered 503), or for want of file descriptors.", []string{"reason"}, nil),
		reqsRejected: prometheus.NewDesc("weft_requests_rejected_total",
			"Requests answered by the server before any handler ran (malformed, too large, too slow).", []string{"status"}, nil),
		blockingBusy: prometheus.NewDesc("weft_blocking_inflight",
			"Functions started by runtime.Blocking that are running, in the process.", nil, nil),
		offWait: prometheus.NewDesc("weft_offload_queue_wait_seconds",
			"Time offload jobs waited for a worker.", pool, nil),
		offRun: prometheus.NewDesc("weft_offload_run_seconds",
			"Time offload jobs ran.", pool, nil),
		offQueued: prometheus.NewDesc("weft_offload_queued",
			"Offload jobs waiting for a worker.", pool, nil),
		offRejected: prometheus.NewDesc("weft_offload_rejected_total",
			"Offload jobs refused as overloaded (answered 503): queue full, expected wait past the deadline, or no remote worker free.", pool, nil),
		offWorkers: prometheus.NewDesc("weft_offload_workers",
			"Local workers of the pool (offload.Config.Workers).", pool, nil),
		offRunning: prometheus.NewDesc("weft_offload_running",
			"Offload jobs running on local workers now.", pool, nil),
		offExpectedWait: prometheus.NewDesc("weft_offload_expected_wait_seconds",
			"Queue wait the pool expects for a job submitted now (the estimate deadline-aware admission uses).", pool, nil),
		offJobs: prometheus.NewDesc("weft_offload_jobs_total",
			"Offload jobs by what became of them: submitted (accepted by Run), completed (ran, panics included), panicked, cancelled (context done before a worker took them), fast_lane (of submitted, ran without a worker handoff).", poolEvent, nil),
		offRemoteJobs: prometheus.NewDesc("weft_offload_remote_jobs_total",
			"Offload jobs sent to the pool's remote backend by what became of them: sent (a retry counts again), completed (answered by a worker), failed (no worker's answer: unavailable, lost, cancelled), retried, fallback (run locally instead).", poolEvent, nil),
		offRemoteInFlight: prometheus.NewDesc("weft_offload_remote_in_flight",
			"Offload jobs sent to the remote backend and not answered yet.", pool, nil),
		offRemoteRoundTrip: prometheus.NewDesc("weft_offload_remote_round_trip_seconds",
			"Time from a remote offload job's call to its answer, queueing and run included.", pool, nil),
		wsOpen: prometheus.NewDesc("weft_websocket_sessions",
			"Open WebSocket sessions.", endpoint, nil),
		wsOpened: prometheus.NewDesc("weft_websocket_sessions_opened_total",
			"WebSocket sessions opened.", endpoint, nil),
		wsMessages: prometheus.NewDesc("weft_websocket_messages_total",
			"WebSocket data messages, received (in) and sent (out).", endpointDir, nil),
		wsBytes: prometheus.NewDesc("weft_websocket_message_bytes_total",
			"Payload bytes of WebSocket data messages, received (in, decompressed) and sent (out, before compression).", endpointDir, nil),
	}
	if err := cfg.Registerer.Register((*metricsCollector)(m)); err != nil {
		return nil, fmt.Errorf("middleware.NewMetrics: %w", err)
	}
	return m, nil
}

// reqShard is one loop's request figures. Only its loop writes it; a scrape
// reads it with atomic loads. The padding keeps its written fields off the
// cache lines of whatever the allocator puts beside it (another loop's
// shard).
type reqShard struct {
	_      [64]byte
	loop   runtime.Loop                          // the loop that owns it; nil: shared
	active atomic.Int64                          // pending Results
	series atomic.Pointer[map[reqKey]*reqSeries] // copied on write by the loop
	last   *reqSeries                            // loop-only: the series of the previous request
	free   []*reqWatch                           // loop-only: listeners to reuse

	// mu serializes the writers of the shared shard, which takes the
	// requests of loops whose id another server's loop already owns.
	mu sync.Mutex
	_  [64]byte
}

type reqKey struct {
	method, route string
	status        int
}

// reqSeries is one series of a shard. Its loop writes only counts, whose
// array is a whole number of cache lines, so that two loops' series never
// share a line.
type reqSeries struct {
	key    reqKey
	counts []atomic.Uint64 // by bucket, the last above every bound; then the sum, ns
}

// Middleware returns the middleware that records http_server_request_*
// for the requests it wraps. Place it outermost (before Logger and
// Recover), so that it times everything they do and sees the status of a
// panic.
//
// A request costs two reads of the monotonic clock, two atomic adds on its
// loop's own counters (no other loop touches them) and, for a method, route
// and status it has seen before, no allocation, whether its Result is ready
// when the handler returns or settles later: a pending Result is followed
// by a listener taken from the loop's own free list, attached to that
// Result itself (not a new future), which holds the Ctx until it has run.
// Use one Metrics per server and its middleware once per request: the
// counters are kept by loop id, and the loops of a second server sharing
// it take a slower, locked path that allocates for pending Results. The
// route label is the pattern the router matched (Ctx.Route), never the
// path: a request no route matched has an empty route. Methods other than
// the nine of RFC 9110 and PATCH are counted as "_OTHER", as OpenTelemetry
// prescribes. The middleware runs on the loop and is safe for concurrent
// use by every loop.
func (m *Metrics) Middleware() net.Middleware {
	return func(next net.Handler) net.Handler {
		return func(c *net.Ctx) (res net.Result) {
			sh := m.shardOnLoop(c)
			start := time.Since(m.epoch)
			defer func() {
				if r := recover(); r != nil {
					pe := runtime.NewPanicError(r)
					m.doneOnLoop(sh, c, start, pe)
					res = net.Fail(pe)
				}
			}()
			res = next(c)
			if res.Ready() {
				_, err := res.Get()
				m.doneOnLoop(sh, c, start, err)
				return res
			}
			return m.followOnLoop(sh, c, start, res)
		}
	}
}

// followOnLoop records res when it settles: a pending Result, counted in
// http_server_active_requests until then. It returns res, bound to c's
// loop.
func (m *Metrics) followOnLoop(sh *reqShard, c *net.Ctx, start time.Duration, res net.Result) net.Result {
	res = runtime.Bind(res, c.Loop()) // a Result made on another loop settles on this one
	sh.active.Add(1)
	var w *reqWatch
	if n := len(sh.free); n > 0 && sh.loop != nil {
		w, sh.free = sh.free[n-1], sh.free[:n-1]
	} else {
		w = &reqWatch{}
	}
	w.m, w.sh, w.c, w.start = m, sh, c, start
	// The Ctx must outlive the listener: a Result settling after a
	// Timeout outside this middleware answered comes after the server
	// has let go of the Ctx.
	w.hold, _ = c.Tracker().(runtime.Holder)
	if w.hold != nil {
		w.hold.Hold()
	}
	res.Listen(w)
	return res
}

// reqWatch follows a pending Result for Metrics: a runtime.Listener taken
// from its loop's free list, and put back once it has run.
type reqWatch struct {
	m     *Metrics
	sh    *reqShard
	c     *net.Ctx
	start time.Duration
	hold  runtime.Holder
}

// Settled runs on the Ctx's loop.
func (w *reqWatch) Settled(_ struct{}, err error) {
	m, sh, c, start, hold := w.m, w.sh, w.c, w.start, w.hold
	*w = reqWatch{}
	if sh.loop != nil {
		sh.free = append(sh.free, w)
	}
	defer func() {
		// Even if recording panics: the request is no longer active, and
		// c must not stay held.
		sh.active.Add(-1)
		if hold != nil {
			hold.Unhold() // may recycle c, and serve its connection's next request
		}
	}()
	m.doneOnLoop(sh, c, start, err)
}

// shardOnLoop returns the shard of c's loop, making it on first use (by its
// loop). A loop whose id belongs to another server's loop (one Metrics
// used for two servers) gets the shared, locked shard.
func (m *Metrics) shardOnLoop(c *net.Ctx) *reqShard {
	id, l := c.LoopID(), c.Loop()
	sh := m.shards[id].Load()
	if sh == nil {
		if m.shards[id].CompareAndSwap(nil, m.newShard(l, id == 0)) {
			return m.shards[id].Load()
		}
		sh = m.shards[id].Load()
	}
	if sh.loop == l {
		return sh
	}
	return m.shared
}

// newShard makes a shard for loop l (nil: the shared one), with the
// pre-initialised routes if pre.
func (m *Metrics) newShard(l runtime.Loop, pre bool) *reqShard {
	sh := &reqShard{loop: l}
	series := make(map[reqKey]*reqSeries, len(m.preRoute))
	if pre {
		for _, k := range m.preRoute {
			series[k] = m.newSeries(k)
		}
	}
	sh.series.Store(&series)
	return sh
}

func (m *Metrics) newSeries(k reqKey) *reqSeries {
	n := len(m.bounds) + 2 // the buckets, +Inf, the sum
	return &reqSeries{key: k, counts: make([]atomic.Uint64, n, (n+7)/8*8)}
}

// doneOnLoop records a request whose Result settled with err.
func (m *Metrics) doneOnLoop(sh *reqShard, c *net.Ctx, start time.Duration, err error) {
	d := int64(time.Since(m.epoch) - start)
	status := net.ResultStatus(c, err)
	method, route := canonicalMethod(c.Method()), c.Route()
	if sh.loop == nil {
		sh.mu.Lock()
		m.recordOnLoop(sh, method, route, status, d)
		sh.mu.Unlock()
		return
	}
	m.recordOnLoop(sh, method, route, status, d)
}

// recordOnLoop counts a request of d ns in sh's series for method, route
// and status. The caller is sh's loop, or holds sh.mu for the shared shard.
func (m *Metrics) recordOnLoop(sh *reqShard, method, route string, status int, d int64) {
	s := sh.last
	if s == nil || s.key.status != status || s.key.route != route || s.key.method != method {
		k := reqKey{method: method, route: route, status: status}
		s = (*sh.series.Load())[k]
		if s == nil {
			k.route = strings.Clone(route) // a pattern, but owned from now on
			s = m.newSeries(k)
			series := maps.Clone(*sh.series.Load())
			series[k] = s
			sh.series.Store(&series)
		}
		sh.last = s
	}
	// The first bound at or above d: a linear scan, since nearly every
	// request lands in the first bucket or two (one comparison each),
	// where a binary search always takes four.
	i := 0
	for i < len(m.bounds) && m.bounds[i] < d {
		i++
	}
	s.counts[i].Add(1)
	s.counts[len(m.bounds)+1].Add(uint64(d))
}

// canonicalMethod returns method as a constant string, or "_OTHER": the
// label never holds a view of the request's bytes, and a client cannot
// make up methods to grow the number of series.
func canonicalMethod(method string) string {
	switch method {
	case "GET":
		return "GET"
	case "HEAD":
		return "HEAD"
	case "POST":
		return "POST"
	case "PUT":
		return "PUT"
	case "DELETE":
		return "DELETE"
	case "CONNECT":
		return "CONNECT"
	case "OPTIONS":
		return "OPTIONS"
	case "TRACE":
		return "TRACE"
	case "PATCH":
		return "PATCH"
	}
	return "_OTHER"
}

// metricsCollector is Metrics as a prometheus.Collector.
type metricsCollector Metrics

func (mc *metricsCollector) Describe(ch chan<- *prometheus.Desc) {
	d := &mc.descs
	for _, desc := range []*prometheus.Desc{d.reqDuration, d.active, d.blockingBusy} {
		ch <- desc
	}
	if mc.cfg.Server != nil {
		for _, desc := range []*prometheus.Desc{d.lag, d.util, d.blocked, d.conns, d.connsRejected, d.reqsRejected} {
			ch <- desc
		}
	}
	if len(mc.cfg.Pools) > 0 {
		for _, desc := range []*prometheus.Desc{d.offWait, d.offRun, d.offQueued, d.offRejected,
			d.offWorkers, d.offRunning, d.offExpectedWait, d.offJobs,
			d.offRemoteJobs, d.offRemoteInFlight, d.offRemoteRoundTrip} {
			ch <- desc
		}
	}
	if len(mc.cfg.WebSockets) > 0 {
		for _, desc := range []*prometheus.Desc{d.wsOpen, d.wsOpened, d.wsMessages, d.wsBytes} {
			ch <- desc
		}
	}
}

// Collect runs at each scrape, off the loops.
func (mc *metricsCollector) Collect(ch chan<- prometheus.Metric) {
	m := (*Metrics)(mc)
	m.mu.Lock()
	defer m.mu.Unlock()
	d := &m.descs
	m.collectRequests(ch)
	ch <- prometheus.MustNewConstMetric(d.blockingBusy, prometheus.GaugeValue, float64(runtime.BlockingInFlight()))
	if srv := m.cfg.Server; srv != nil {
		srv.Stats(&m.stats)
		m.collectServer(ch)
	}
	for _, p := range m.cfg.Pools {
		m.collectPool(ch, p.Name(), p.Stats())
	}
	for _, w := range m.cfg.WebSockets {
		st, name := w.WebSocketStats(), w.Name()
		ch <- prometheus.MustNewConstMetric(d.wsOpen, prometheus.GaugeValue, float64(st.Open), name)
		ch <- prometheus.MustNewConstMetric(d.wsOpened, prometheus.CounterValue, float64(st.Opened), name)
		ch <- prometheus.MustNewConstMetric(d.wsMessages, prometheus.CounterValue, float64(st.MessagesIn), name, "in")
		ch <- prometheus.MustNewConstMetric(d.wsMessages, prometheus.CounterValue, float64(st.MessagesOut), name, "out")
		ch <- prometheus.MustNewConstMetric(d.wsBytes, prometheus.CounterValue, float64(st.BytesIn), name, "in")
		ch <- prometheus.MustNewConstMetric(d.wsBytes, prometheus.CounterValue, float64(st.BytesOut), name, "out")
	}
}

// collectRequests adds the loops' request series up by label values.
func (m *Metrics) collectRequests(ch chan<- prometheus.Metric) {
	type agg struct {
		counts []uint64
		sum    int64
	}
	all := map[reqKey]*agg{}
	var active int64
	for i := range len(m.shards) + 1 {
		sh := m.shared
		if i < len(m.shards) {
			sh = m.shards[i].Load()
		}
		if sh == nil {
			continue
		}
		active += sh.active.Load()
		for k, s := range *sh.series.Load() {
			a := all[k]
			if a == nil {
				a = &agg{counts: make([]uint64, len(m.bounds)+1)}
				all[k] = a
			}
			for j := range a.counts {
				a.counts[j] += s.counts[j].Load()
			}
			a.sum += int64(s.counts[len(m.bounds)+1].Load())
		}
	}
	for _, k := range m.preRoute {
		if all[k] == nil {
			all[k] = &agg{counts: make([]uint64, len(m.bounds)+1)}
		}
	}
	ch <- prometheus.MustNewConstMetric(m.descs.active, prometheus.GaugeValue, float64(max(active, 0)))
	for k, a := range all {
		buckets := make(map[float64]uint64, len(m.bounds))
		var n uint64
		for j, b := range m.cfg.Buckets {
			n += a.counts[j]
			buckets[b] = n
		}
		n += a.counts[len(m.bounds)]
		ch <- prometheus.MustNewConstHistogram(m.descs.reqDuration, n, time.Duration(a.sum).Seconds(), buckets,
			k.method, k.route, strconv.Itoa(k.status))
	}
}

// collectServer sends the figures of m.stats.
func (m *Metrics) collectServer(ch chan<- prometheus.Metric) {
	d, st := &m.descs, &m.stats
	lagBounds := runtime.LagBuckets()
	for _, l := range st.Loops {
		id := strconv.Itoa(l.ID)
		buckets := make(map[float64]uint64, len(lagBounds))
		var n uint64
		for i, b := range lagBounds {
			n += l.Lag.Counts[i]
			buckets[b.Seconds()] = n
		}
		ch <- prometheus.MustNewConstHistogram(d.lag, l.Lag.Count, l.Lag.Sum.Seconds(), buckets, id)
		for len(m.prev) <= l.ID {
			m.prev = append(m.prev, utilMark{})
		}
		prev := &m.prev[l.ID]
		util := 0.0
		if ds := l.Samples - prev.samples; ds > 0 {
			util = float64(l.BusySamples-prev.busy) / float64(ds)
		}
		*prev = utilMark{samples: l.Samples, busy: l.BusySamples}
		ch <- prometheus.MustNewConstMetric(d.util, prometheus.GaugeValue, util, id)
		ch <- prometheus.MustNewConstMetric(d.blocked, prometheus.CounterValue, float64(l.Blocked), id)
	}
	ch <- prometheus.MustNewConstMetric(d.conns, prometheus.GaugeValue, float64(st.Conns))
	ch <- prometheus.MustNewConstMetric(d.connsRejected, prometheus.CounterValue, float64(st.RefusedMaxConns), "max_conns")
	ch <- prometheus.MustNewConstMetric(d.connsRejected, prometheus.CounterValue, float64(st.RefusedDescriptors), "descriptors")
	for _, r := range st.RequestsRefused {
		ch <- prometheus.MustNewConstMetric(d.reqsRejected, prometheus.CounterValue, float64(r.Count), strconv.Itoa(r.Status))
	}
}

// collectPool sends one offload pool's figures.
func (m *Metrics) collectPool(ch chan<- prometheus.Metric, name string, st offload.Stats) {
	d := &m.descs
	gauge := func(desc *prometheus.Desc, v float64) {
		ch <- prometheus.MustNewConstMetric(desc, prometheus.GaugeValue, v, name)
	}
	count := func(desc *prometheus.Desc, v int64, event string) {
		ch <- prometheus.MustNewConstMetric(desc, prometheus.CounterValue, float64(v), name, event)
	}
	ch <- offloadHistogram(d.offWait, st.QueueWait, name)
	ch <- offloadHistogram(d.offRun, st.RunTime, name)
	ch <- offloadHistogram(d.offRemoteRoundTrip, st.Remote.RoundTrip, name)
	gauge(d.offQueued, float64(st.Queued))
	gauge(d.offWorkers, float64(st.Workers))
	gauge(d.offRunning, float64(st.Running))
	gauge(d.offExpectedWait, st.ExpectedWait.Seconds())
	gauge(d.offRemoteInFlight, float64(st.Remote.InFlight))
	ch <- prometheus.MustNewConstMetric(d.offRejected, prometheus.CounterValue, float64(st.Rejected), name)
	count(d.offJobs, st.Submitted, "submitted")
	count(d.offJobs, st.Completed, "completed")
	count(d.offJobs, st.Panicked, "panicked")
	count(d.offJobs, st.Cancelled, "cancelled")
	count(d.offJobs, st.FastLane, "fast_lane")
	count(d.offRemoteJobs, st.Remote.Sent, "sent")
	count(d.offRemoteJobs, st.Remote.Completed, "completed")
	count(d.offRemoteJobs, st.Remote.Failed, "failed")
	count(d.offRemoteJobs, st.Remote.Retried, "retried")
	count(d.offRemoteJobs, st.Remote.Fallback, "fallback")
}

// offloadFirstBucket is the first of an offload.Distribution's power-of-two
// buckets that Metrics exposes with its own bound (2^10 ns, about 1 µs):
// those below it are folded into it.
const offloadFirstBucket = 10

// offloadHistogram turns an offload.Distribution (power-of-two buckets of
// ns, the last unbounded) into a Prometheus histogram in seconds: bounds
// from about 1 µs to 275 s.
func offloadHistogram(desc *prometheus.Desc, d offload.Distribution, pool string) prometheus.Metric {
	buckets := make(map[float64]uint64, offload.Buckets-offloadFirstBucket)
	var n uint64
	for i := 0; i < offload.Buckets-1; i++ {
		n += uint64(max(d.Counts[i], 0))
		if i >= offloadFirstBucket {
			buckets[offload.BucketBound(i).Seconds()] = n
		}
	}
	n += uint64(max(d.Counts[offload.Buckets-1], 0))
	return prometheus.MustNewConstHistogram(desc, n, d.Sum.Seconds(), buckets, pool)
}

// Handler returns a handler that serves g's metrics in the format the
// scraper asks for (Prometheus text, OpenMetrics, protobuf), as promhttp
// does. Gathering and encoding run off the loop (runtime.Blocking), so a
// large scrape does not show up as loop lag; only the copy of the encoded
// bytes into the connection's buffer runs on the loop. Pass the registry
// the Metrics are registered on (a *prometheus.Registry is a Gatherer). A
// gathering or encoding error is answered 500 (the server logs it as a
// failed handler), as promhttp's default HTTPErrorOnError does. The handler
// runs on the loop and is safe for concurrent use.
func Handler(g prometheus.Gatherer) net.Handler {
	return func(c *net.Ctx) net.Result {
		accept := c.Header("Accept") // the request's bytes stay valid while the job runs
		f := runtime.Blocking(c, func(context.Context) (scrape, error) { return gather(g, accept) })
		return runtime.Then(c, f, func(s scrape) net.Result {
			return c.Send(net.StatusOK, s.contentType, s.body)
		})
	}
}

type scrape struct {
	contentType string
	body        []byte
}

func gather(g prometheus.Gatherer, accept string) (scrape, error) {
	mfs, err := g.Gather()
	if err != nil {
		return scrape{}, &net.Error{Status: net.StatusInternalServerError, Err: fmt.Errorf("gathering metrics: %w", err)}
	}
	format := expfmt.NegotiateIncludingOpenMetrics(http.Header{"Accept": []string{accept}})
	var buf bytes.Buffer
	enc := expfmt.NewEncoder(&buf, format)
	for _, mf := range mfs {
		if err := enc.Encode(mf); err != nil {
			return scrape{}, fmt.Errorf("encoding metrics: %w", err)
		}
	}
	if cl, ok := enc.(expfmt.Closer); ok {
		if err := cl.Close(); err != nil {
			return scrape{}, fmt.Errorf("encoding metrics: %w", err)
		}
	}
	return scrape{contentType: string(format), body: buf.Bytes()}, nil
}
