package weftotel_test

import (
	"bufio"
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"go.uber.org/goleak"

	"github.com/weftgo/weft/middleware/weftotel"
	"github.com/weftgo/weft/net"
	"github.com/weftgo/weft/router"
	"github.com/weftgo/weft/runtime"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		// gnet's shared worker pool (ants) runs for the process.
		goleak.IgnoreAnyFunction("github.com/panjf2000/ants/v2.(*goWorker).run.func1"),
		goleak.IgnoreTopFunction("github.com/panjf2000/ants/v2.(*poolCommon).purgeStaleWorkers"),
		goleak.IgnoreTopFunction("github.com/panjf2000/ants/v2.(*poolCommon).ticktock"),
	)
}

const traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

func TestServerSpan(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })

	var inBlocking trace.SpanContext
	r := router.New()
	r.GET("/users/:id", func(c *net.Ctx) net.Result {
		f := runtime.Blocking(c, func(ctx context.Context) (trace.SpanContext, error) {
			return trace.SpanContextFromContext(ctx), nil
		})
		return runtime.Then(c, f, func(sc trace.SpanContext) net.Result {
			inBlocking = sc
			return c.Text(200, "ok")
		})
	})
	r.GET("/fail", func(c *net.Ctx) net.Result { return net.Fail(errors.New("db down")) })
	h := net.Chain(r.Serve, weftotel.Middleware(weftotel.Config{TracerProvider: tp, Propagator: propagation.TraceContext{}}))
	tc, err := net.NewTestConn(&net.Server{Handler: h})
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Close()

	tests := []struct {
		name, req  string
		span       string
		status     int
		errStatus  bool
		parentFrom bool
	}{
		{"routed, with a parent", "GET /users/7 HTTP/1.1\r\nHost: x\r\nTraceparent: " + traceparent + "\r\n\r\n", "GET /users/:id", 200, false, true},
		{"a failure", "GET /fail HTTP/1.1\r\nHost: x\r\n\r\n", "GET /fail", 500, true, false},
		{"no route", "GET /nowhere HTTP/1.1\r\nHost: x\r\n\r\n", "GET", 404, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := tc.Serve([]byte(tt.req), 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := http.ReadResponse(bufio.NewReader(strings.NewReader(string(out))), nil)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tt.status)
			}
			spans := rec.Ended()
			s := spans[len(spans)-1]
			if s.Name() != tt.span || s.SpanKind() != trace.SpanKindServer {
				t.Errorf("span %q kind %v, want %q, server", s.Name(), s.SpanKind(), tt.span)
			}
			attrs := map[attribute.Key]attribute.Value{}
			for _, a := range s.Attributes() {
				attrs[a.Key] = a.Value
			}
			if attrs["http.response.status_code"].AsInt64() != int64(tt.status) || attrs["http.request.method"].AsString() != "GET" {
				t.Errorf("attributes %v", s.Attributes())
			}
			if (s.Status().Code == codes.Error) != tt.errStatus {
				t.Errorf("span status %v, want error %v", s.Status(), tt.errStatus)
			}
			if tt.parentFrom && s.Parent().TraceID().String() != "4bf92f3577b34da6a3ce929d0e0e4736" {
				t.Errorf("parent %v, want the traceparent's trace", s.Parent())
			}
			var split bool
			for _, e := range s.Events() {
				split = split || e.Name == "weft.time_split"
			}
			if !split {
				t.Errorf("no weft.time_split event: %v", s.Events())
			}
		})
	}
	routed := rec.Ended()[0]
	if inBlocking.SpanID() != routed.SpanContext().SpanID() {
		t.Errorf("the Blocking call's ctx carried span %v, want the request's %v", inBlocking.SpanID(), routed.SpanContext().SpanID())
	}
	var blocking float64
	for _, e := range routed.Events() {
		for _, a := range e.Attributes {
			if a.Key == "blocking" {
				blocking = a.Value.AsFloat64()
			}
		}
	}
	if blocking <= 0 {
		t.Errorf("the time split's blocking is %v, want the Blocking call's time", blocking)
	}
}
