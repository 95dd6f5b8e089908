package middleware_test

import (
	goruntime "runtime"
	"strconv"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/weftgo/weft/middleware"
	"github.com/weftgo/weft/net"
	"github.com/weftgo/weft/runtime"
)

// The cost of the request metrics on the whole request path, in memory
// through a TestConn: the parser, the connection state machine, the handler
// and the response writer, with metrics off ("off") and on ("on"), for a
// handler whose Result is ready ("sync") and one whose Result settles in a
// later task on the loop ("async"). Besides ns/op, each reports cpu-ns/op:
// the process's CPU time (user and system, getrusage) per request, which a
// busy machine inflates far less than wall time (a benchmark waiting for a
// core costs wall time, not CPU). Compare medians of -count 10:
//
//	go test -run XXX -bench 'MetricsOnOff' -benchmem -count 10 ./middleware/
//
// BenchmarkRequestMetrics compares ways of recording (weft's per-loop
// counters, client_golang's HistogramVec on the hot path).

func plaintext(c *net.Ctx) net.Result {
	net.SetRoute(c, "/plaintext")
	return c.Text(net.StatusOK, "Hello, World!")
}

// laterTask settles its promise when the loop runs it: the smallest
// asynchronous handler, with no goroutine or timer in the way.
type laterTask struct{ p runtime.Promise[struct{}] }

func (t *laterTask) Run() { t.p.Resolve(struct{}{}) }

// asyncPlaintext answers like plaintext, with a Result that settles in a
// task it posts to its loop (one promise per request).
func asyncPlaintext() net.Handler {
	t := &laterTask{}
	return func(c *net.Ctx) net.Result {
		net.SetRoute(c, "/plaintext")
		t.p = runtime.NewPromise[struct{}](c.Loop())
		c.Text(net.StatusOK, "Hello, World!")
		if err := c.Loop().Post(t); err != nil {
			return net.Fail(err)
		}
		return t.p.Future()
	}
}

func newMetrics(tb testing.TB) *middleware.Metrics {
	m, err := middleware.NewMetrics(middleware.MetricsConfig{Registerer: prometheus.NewRegistry()})
	if err != nil {
		tb.Fatal(err)
	}
	return m
}

func BenchmarkMetricsOnOff(b *testing.B) {
	for _, kind := range []struct {
		name string
		h    func() net.Handler
	}{
		{"sync", func() net.Handler { return plaintext }},
		{"async", asyncPlaintext},
	} {
		b.Run(kind.name+"/off", func(b *testing.B) { benchServeCPU(b, kind.h(), get("/plaintext")) })
		b.Run(kind.name+"/on", func(b *testing.B) {
			benchServeCPU(b, newMetrics(b).Middleware()(kind.h()), get("/plaintext"))
		})
		b.Run(kind.name+"/on+logger", func(b *testing.B) {
			lg := middleware.Logger(middleware.LoggerConfig{Logger: zap.NewNop()})
			benchServeCPU(b, newMetrics(b).Middleware()(lg(kind.h())), get("/plaintext"))
		})
	}
}

// benchServeCPU is benchServe, reporting the process's CPU time per
// request as cpu-ns/op.
func benchServeCPU(b *testing.B, h net.Handler, req string) {
	var r0, r1 syscall.Rusage
	tc := testConn(b, h)
	raw := []byte(req)
	if _, err := tc.Serve(raw, time.Second); err != nil { // warm the Ctx, the series, the pools
		b.Fatal(err)
	}
	b.ReportAllocs()
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &r0)
	n := 0
	for b.Loop() {
		if _, err := tc.Serve(raw, time.Second); err != nil {
			b.Fatal(err)
		}
		n++
	}
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &r1)
	cpu := time.Duration(syscall.TimevalToNsec(r1.Utime) - syscall.TimevalToNsec(r0.Utime) +
		syscall.TimevalToNsec(r1.Stime) - syscall.TimevalToNsec(r0.Stime))
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(n), "cpu-ns/op")
}

// BenchmarkMetricsOverhead measures metrics on against off in one run,
// interleaved, so that both see the same machine: each iteration serves
// 500 requests without metrics then 500 with, on the same goroutine locked
// to its thread, and reads the thread's CPU clock around each batch. It
// reports the CPU time per request of each (off-cpu-ns/req,
// on-cpu-ns/req) and their ratio (on/off); other processes' load slows
// both alike. The loop's whole request path is in it (TestConn: parser,
// connection state machine, handler, response writer), without gnet and
// the socket system calls, which are most of a real request's CPU: the
// ratio here is the metrics' share of weft's own work, an upper bound for
// the server's.
//
//	go test -run XXX -bench 'MetricsOverhead' -count 10 ./middleware/
func BenchmarkMetricsOverhead(b *testing.B) {
	for _, kind := range []struct {
		name string
		h    func() net.Handler
	}{
		{"sync", func() net.Handler { return plaintext }},
		{"async", asyncPlaintext},
	} {
		b.Run(kind.name, func(b *testing.B) {
			off := testConn(b, kind.h())
			on := testConn(b, newMetrics(b).Middleware()(kind.h()))
			raw := []byte(get("/plaintext"))
			const batch = 500
			goruntime.LockOSThread()
			defer goruntime.UnlockOSThread()
			serve := func(tc *net.TestConn) time.Duration {
				t0 := threadCPU()
				for range batch {
					if _, err := tc.Serve(raw, time.Second); err != nil {
						b.Fatal(err)
					}
				}
				return threadCPU() - t0
			}
			serve(off) // warm up
			serve(on)
			var cpuOff, cpuOn time.Duration
			n := 0
			for b.Loop() {
				cpuOff += serve(off)
				cpuOn += serve(on)
				n += batch
			}
			b.ReportMetric(float64(cpuOff.Nanoseconds())/float64(n), "off-cpu-ns/req")
			b.ReportMetric(float64(cpuOn.Nanoseconds())/float64(n), "on-cpu-ns/req")
			b.ReportMetric(float64(cpuOn)/float64(cpuOff), "on/off")
		})
	}
}

// threadCPU returns the calling thread's CPU time (CLOCK_THREAD_CPUTIME_ID).
func threadCPU() time.Duration {
	var ts syscall.Timespec
	const clockThreadCPUTime = 3
	_, _, errno := syscall.Syscall(syscall.SYS_CLOCK_GETTIME, clockThreadCPUTime, uintptr(unsafe.Pointer(&ts)), 0)
	if errno != 0 {
		panic(errno)
	}
	return time.Duration(ts.Nano())
}

func BenchmarkRequestMetrics(b *testing.B) {
	b.Run("none", func(b *testing.B) { benchServe(b, plaintext, get("/plaintext")) })
	b.Run("weft-per-loop", func(b *testing.B) {
		benchServe(b, newMetrics(b).Middleware()(plaintext), get("/plaintext"))
	})
	b.Run("client_golang-vec", func(b *testing.B) {
		dur := prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "http_server_request_duration_seconds",
			Buckets: []float64{0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10},
		}, []string{"http_request_method", "http_route", "http_response_status_code"})
		active := prometheus.NewGauge(prometheus.GaugeOpts{Name: "http_server_active_requests"})
		statuses := map[int]string{}
		h := func(c *net.Ctx) net.Result {
			active.Inc()
			start := time.Now()
			res := plaintext(c)
			status, ok := statuses[c.StatusCode()]
			if !ok {
				status = strconv.Itoa(c.StatusCode())
				statuses[c.StatusCode()] = status
			}
			dur.WithLabelValues(c.Method(), c.Route(), status).Observe(time.Since(start).Seconds())
			active.Dec()
			return res
		}
		benchServe(b, h, get("/plaintext"))
	})
}

// TestMetricsAndLoggerFollowPendingResultsWithoutAllocating: a request
// whose Result settles later costs Metrics and Logger no allocation beyond
// those of the bare asynchronous handler (its promise, the loop's task).
func TestMetricsAndLoggerFollowPendingResultsWithoutAllocating(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops items at random under -race")
	}
	base := allocsPerRequest(t, asyncPlaintext(), get("/plaintext"))
	lg := func() net.Middleware { return middleware.Logger(middleware.LoggerConfig{Logger: zap.NewNop()}) }
	tests := []struct {
		name string
		h    net.Handler
	}{
		{"metrics", newMetrics(t).Middleware()(asyncPlaintext())},
		{"logger", lg()(asyncPlaintext())},
		{"metrics+logger", newMetrics(t).Middleware()(lg()(asyncPlaintext()))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if n := allocsPerRequest(t, tt.h, get("/plaintext")); n != base {
				t.Fatalf("%v allocations per request, want %v (the bare asynchronous handler's)", n, base)
			}
		})
	}
}
