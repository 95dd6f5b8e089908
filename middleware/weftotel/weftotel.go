// Package weftotel traces weft requests with OpenTelemetry: one server span
// per request, named after its route, carrying the time split of
// middleware.Logger as an event, and propagated into the Blocking calls and
// offload jobs the request starts.
//
// It is a module of its own (github.com/weftgo/weft/middleware/weftotel),
// so that weft's go.mod stays free of OpenTelemetry for those who do not
// use it.
//
//	srv.Handler = net.Chain(r.Serve, weftotel.Middleware(weftotel.Config{}))
//
// # Concurrency
//
// The middleware runs on the loops and is safe for concurrent use by every
// loop. The span is ended on the request's loop, when its Result settles.
package weftotel

import (
	"strings"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/weftgo/weft/net"
	"github.com/weftgo/weft/runtime"
)

// Config configures Middleware. The zero value uses the global tracer
// provider and propagator (otel.GetTracerProvider, otel.GetTextMapPropagator).
type Config struct {
	TracerProvider trace.TracerProvider
	Propagator     propagation.TextMapPropagator
}

const instrumentation = "github.com/weftgo/weft/middleware/weftotel"

// Middleware returns middleware that starts a server span for each request,
// as a child of the trace the request's headers carry (W3C traceparent with
// the default propagator), and ends it when the handler's Result settles.
//
// The span is named "METHOD route" (the pattern the router matched; just
// "METHOD" when none did) and carries OpenTelemetry's HTTP server
// attributes: http.request.method, url.path, http.route,
// http.response.status_code, and an error status for a 5xx. Its
// "weft.time_split" event has the request's time split in seconds (loop,
// offload_queue, offload, blocking, pending: see middleware.Logger).
//
// The request's context (Ctx.Context) carries the span from then on, so
// runtime.Blocking functions and offload jobs started with the Ctx get it
// in their ctx and can start child spans.
//
// A panic below it ends the span as a 500 with an error status, and is
// handed on as a failed Result (a *runtime.PanicError), as the server
// would answer it.
//
// Place it outermost. Each request costs the span's allocations (the SDK's),
// so it is for services that trace.
func Middleware(cfg Config) net.Middleware {
	tp, prop := cfg.TracerProvider, cfg.Propagator
	if tp == nil {
		tp = otel.GetTracerProvider()
	}
	if prop == nil {
		prop = otel.GetTextMapPropagator()
	}
	tracer := tp.Tracer(instrumentation)
	return func(next net.Handler) net.Handler {
		return func(c *net.Ctx) (res net.Result) {
			start := time.Now()
			parent := prop.Extract(c.Context(), headerCarrier{c})
			// Copies: the span outlives the request (an exporter reads
			// it later, off the loop), and Method and Path are views of
			// the request's bytes, which the next request rewrites.
			method := strings.Clone(c.Method())
			ctx, span := tracer.Start(parent, method,
				trace.WithSpanKind(trace.SpanKindServer),
				trace.WithTimestamp(start),
				trace.WithAttributes(
					attribute.String("http.request.method", method),
					attribute.String("url.path", strings.Clone(c.Path())),
				))
			net.SetContext(c, ctx)
			defer func() {
				// A panic below ends the span too, as the 500 it
				// becomes: a span never ended is never exported.
				if r := recover(); r != nil {
					pe := runtime.NewPanicError(r)
					finish(c, span, start, pe)
					res = net.Fail(pe)
				}
			}()
			res = next(c)
			if res.Ready() {
				_, err := res.Get()
				finish(c, span, start, err)
				return res
			}
			return res.Finally(c, func(_ struct{}, err error) { finish(c, span, start, err) })
		}
	}
}

// finish names the span after the route, records the outcome and the time
// split, and ends it.
func finish(c *net.Ctx, span trace.Span, start time.Time, err error) {
	total := time.Since(start)
	status := net.ResultStatus(c, err)
	method := c.Method()
	if route := c.Route(); route != "" {
		span.SetName(method + " " + route)
		span.SetAttributes(attribute.String("http.route", route))
	}
	span.SetAttributes(attribute.Int("http.response.status_code", status))
	if status >= 500 {
		span.SetStatus(codes.Error, net.StatusText(status))
		if err != nil {
			span.RecordError(err)
		}
	}
	t := c.Timings()
	loop := max(total-t.OffloadQueued-t.OffloadRan-t.BlockingRan-t.Pending, 0)
	span.AddEvent("weft.time_split", trace.WithAttributes(
		attribute.Float64("loop", loop.Seconds()),
		attribute.Float64("offload_queue", t.OffloadQueued.Seconds()),
		attribute.Float64("offload", t.OffloadRan.Seconds()),
		attribute.Float64("blocking", t.BlockingRan.Seconds()),
		attribute.Float64("pending", t.Pending.Seconds()),
	))
	span.End(trace.WithTimestamp(start.Add(total)))
}

// headerCarrier reads a request's headers for a propagator.
type headerCarrier struct{ c *net.Ctx }

// Get returns a copy: what a propagator parses may be kept in the span
// (tracestate), which outlives the request's bytes.
func (h headerCarrier) Get(key string) string { return strings.Clone(h.c.Header(key)) }

func (h headerCarrier) Set(string, string) {} // extraction only

func (h headerCarrier) Keys() []string {
	var keys []string
	for k := range h.c.Headers() {
		keys = append(keys, k)
	}
	return keys
}
