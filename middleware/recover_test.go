package middleware_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/weftgo/weft/middleware"
	"github.com/weftgo/weft/net"
	"github.com/weftgo/weft/offload"
	"github.com/weftgo/weft/router"
	"github.com/weftgo/weft/runtime"
)

// The panicking handlers: each panics somewhere else in a request's life.

//go:noinline
func panicNow(c *net.Ctx) net.Result { panic("boom in the handler") }

func panicInContinuation(c *net.Ctx) net.Result {
	f := runtime.Blocking(c, func(context.Context) (int, error) { return 1, nil })
	return runtime.Then(c, f, func(int) net.Result { panic("boom in a continuation") })
}

func panicInReadyContinuation(c *net.Ctx) net.Result {
	return runtime.Then(c, runtime.Resolved(1), func(int) net.Result { panic("boom in a ready continuation") })
}

func panicInBlocking(c *net.Ctx) net.Result {
	f := runtime.Blocking(c, func(context.Context) (int, error) { panic("boom in Blocking") })
	return runtime.Then(c, f, func(int) net.Result { return c.Text(200, "unreachable") })
}

func panicWithError(c *net.Ctx) net.Result { panic(errors.New("an error value")) }

func TestRecover(t *testing.T) {
	pool := testPool(t)
	panicInOffload := func(c *net.Ctx) net.Result {
		f := offload.Run(c, pool, func(context.Context) (int, error) { panic("boom in an offload job") })
		return runtime.Then(c, f, func(int) net.Result { return c.Text(200, "unreachable") })
	}
	tests := []struct {
		name  string
		h     net.Handler
		panic string // the logged panic value
		stack string // a function the logged stack must show
	}{
		{"in the handler", panicNow, "boom in the handler", "panicNow"},
		{"in a continuation", panicInContinuation, "boom in a continuation", "panicInContinuation"},
		{"in a ready continuation", panicInReadyContinuation, "boom in a ready continuation", "panicInReadyContinuation"},
		{"in a Blocking call", panicInBlocking, "boom in Blocking", "panicInBlocking"},
		{"in an offload job", panicInOffload, "boom in an offload job", "TestRecover"},
		{"with an error value", panicWithError, "an error value", "panicWithError"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			log, sink := newLogSink(zap.InfoLevel)
			mw := []net.Middleware{middleware.RequestID(middleware.RequestIDConfig{}), middleware.Recover(middleware.RecoverConfig{Logger: log})}
			resp, body := serveRouted(t, mw, "/things/:id", tt.h, get("/things/7?x=1", "X-Request-ID: req-42"))
			if resp.StatusCode != 500 || body != "Internal Server Error" {
				t.Fatalf("%d %q, want 500 from the server's error handler", resp.StatusCode, body)
			}
			line := sink.one(t)
			checkFields(t, line, map[string]any{"level": "error", "msg": "panic recovered", "method": "GET", "path": "/things/7",
				"route": "/things/:id", "request_id": "req-42", "panic": tt.panic})
			if stack, _ := line["stack"].(string); !strings.Contains(stack, tt.stack) {
				t.Errorf("logged stack does not show %s:\n%s", tt.stack, stack)
			}
		})
	}
}

func TestRecoverPassesOtherResults(t *testing.T) {
	log, sink := newLogSink(zap.InfoLevel)
	tests := []struct {
		name   string
		h      net.Handler
		status int
	}{
		{"success", plainText, 200},
		{"error", func(c *net.Ctx) net.Result { return net.Fail(net.NewError(409, "")) }, 409},
		{"asynchronous error", func(c *net.Ctx) net.Result {
			f := runtime.Blocking(c, func(context.Context) (int, error) { return 0, net.NewError(502, "") })
			return runtime.Then(c, f, func(int) net.Result { return c.Text(200, "") })
		}, 502},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tc := testConn(t, net.Chain(tt.h, middleware.Recover(middleware.RecoverConfig{Logger: log})))
			if resp, _ := serveTC(t, tc, get("/")); resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tt.status)
			}
			if ls := sink.lines(t); len(ls) != 0 {
				t.Fatalf("logged %v for a request that did not panic", ls)
			}
		})
	}
}

func TestRecoverCustomHandler(t *testing.T) {
	var got *runtime.PanicError
	custom := func(c *net.Ctx, p *runtime.PanicError) net.Result {
		got = p
		return c.JSON(503, map[string]string{"error": "try again"})
	}
	for _, h := range []net.Handler{panicNow, panicInContinuation} {
		got = nil
		tc := testConn(t, net.Chain(h, middleware.Recover(middleware.RecoverConfig{Handler: custom})))
		resp, body := serveTC(t, tc, get("/"))
		if resp.StatusCode != 503 || body != `{"error":"try again"}` {
			t.Fatalf("%d %q, want the custom answer", resp.StatusCode, body)
		}
		if got == nil || len(got.Stack) == 0 {
			t.Fatalf("the handler got %v, want the panic with its stack", got)
		}
	}
}

// TestRecoverOverTheNetwork: after a panic, in the handler or in a
// continuation, the same keep-alive connection serves the next request.
func TestRecoverOverTheNetwork(t *testing.T) {
	log, sink := newLogSink(zap.InfoLevel)
	r := router.New()
	r.Use(middleware.Recover(middleware.RecoverConfig{Logger: log}))
	r.GET("/now", panicNow)
	r.GET("/later", panicInContinuation)
	r.GET("/ok", plainText)
	_, addr := startServer(t, r.Serve, 1)
	conn := dialRaw(t, addr)
	for _, path := range []string{"/now", "/later", "/now"} {
		conn.send(get(path))
		if resp, _ := conn.read("GET"); resp.StatusCode != 500 || resp.Close {
			t.Fatalf("%s: %d (close %v), want 500 on a kept connection", path, resp.StatusCode, resp.Close)
		}
		conn.send(get("/ok"))
		if resp, body := conn.read("GET"); resp.StatusCode != 200 || body != "Hello, World!" {
			t.Fatalf("after %s: %d %q", path, resp.StatusCode, body)
		}
	}
	if n := len(sink.lines(t)); n != 3 {
		t.Fatalf("%d log lines, want one per panic (3)", n)
	}
}

func TestRecoverAllocations(t *testing.T) {
	h := net.Chain(plainText, middleware.Recover(middleware.RecoverConfig{Logger: discardLogger()}))
	if allocs := allocsPerRequest(t, h, get("/")); allocs != 0 {
		t.Fatalf("%v allocations per request, want 0", allocs)
	}
}

func ExampleRecover() {
	h := net.Chain(func(c *net.Ctx) net.Result {
		var m map[string]int
		m["x"] = 1 // panics: assignment to entry in nil map
		return c.Text(200, "unreachable")
	}, middleware.Recover(middleware.RecoverConfig{
		Logger: zap.NewNop(), // zap.NewProduction() or your own, in a real server
		Handler: func(c *net.Ctx, p *runtime.PanicError) net.Result {
			return c.Text(500, "sorry")
		},
	}))

	tc, _ := net.NewTestConn(&net.Server{Handler: h})
	defer tc.Close()
	out, _ := tc.Serve([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), time.Second)
	resp, _ := http.ReadResponse(bufioReader(out), nil)
	fmt.Println(resp.StatusCode)
	// Output: 500
}

func BenchmarkRecover(b *testing.B) {
	req := get("/")
	runBench(b, []benchCase{
		{"bare", plainText, req},
		{"recover", net.Chain(plainText, middleware.Recover(middleware.RecoverConfig{Logger: discardLogger()})), req},
		{"recover/panic", net.Chain(panicNow, middleware.Recover(middleware.RecoverConfig{Logger: discardLogger()})), req},
	})
}

func TestPanicLoggedOnce(t *testing.T) {
	tests := []struct {
		name      string
		recoverer *zap.Logger // Recover's logger; nil: no Recover
		want      string      // the one line's message
	}{
		{"by Recover, when it logs", zap.NewNop(), "panic recovered"},
		{"by the server, without Recover", nil, "panic in a handler"},
		{"by the server, when Recover's logger is off", zap.NewNop().WithOptions(zap.IncreaseLevel(zap.FatalLevel)), "panic in a handler"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			log, sink := newLogSink(zap.InfoLevel)
			mw := []net.Middleware{middleware.RequestID(middleware.RequestIDConfig{})}
			if tt.recoverer != nil {
				rl := log
				if tt.want != "panic recovered" {
					rl = tt.recoverer
				}
				mw = append(mw, middleware.Recover(middleware.RecoverConfig{Logger: rl}))
			}
			r := router.New()
			r.GET("/p", panicNow)
			tc, err := net.NewTestConn(&net.Server{Handler: net.Chain(r.Serve, mw...), Logger: log})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(tc.Close)
			if resp, _ := serveTC(t, tc, get("/p", "X-Request-ID: req-9")); resp.StatusCode != 500 {
				t.Fatalf("status %d, want 500", resp.StatusCode)
			}
			lines := sink.lines(t)
			if len(lines) != 1 {
				t.Fatalf("%d lines for one panic, want 1: %v", len(lines), lines)
			}
			checkFields(t, lines[0], map[string]any{"level": "error", "msg": tt.want, "route": "/p", "request_id": "req-9"})
			if stack, _ := lines[0]["stack"].(string); !strings.Contains(stack, "panicNow") {
				t.Errorf("the line's stack does not show panicNow:\n%s", stack)
			}
		})
	}
}
