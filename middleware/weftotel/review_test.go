package weftotel_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/weftgo/weft/middleware/weftotel"
	"github.com/weftgo/weft/net"
)

func spanAttrs(s sdktrace.ReadOnlySpan) map[attribute.Key]string {
	attrs := map[attribute.Key]string{}
	for _, a := range s.Attributes() {
		attrs[a.Key] = a.Value.Emit()
	}
	return attrs
}

// A span outlives its request: an exporter reads it later, off the loop. Its
// attributes must not be views of the request's bytes, which the next
// request on the same Ctx overwrites.
func TestSpanAttributesOutliveTheRequest(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	h := net.Chain(func(c *net.Ctx) net.Result { return c.Text(200, "ok") },
		weftotel.Middleware(weftotel.Config{TracerProvider: tp, Propagator: propagation.TraceContext{}}))
	tc, err := net.NewTestConn(&net.Server{Handler: h})
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Close()
	reqs := []struct{ method, path, state string }{{"GET", "/aaaa", "k=aaaa"}, {"PUT", "/bbbb", "k=bbbb"}}
	for _, r := range reqs {
		req := r.method + " " + r.path + " HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nTraceparent: " + traceparent + "\r\nTracestate: " + r.state + "\r\n\r\n"
		if _, err := tc.Serve([]byte(req), 5*time.Second); err != nil {
			t.Fatal(err)
		}
	}
	spans := rec.Ended()
	if len(spans) != len(reqs) {
		t.Fatalf("%d spans, want %d", len(spans), len(reqs))
	}
	for i, r := range reqs {
		attrs := spanAttrs(spans[i])
		if attrs["url.path"] != r.path || attrs["http.request.method"] != r.method || spans[i].Name() != r.method {
			t.Errorf("span %d: name %q, url.path %q, method %q; want %s %s", i, spans[i].Name(), attrs["url.path"], attrs["http.request.method"], r.method, r.path)
		}
		if got := spans[i].SpanContext().TraceState().String(); got != r.state {
			t.Errorf("span %d: tracestate %q, want %q", i, got, r.state)
		}
	}
}

// A panic below the middleware still ends the span, as a 500 with an error
// status: a span never ended is never exported.
func TestPanicEndsTheSpan(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	h := net.Chain(func(c *net.Ctx) net.Result { panic("boom") },
		weftotel.Middleware(weftotel.Config{TracerProvider: tp, Propagator: propagation.TraceContext{}}))
	tc, err := net.NewTestConn(&net.Server{Handler: h})
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Close()
	out, err := tc.Serve([]byte("GET /p HTTP/1.1\r\nHost: x\r\n\r\n"), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(out), "HTTP/1.1 500 ") {
		t.Fatalf("response %q, want a 500", out)
	}
	spans := rec.Ended()
	if len(spans) != 1 {
		t.Fatalf("%d spans ended, want 1", len(spans))
	}
	if got := spanAttrs(spans[0])["http.response.status_code"]; got != "500" {
		t.Errorf("http.response.status_code %q, want 500", got)
	}
	if spans[0].Status().Code != codes.Error {
		t.Errorf("span status %v, want an error", spans[0].Status())
	}
}
