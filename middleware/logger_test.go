package middleware_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/weftgo/weft/middleware"
	"github.com/weftgo/weft/net"
	"github.com/weftgo/weft/offload"
	"github.com/weftgo/weft/router"
	"github.com/weftgo/weft/runtime"
)

func TestLogger(t *testing.T) {
	tests := []struct {
		name string
		h    net.Handler
		req  string
		want map[string]any // JSON values; absent: no such field
	}{
		{"synchronous", plainText, get("/users/7?q=1"), map[string]any{
			"msg": "request", "level": "info", "method": "GET", "path": "/users/7", "route": "/users/:id", "status": 200.0, "bytes": 13.0,
			"remote": "192.0.2.1:1234", "error": absent, "request_id": "rid-1",
			"offload_queue": 0.0, "offload": 0.0, "blocking": 0.0,
		}},
		{"no route", plainText, get("/nothing"), map[string]any{
			"path": "/nothing", "route": absent, "status": 404.0, "bytes": 9.0,
		}},
		{"HEAD", plainText, request("HEAD", "/users/7"), map[string]any{
			"method": "HEAD", "status": 200.0, "bytes": 13.0,
		}},
		{"failed", func(c *net.Ctx) net.Result { return net.Fail(net.NewError(418, "short and stout")) }, get("/users/7"), map[string]any{
			"status": 418.0, "bytes": absent, "error": "418 short and stout",
		}},
		{"failed asynchronously", func(c *net.Ctx) net.Result {
			f := runtime.Blocking(c, func(context.Context) (int, error) { return 0, net.Errorf(502, "upstream down") })
			return runtime.Then(c, f, func(int) net.Result { return c.Text(200, "") })
		}, get("/users/7"), map[string]any{
			"status": 502.0, "bytes": absent, "error": "502 Bad Gateway: upstream down",
		}},
		{"panic", panicNow, get("/users/7"), map[string]any{
			"status": 500.0, "bytes": absent, "error": "panic: boom in the handler",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			log, sink := newLogSink(zap.InfoLevel)
			mw := []net.Middleware{middleware.RequestID(middleware.RequestIDConfig{}), middleware.Logger(middleware.LoggerConfig{Logger: log})}
			resp, _ := serveRouted(t, mw, "/users/:id", tt.h, strings.Replace(tt.req, "\r\n\r\n", "\r\nX-Request-ID: rid-1\r\n\r\n", 1))
			line := sink.one(t)
			checkFields(t, line, tt.want)
			if s, ok := line["status"].(float64); !ok || int(s) != resp.StatusCode {
				t.Errorf("logged status %v, sent %d", line["status"], resp.StatusCode)
			}
			for _, k := range []string{"latency", "loop"} {
				if d, ok := line[k].(float64); !ok || d < 0 || d > 1 {
					t.Errorf("field %s = %v, want a duration in seconds", k, line[k])
				}
			}
		})
	}
}

// spinFor keeps a CPU busy for d, watching ctx.
func spinFor(ctx context.Context, d time.Duration) {
	for end := time.Now().Add(d); time.Now().Before(end) && ctx.Err() == nil; {
	}
}

// serverTiming parses a Server-Timing value into durations by name.
func serverTiming(t *testing.T, v string) map[string]time.Duration {
	t.Helper()
	out := map[string]time.Duration{}
	for _, part := range strings.Split(v, ", ") {
		name, dur, ok := strings.Cut(part, ";dur=")
		ms, err := strconv.ParseFloat(dur, 64)
		if !ok || err != nil {
			t.Fatalf("Server-Timing %q: bad entry %q", v, part)
		}
		out[name] = time.Duration(ms * float64(time.Millisecond))
	}
	return out
}

// TestLoggerTimeSplit: a request that runs a Blocking call and then an
// offload job gets the time each took in its log line and, set before the
// response is final although the handler finished asynchronously, in its
// Server-Timing header.
func TestLoggerTimeSplit(t *testing.T) {
	pool := testPool(t)
	const blockFor, cpuFor = 10 * time.Millisecond, 30 * time.Millisecond
	h := func(c *net.Ctx) net.Result {
		c.SetHeader("Server-Timing", "db;dur=1")
		db := runtime.Blocking(c, func(context.Context) (int, error) { time.Sleep(blockFor); return 0, nil })
		return runtime.Then(c, db, func(int) net.Result {
			cpu := offload.Run(c, pool, func(ctx context.Context) (int, error) { spinFor(ctx, cpuFor); return 0, nil })
			return runtime.Then(c, cpu, func(int) net.Result { return c.Text(200, "done") })
		})
	}
	log, sink := newLogSink(zap.InfoLevel)
	tc := testConn(t, net.Chain(h, middleware.Logger(middleware.LoggerConfig{Logger: log, ServerTiming: true})))
	resp, _ := serveTC(t, tc, get("/"))

	line := sink.one(t)
	sec := func(k string) time.Duration { return time.Duration(line[k].(float64) * float64(time.Second)) }
	latency, loop, queued, ran, blocked := sec("latency"), sec("loop"), sec("offload_queue"), sec("offload"), sec("blocking")
	if blocked < blockFor || ran < cpuFor {
		t.Fatalf("blocking %v, offload %v: want at least %v and %v", blocked, ran, blockFor, cpuFor)
	}
	if sum := loop + queued + ran + blocked; loop < 0 || sum > latency+time.Microsecond || sum < latency-time.Microsecond {
		t.Fatalf("loop %v + offload_queue %v + offload %v + blocking %v = %v, want the latency %v", loop, queued, ran, blocked, sum, latency)
	}

	values := resp.Header.Values("Server-Timing")
	if len(values) != 2 || values[0] != "db;dur=1" {
		t.Fatalf("Server-Timing %q, want the handler's then Logger's", values)
	}
	st := serverTiming(t, values[1])
	for _, name := range []string{"loop", "offload-queue", "offload", "blocking"} {
		if _, ok := st[name]; !ok {
			t.Fatalf("Server-Timing %q lacks %s", values[1], name)
		}
	}
	if st["offload"] < cpuFor || st["blocking"] < blockFor {
		t.Fatalf("Server-Timing %q: want offload ≥ %v and blocking ≥ %v", values[1], cpuFor, blockFor)
	}
}

// TestLoggerTimeoutWhileQueued: Timeout answers while the request's
// offload job still waits for a worker (the pool's one worker is held); the
// access line counts that wait as offload_queue, not as loop time and not
// as pending: the pool tells the Ctx's Tracker when a worker takes a job
// (runtime.QueueTracker), so a job not taken yet is known to be queued.
func TestLoggerTimeoutWhileQueued(t *testing.T) {
	pool := busyPool(t, 0) // its one worker is held: the job below queues
	const timeout = 50 * time.Millisecond
	h := func(c *net.Ctx) net.Result {
		job := offload.Run(c, pool, func(context.Context) (int, error) { return 0, nil })
		return runtime.Then(c, job, func(int) net.Result { return c.Text(200, "done") })
	}
	line := loggedTimeout(t, h, timeout)
	latency, loop, queued, pending := line.sec("latency"), line.sec("loop"), line.sec("offload_queue"), line.sec("pending")
	if queued < timeout || pending != 0 || loop >= queued {
		t.Fatalf("latency %v, loop %v, offload_queue %v, pending %v: want the queued job's wait (at least %v) as offload_queue", latency, loop, queued, pending, timeout)
	}
	if sum := loop + queued; sum > latency+time.Microsecond || sum < latency-time.Microsecond {
		t.Fatalf("loop %v + offload_queue %v = %v, want the latency %v", loop, queued, sum, latency)
	}
}

// TestLoggerTimeoutWhileRunning: Timeout answers while the request's
// offload job runs; its wait for the worker is offload_queue, its running
// time so far pending.
func TestLoggerTimeoutWhileRunning(t *testing.T) {
	pool := testPool(t)
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	const timeout = 200 * time.Millisecond // the idle worker takes the job long before
	h := func(c *net.Ctx) net.Result {
		job := offload.Run(c, pool, func(context.Context) (int, error) { <-release; return 0, nil })
		return runtime.Then(c, job, func(int) net.Result { return c.Text(200, "done") })
	}
	line := loggedTimeout(t, h, timeout)
	latency, loop, queued, pending := line.sec("latency"), line.sec("loop"), line.sec("offload_queue"), line.sec("pending")
	if pending == 0 || queued+loop >= timeout {
		t.Fatalf("latency %v, loop %v, offload_queue %v, pending %v: want the running job in pending", latency, loop, queued, pending)
	}
	if sum := loop + queued + pending; sum > latency+time.Microsecond || sum < latency-time.Microsecond {
		t.Fatalf("loop %v + offload_queue %v + pending %v = %v, want the latency %v", loop, queued, pending, sum, latency)
	}
}

// loggedTimeout serves one request to h behind Logger and a Timeout of d,
// expects Timeout's 503, and returns the access line.
func loggedTimeout(t *testing.T, h net.Handler, d time.Duration) logLine {
	t.Helper()
	log, sink := newLogSink(zap.InfoLevel)
	tc := testConn(t, net.Chain(h,
		middleware.Logger(middleware.LoggerConfig{Logger: log}),
		middleware.Timeout(middleware.TimeoutConfig{Timeout: d})))
	if resp, _ := serveTC(t, tc, get("/")); resp.StatusCode != 503 {
		t.Fatalf("status %d, want Timeout's 503", resp.StatusCode)
	}
	return logLine(sink.one(t))
}

// logLine is an access line's fields.
type logLine map[string]any

// sec returns a duration field (0 if absent).
func (l logLine) sec(k string) time.Duration {
	v, _ := l[k].(float64)
	return time.Duration(v * float64(time.Second))
}

func TestLoggerServerTiming(t *testing.T) {
	tests := []struct {
		name    string
		h       net.Handler
		entries []string // the Server-Timing names; nil: no header
	}{
		{"synchronous", plainText, []string{"loop"}},
		{"on a timer", after(time.Millisecond, "ok"), []string{"loop"}},
		{"failed", func(c *net.Ctx) net.Result { return net.Fail(net.NewError(409, "")) }, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tc := testConn(t, net.Chain(tt.h, middleware.Logger(middleware.LoggerConfig{ServerTiming: true})))
			resp, _ := serveTC(t, tc, get("/"))
			v := resp.Header.Get("Server-Timing")
			if tt.entries == nil {
				if v != "" {
					t.Fatalf("Server-Timing %q on a failed request, want none", v)
				}
				return
			}
			st := serverTiming(t, v)
			if len(st) != len(tt.entries) {
				t.Fatalf("Server-Timing %q, want entries %v", v, tt.entries)
			}
			for _, name := range tt.entries {
				if _, ok := st[name]; !ok {
					t.Fatalf("Server-Timing %q, want entries %v", v, tt.entries)
				}
			}
		})
	}
}

func TestLoggerOptions(t *testing.T) {
	tests := []struct {
		name  string
		cfg   func(*zap.Logger) middleware.LoggerConfig
		core  zapcore.Level
		path  string
		lines int
		msg   string
	}{
		{"message", func(l *zap.Logger) middleware.LoggerConfig {
			return middleware.LoggerConfig{Logger: l, Message: "access"}
		}, zap.InfoLevel, "/", 1, "access"},
		{"level below the core's", func(l *zap.Logger) middleware.LoggerConfig {
			return middleware.LoggerConfig{Logger: l, Level: zap.DebugLevel}
		}, zap.InfoLevel, "/", 0, ""},
		{"level at the core's", func(l *zap.Logger) middleware.LoggerConfig {
			return middleware.LoggerConfig{Logger: l, Level: zap.WarnLevel}
		}, zap.WarnLevel, "/", 1, "request"},
		{"skipped", func(l *zap.Logger) middleware.LoggerConfig {
			return middleware.LoggerConfig{Logger: l, Skip: func(c *net.Ctx) bool { return c.Path() == "/health" }}
		}, zap.InfoLevel, "/health", 0, ""},
		{"not skipped", func(l *zap.Logger) middleware.LoggerConfig {
			return middleware.LoggerConfig{Logger: l, Skip: func(c *net.Ctx) bool { return c.Path() == "/health" }}
		}, zap.InfoLevel, "/users", 1, "request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			log, sink := newLogSink(tt.core)
			tc := testConn(t, net.Chain(plainText, middleware.Logger(tt.cfg(log))))
			serveTC(t, tc, get(tt.path))
			lines := sink.lines(t)
			if len(lines) != tt.lines {
				t.Fatalf("%d lines, want %d", len(lines), tt.lines)
			}
			if tt.lines == 1 && lines[0]["msg"] != tt.msg {
				t.Fatalf("message %v, want %q", lines[0]["msg"], tt.msg)
			}
		})
	}
}

// TestLoggerOverTheNetwork: the remote field is the client's address.
func TestLoggerOverTheNetwork(t *testing.T) {
	log, sink := newLogSink(zap.InfoLevel)
	_, addr := startServer(t, net.Chain(plainText, middleware.Logger(middleware.LoggerConfig{Logger: log})), 1)
	conn := dialRaw(t, addr)
	conn.send(get("/"))
	if resp, _ := conn.read("GET"); resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	if got, want := sink.one(t)["remote"], conn.c.LocalAddr().String(); got != want {
		t.Fatalf("remote %v, want %v", got, want)
	}
}

func TestLoggerAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops items at random under -race")
	}
	tests := []struct {
		name string
		cfg  middleware.LoggerConfig
		max  float64
	}{
		{"nop logger", middleware.LoggerConfig{}, 0},
		// One for a line written: its request strings are copied (a
		// core may keep them).
		{"json logger", middleware.LoggerConfig{Logger: discardLogger()}, 1},
		{"level disabled", middleware.LoggerConfig{Logger: discardLogger(), Level: zap.DebugLevel}, 0},
		{"with Server-Timing", middleware.LoggerConfig{Logger: discardLogger(), ServerTiming: true}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if allocs := allocsPerRequest(t, net.Chain(plainText, middleware.Logger(tt.cfg)), get("/")); allocs != tt.max {
				t.Fatalf("%v allocations per request, want %v", allocs, tt.max)
			}
		})
	}
}

func ExampleLogger() {
	// An unsampled JSON logger: zap's production config samples, and
	// would drop access lines under load.
	// (A real server writes to os.Stderr or a file, through a
	// zapcore.BufferedWriteSyncer, and calls log.Sync at shutdown.)
	enc := zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig())
	log := zap.New(zapcore.NewCore(enc, zapcore.AddSync(io.Discard), zap.InfoLevel))

	r := router.New()
	r.Use(
		middleware.RequestID(middleware.RequestIDConfig{}),
		middleware.Logger(middleware.LoggerConfig{Logger: log, ServerTiming: true}),
	)
	r.GET("/hello", func(c *net.Ctx) net.Result { return c.Text(200, "hello") })

	tc, _ := net.NewTestConn(&net.Server{Handler: r.Serve})
	defer tc.Close()
	out, _ := tc.Serve([]byte("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n"), time.Second)
	resp, _ := http.ReadResponse(bufioReader(out), nil)
	// The log got a line like {"level":"info","ts":1.7e9,"msg":"request",
	// "method":"GET","path":"/hello","route":"/hello","status":200,
	// "bytes":5,"latency":0.0000021,"loop":0.0000021,"offload_queue":0,
	// "offload":0,"blocking":0,"request_id":"...","remote":"192.0.2.1:1234"}
	fmt.Println(strings.HasPrefix(resp.Header.Get("Server-Timing"), "loop;dur="))
	// Output: true
}

func BenchmarkLogger(b *testing.B) {
	req := get("/")
	runBench(b, []benchCase{
		{"bare", plainText, req},
		{"nop", net.Chain(plainText, middleware.Logger(middleware.LoggerConfig{})), req},
		{"json-discard", net.Chain(plainText, middleware.Logger(middleware.LoggerConfig{Logger: discardLogger()})), req},
		{"json-discard/server-timing", net.Chain(plainText, middleware.Logger(middleware.LoggerConfig{Logger: discardLogger(), ServerTiming: true})), req},
		{"bare/async", after(0, "ok"), req},
		{"json-discard/async", net.Chain(after(0, "ok"), middleware.Logger(middleware.LoggerConfig{Logger: discardLogger()})), req},
	})
}

// TestLoggerFieldsOutliveTheRequest is the regression test of issue 8 §5.4:
// a core that keeps fields (here zap's observer) read the method and path
// of a later request, since they were views of the request's bytes.
func TestLoggerFieldsOutliveTheRequest(t *testing.T) {
	core, logs := observer.New(zap.InfoLevel)
	tc := testConn(t, net.Chain(plainText, middleware.Logger(middleware.LoggerConfig{Logger: zap.New(core)})))
	for _, p := range []string{"/first", "/other"} {
		if _, err := tc.Serve([]byte(get(p)), time.Second); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	for _, e := range logs.All() {
		f := e.ContextMap()
		got = append(got, fmt.Sprint(f["method"], " ", f["path"], " ", f["remote"]))
	}
	want := []string{"GET /first 192.0.2.1:1234", "GET /other 192.0.2.1:1234"}
	if !slices.Equal(got, want) {
		t.Fatalf("logged %q; want %q", got, want)
	}
}

// panicCore is a zapcore.Core whose writes panic (a broken sink).
type panicCore struct{ zapcore.Core }

func (c panicCore) Enabled(zapcore.Level) bool        { return true }
func (c panicCore) With([]zapcore.Field) zapcore.Core { return c }
func (c panicCore) Check(e zapcore.Entry, ce *zapcore.CheckedEntry) *zapcore.CheckedEntry {
	return ce.AddCore(e, c)
}
func (panicCore) Write(zapcore.Entry, []zapcore.Field) error { panic("the log sink is down") }

// settleTask resolves p when the loop runs it.
type settleTask struct{ p runtime.Promise[struct{}] }

func (s *settleTask) Run() { s.p.Resolve(struct{}{}) }

// TestLoggerPanickingCoreAfterPendingResult: a Logger whose core panics
// while it logs a Result that settled after the handler returned must not
// take the request down with it: the response is still sent, and the
// connection serves its next request, with the same Ctx: the first one's
// was recycled, not left held by the listener that panicked.
func TestLoggerPanickingCoreAfterPendingResult(t *testing.T) {
	log := zap.New(panicCore{zapcore.NewNopCore()})
	var ctxs []*net.Ctx
	h := func(c *net.Ctx) net.Result {
		ctxs = append(ctxs, c)
		st := &settleTask{p: runtime.NewPromise[struct{}](c.Loop())}
		c.Text(200, "later")
		if err := c.Loop().Post(st); err != nil {
			return net.Fail(err)
		}
		return st.p.Future()
	}
	tc := testConn(t, middleware.Logger(middleware.LoggerConfig{Logger: log})(h))
	for i := range 2 {
		out, err := tc.Serve([]byte(get("/later")), 5*time.Second)
		if err != nil || !strings.Contains(string(out), "later") {
			t.Fatalf("request %d: %v, response %q", i, err, out)
		}
	}
	if ctxs[0] != ctxs[1] {
		t.Fatal("the first request's Ctx was never recycled: the second request got another")
	}
}
