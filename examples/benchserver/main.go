// Command benchserver serves the endpoints of the benchmark harness
// (bench/ in this repository; see docs/benchmarks.md) with
// framework defaults and no logging on the hot path:
//
//	GET  /plaintext   Hello, World! (text/plain)
//	GET  /json        {"message":"Hello, World!"}, serialized per request
//	GET  /users/:id   {"id":"<id>"}
//	POST /echo        the request body back
//	GET  /cpu         the CPU job (see cpu.go) run through offload
//	GET  /metrics     Prometheus metrics (docs/observability.md)
//	GET  /block?ms=N  spins on the loop for N ms (default 500): a handler
//	                  that blocks its loop, to see the blocked-loop warning
//	GET  /debug/pprof/...  net/http/pprof through nethttp.Handler (off the
//	                  loop): cmdline, profile?seconds=N, trace?seconds=N, ...
//	GET  /ws          WebSocket echo, 16 MiB messages, deflate when offered (ws.go)
//	GET  /bytes/:n    exactly n bytes ('a' + i%26), streamed (stream.go)
//	GET  /sse?n=N&every=MS  N Server-Sent Events MS ms apart (stream.go)
//	POST /sha256      the hex SHA-256 of the body, read as a stream (stream.go)
//
// It listens on 127.0.0.1:$PORT (default 8080) and stops gracefully on
// SIGTERM or SIGINT. The server logs warnings and above as JSON to stderr
// (no access log). WEFT_METRICS=0 turns metrics off (no middleware; /metrics
// answers 404); WEFT_METRICS_SERIES=N adds N synthetic series to every
// scrape, to measure a large scrape's cost. WEFT_MIDDLEWARE=1 serves through RequestID, Logger and
// Recover (access lines to /dev/null; =buffered through zap's
// BufferedWriteSyncer); WEFT_CPUPROFILE=file writes a CPU
// profile of the run, WEFT_TRACE=file an execution trace. WEFT_LOOPS=N runs
// N event loops instead of net's default (one per CPU).
// WEFT_STREAM_MARK=N sets Server.StreamHighWaterBytes to N bytes (unset or
// not a positive integer: the server's default), to compare marks.
//
// /cpu through NATS (NATS_URL, LOCAL_WORKERS=0, worker processes) is
// offload/nats/examples/benchserver: the same endpoints in the offload/nats
// module, so that weft's module does not require NATS. This one refuses to
// start with NATS_URL set rather than quietly run every job locally.
package main

import (
	"context"
	"log"
	"net/http"
	httppprof "net/http/pprof"
	"os"
	"os/signal"
	"runtime/pprof"
	"runtime/trace"
	"strconv"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/weftgo/weft/middleware"
	"github.com/weftgo/weft/net"
	"github.com/weftgo/weft/net/nethttp"
	"github.com/weftgo/weft/offload"
	"github.com/weftgo/weft/router"
	"github.com/weftgo/weft/runtime"
)

type message struct {
	Message string `json:"message"`
}

type user struct {
	ID string `json:"id"`
}

// spinOnLoop burns the loop for d: what a handler must never do.
func spinOnLoop(d time.Duration) {
	for start := time.Now(); time.Since(start) < d; {
	}
}

func routes(pool *offload.Pool, job cpuJob) *router.Router {
	r := router.New()
	r.GET("/block", func(c *net.Ctx) net.Result {
		ms, err := strconv.Atoi(c.Query("ms"))
		if err != nil || ms < 0 {
			ms = 500
		}
		spinOnLoop(time.Duration(min(ms, 60_000)) * time.Millisecond)
		return c.Text(net.StatusOK, "spun "+strconv.Itoa(ms)+" ms on the loop\n")
	})
	r.GET("/cpu", func(c *net.Ctx) net.Result {
		digest := offload.Run(c, pool, job.run)
		return runtime.Then(c, digest, func(hex string) net.Result {
			return c.Text(net.StatusOK, hex)
		})
	})
	r.GET("/plaintext", func(c *net.Ctx) net.Result {
		return c.Text(net.StatusOK, "Hello, World!")
	})
	r.GET("/debug/pprof/*rest", nethttp.Handler(pprofMux()))
	r.GET("/json", func(c *net.Ctx) net.Result {
		return c.JSON(net.StatusOK, message{Message: "Hello, World!"})
	})
	r.GET("/users/:id", func(c *net.Ctx) net.Result {
		return c.JSON(net.StatusOK, user{ID: c.Param("id")})
	})
	r.POST("/echo", func(c *net.Ctx) net.Result {
		ct := c.Header("Content-Type")
		if ct == "" {
			ct = "application/octet-stream"
		}
		return c.Send(net.StatusOK, ct, c.Body())
	})
	streamRoutes(r)
	return r
}

// pprofMux serves net/http/pprof's handlers, registered on a mux of its
// own rather than on http.DefaultServeMux.
func pprofMux() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", httppprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", httppprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", httppprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", httppprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", httppprof.Trace)
	return mux
}

// accessStack is RequestID, Logger and Recover, logging to /dev/null, one
// write per line, or through zap's BufferedWriteSyncer if buffered.
func accessStack(buffered bool) []net.Middleware {
	devnull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		log.Fatal(err)
	}
	var out zapcore.WriteSyncer = devnull
	if buffered {
		out = &zapcore.BufferedWriteSyncer{WS: devnull}
	}
	core := zapcore.NewCore(zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig()), out, zap.InfoLevel)
	logger := zap.New(core)
	return []net.Middleware{
		middleware.RequestID(middleware.RequestIDConfig{}),
		middleware.Logger(middleware.LoggerConfig{Logger: logger}),
		middleware.Recover(middleware.RecoverConfig{Logger: logger}),
	}
}

// warnLogger logs warnings and above (a blocked loop, a panic, a failed
// accept) as JSON lines to stderr.
func warnLogger() *zap.Logger {
	core := zapcore.NewCore(zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig()), zapcore.Lock(os.Stderr), zap.WarnLevel)
	return zap.New(core)
}

func main() {
	if path := os.Getenv("WEFT_CPUPROFILE"); path != "" {
		// For profiling under load: written when the server stops.
		f, err := os.Create(path)
		if err != nil {
			log.Fatal(err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			log.Fatal(err)
		}
		defer pprof.StopCPUProfile()
	}
	if path := os.Getenv("WEFT_TRACE"); path != "" {
		// An execution trace of the run, for scheduling latency.
		f, err := os.Create(path)
		if err != nil {
			log.Fatal(err)
		}
		if err := trace.Start(f); err != nil {
			log.Fatal(err)
		}
		defer trace.Stop()
	}
	if os.Getenv("NATS_URL") != "" {
		log.Fatal("benchserver: NATS_URL is set, but this build runs /cpu locally; " +
			"build the NATS one: go -C offload/nats build -o <bin> ./examples/benchserver")
	}
	port := os.Getenv("PORT")
	if port == "" {
		port = "8080"
	}
	pool, err := offload.New(poolConfigFromEnv())
	if err != nil {
		log.Fatal(err)
	}
	r := routes(pool, cpuJobFromEnv())
	ws := addWebSocket(r)
	srv := &net.Server{
		Addr:       "127.0.0.1:" + port,
		Logger:     warnLogger(),
		OnShutdown: []func(context.Context) error{pool.Close},
		StreamBody: r.StreamBody,            // POST /sha256 (stream.go)
		Loops:      envInt("WEFT_LOOPS", 0), // 0: net's default, one per CPU
		// 0 (unset) is the server's default mark.
		StreamHighWaterBytes: envInt("WEFT_STREAM_MARK", 0),
	}
	var mw []net.Middleware
	if os.Getenv("WEFT_METRICS") != "0" {
		reg := prometheus.NewRegistry()
		r.GET("/metrics", middleware.Handler(reg))
		var labels []middleware.RouteLabels
		for _, rt := range r.Routes() {
			labels = append(labels, middleware.RouteLabels{Method: rt.Method, Pattern: rt.Pattern})
		}
		m, err := middleware.NewMetrics(middleware.MetricsConfig{Registerer: reg, Server: srv, Routes: labels,
			Pools: []middleware.OffloadSource{pool},
			WebSockets: []middleware.WebSocketSource{middleware.WebSocketSourceFunc("/ws", func() middleware.WebSocketStats {
				return middleware.WebSocketStats(ws.Stats())
			})}})
		if err != nil {
			log.Fatal(err)
		}
		if n := envInt("WEFT_METRICS_SERIES", 0); n > 0 {
			synthetic := prometheus.NewGaugeVec(prometheus.GaugeOpts{
				Name: "benchserver_synthetic", Help: "Synthetic series that make a scrape large.",
			}, []string{"series"})
			for i := range n {
				synthetic.WithLabelValues(strconv.Itoa(i)).Set(float64(i))
			}
			reg.MustRegister(synthetic)
		}
		mw = append(mw, m.Middleware())
	}
	if os.Getenv("WEFT_MIDDLEWARE") != "" {
		// For the middleware benchmark: RequestID, Logger and Recover,
		// access lines encoded as JSON to /dev/null through an unsampled
		// core.
		mw = append(mw, accessStack(os.Getenv("WEFT_MIDDLEWARE") == "buffered")...)
	}
	srv.Handler = net.Chain(r.Serve, mw...)
	if err := srv.Start(); err != nil {
		log.Fatal(err)
	}
	stop, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	<-stop.Done()
	ctx, cancelShutdown := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancelShutdown()
	if err := srv.Shutdown(ctx); err != nil {
		log.Print(err)
	}
	if os.Getenv("OFFLOAD_STATS") == "1" {
		st := pool.Stats()
		log.Printf("offload: %d jobs submitted, %d on the fast lane, %d rejected", st.Submitted, st.FastLane, st.Rejected)
	}
}

// poolConfigFromEnv is the offload pool's configuration: OFFLOAD_NICE,
// OFFLOAD_WORKERS, OFFLOAD_YIELD_US and OFFLOAD_FASTLANE_US (unset or 0:
// offload's defaults; a negative NICE: workers on ordinary goroutines, not
// niced; a negative YIELD_US or FASTLANE_US: never, off).
func poolConfigFromEnv() offload.Config {
	return offload.Config{
		Nice:       max(envSigned("OFFLOAD_NICE"), -1) % 20, // 0: the default; negative: ordinary goroutines
		Workers:    envInt("OFFLOAD_WORKERS", 0),
		YieldEvery: time.Duration(envSigned("OFFLOAD_YIELD_US")) * time.Microsecond,
		FastLane:   time.Duration(envSigned("OFFLOAD_FASTLANE_US")) * time.Microsecond,
	}
}
