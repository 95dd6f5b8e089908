package middleware_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/weftgo/weft/middleware"
	"github.com/weftgo/weft/net"
	"github.com/weftgo/weft/offload"
	"github.com/weftgo/weft/runtime"
)

// after answers with body once d has passed on the loop's timer.
func after(d time.Duration, body string) net.Handler {
	return func(c *net.Ctx) net.Result {
		return runtime.Then(c, runtime.After(c, d), func(struct{}) net.Result { return c.Text(200, body) })
	}
}

func TestTimeout(t *testing.T) {
	const d = 50 * time.Millisecond
	teapot := func(c *net.Ctx) net.Result {
		return runtime.Then(c, runtime.After(c, time.Millisecond), func(struct{}) net.Result {
			return net.Fail(net.NewError(418, "short and stout"))
		})
	}
	ownTimeout := func(c *net.Ctx) net.Result {
		return runtime.WithTimeout(c, runtime.After(c, time.Hour), time.Millisecond)
	}
	custom := func(c *net.Ctx) net.Result { return c.Text(504, "gave up") }
	tests := []struct {
		name       string
		cfg        middleware.TimeoutConfig
		h          net.Handler
		status     int
		body       string
		minElapsed time.Duration
	}{
		{"synchronous handler", middleware.TimeoutConfig{Timeout: d}, plainText, 200, "Hello, World!", 0},
		{"asynchronous, in time", middleware.TimeoutConfig{Timeout: d}, after(time.Millisecond, "in time"), 200, "in time", 0},
		{"asynchronous, too late", middleware.TimeoutConfig{Timeout: d}, after(time.Hour, "late"), 503, "Service Unavailable", d},
		{"configured status", middleware.TimeoutConfig{Timeout: d, Status: 504}, after(time.Hour, "late"), 504, "Gateway Timeout", d},
		{"configured handler", middleware.TimeoutConfig{Timeout: d, Handler: custom}, after(time.Hour, "late"), 504, "gave up", d},
		{"handler's own error passes", middleware.TimeoutConfig{Timeout: d, Status: 504}, teapot, 418, "short and stout", 0},
		{"handler's own timeout answered alike", middleware.TimeoutConfig{Timeout: time.Hour, Status: 504}, ownTimeout, 504, "Gateway Timeout", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tc := testConn(t, net.Chain(tt.h, middleware.Timeout(tt.cfg)))
			start := time.Now()
			resp, body := serveTC(t, tc, get("/"))
			elapsed := time.Since(start)
			if resp.StatusCode != tt.status || body != tt.body {
				t.Fatalf("%d %q, want %d %q", resp.StatusCode, body, tt.status, tt.body)
			}
			// A lower bound only: how late it answers depends on the load.
			if elapsed < tt.minElapsed {
				t.Fatalf("answered after %v, before %v", elapsed, tt.minElapsed)
			}
		})
	}
}

// TestTimeoutHoldsTheCtx: after the 503, the connection serves its next
// request, and the first handler's late continuation still reads its own
// request (the Ctx was held, not recycled for the second request), and
// changes nothing that is sent.
func TestTimeoutHoldsTheCtx(t *testing.T) {
	release := make(chan struct{})
	seen := make(chan string, 1)
	slow := func(c *net.Ctx) net.Result {
		f := runtime.Blocking(c, func(context.Context) (struct{}, error) {
			<-release
			return struct{}{}, nil
		})
		return runtime.Then(c, f, func(struct{}) net.Result {
			seen <- c.Path() + " " + c.Header("X-Mark")
			c.SetHeader("X-Late", "yes")
			return c.Text(200, "late")
		})
	}
	mux := func(c *net.Ctx) net.Result {
		if c.Path() == "/slow" {
			return slow(c)
		}
		return c.Text(200, "fast "+c.Header("X-Mark"))
	}
	tc := testConn(t, net.Chain(mux, middleware.Timeout(middleware.TimeoutConfig{Timeout: 20 * time.Millisecond})))
	if resp, body := serveTC(t, tc, get("/slow", "X-Mark: one")); resp.StatusCode != 503 {
		t.Fatalf("first request: %d %q, want 503", resp.StatusCode, body)
	}
	if resp, body := serveTC(t, tc, get("/fast", "X-Mark: two")); resp.StatusCode != 200 || body != "fast two" {
		t.Fatalf("second request: %d %q, want 200 \"fast two\"", resp.StatusCode, body)
	}
	close(release)
	deadline := time.Now().Add(5 * time.Second)
	for {
		out, err := tc.Serve(nil, 10*time.Millisecond) // runs the loop's tasks
		if err != nil || len(out) > 0 {
			t.Fatalf("late output %q (%v)", out, err)
		}
		select {
		case got := <-seen:
			if got != "/slow one" {
				t.Fatalf("the late continuation read %q, want its own request (\"/slow one\")", got)
			}
			return
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("the late continuation never ran")
		}
		time.Sleep(time.Millisecond)
	}
}

// TestTimeoutCancelsOffloadJob runs over a real server: a CPU job on an
// offload pool that loops until its context is done. The 503 arrives at the
// deadline, the job sees the cancellation, the next request on the same
// keep-alive connection gets its own answer, and no late byte follows.
func TestTimeoutCancelsOffloadJob(t *testing.T) {
	pool := testPool(t)
	jobErr := make(chan error, 1)
	spin := func(ctx context.Context) (int, error) {
		n := 0
		for ctx.Err() == nil {
			for i := 0; i < 10000; i++ {
				n += i & 3
			}
		}
		jobErr <- ctx.Err()
		return n, ctx.Err()
	}
	mux := func(c *net.Ctx) net.Result {
		if c.Path() == "/fast" {
			return c.Text(200, "fast")
		}
		return runtime.Then(c, offload.Run(c, pool, spin), func(n int) net.Result {
			return c.Text(200, fmt.Sprint("late ", n))
		})
	}
	const d = 200 * time.Millisecond
	_, addr := startServer(t, net.Chain(mux, middleware.Timeout(middleware.TimeoutConfig{Timeout: d})), 1)
	conn := dialRaw(t, addr)

	start := time.Now()
	conn.send(get("/cpu"))
	resp, body := conn.read("GET")
	elapsed := time.Since(start)
	if resp.StatusCode != 503 || body != "Service Unavailable" {
		t.Fatalf("%d %q, want 503", resp.StatusCode, body)
	}
	if elapsed < d {
		t.Fatalf("503 after %v, before the %v deadline", elapsed, d)
	}
	select {
	case err := <-jobErr:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("the job saw %v, want context.Canceled", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the job never saw its context cancelled")
	}

	conn.send(get("/fast"))
	if resp, body := conn.read("GET"); resp.StatusCode != 200 || body != "fast" {
		t.Fatalf("next request on the connection: %d %q, want 200 \"fast\"", resp.StatusCode, body)
	}
	_ = conn.c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	if b, err := io.ReadAll(conn.br); len(b) > 0 || !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read %q (%v) after the last response, want nothing until the deadline", b, err)
	}
}

func TestTimeoutConfigPanics(t *testing.T) {
	tests := []struct {
		name, field string
		cfg         middleware.TimeoutConfig
	}{
		{"no timeout", "TimeoutConfig.Timeout", middleware.TimeoutConfig{}},
		{"negative timeout", "TimeoutConfig.Timeout", middleware.TimeoutConfig{Timeout: -time.Second}},
		{"bad status", "TimeoutConfig.Status", middleware.TimeoutConfig{Timeout: time.Second, Status: 99}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			expectPanic(t, tt.field, func() { middleware.Timeout(tt.cfg) })
		})
	}
}

func TestTimeoutSynchronousAllocations(t *testing.T) {
	h := net.Chain(plainText, middleware.Timeout(middleware.TimeoutConfig{Timeout: time.Second}))
	if allocs := allocsPerRequest(t, h, get("/")); allocs != 0 {
		t.Fatalf("%v allocations per synchronous request, want 0", allocs)
	}
}

func ExampleTimeout() {
	slow := func(c *net.Ctx) net.Result {
		return runtime.Then(c, runtime.After(c, time.Hour), func(struct{}) net.Result {
			return c.Text(200, "never sent")
		})
	}
	h := net.Chain(slow, middleware.Timeout(middleware.TimeoutConfig{Timeout: 10 * time.Millisecond}))

	tc, _ := net.NewTestConn(&net.Server{Handler: h})
	defer tc.Close()
	out, _ := tc.Serve([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), time.Second)
	resp, _ := http.ReadResponse(bufioReader(out), nil)
	fmt.Println(resp.Status)
	// Output: 503 Service Unavailable
}

func BenchmarkTimeout(b *testing.B) {
	mw := middleware.Timeout(middleware.TimeoutConfig{Timeout: time.Second})
	req := get("/")
	runBench(b, []benchCase{
		{"bare/sync", plainText, req},
		{"timeout/sync", net.Chain(plainText, mw), req},
		{"bare/async", after(0, "ok"), req},
		{"timeout/async", net.Chain(after(0, "ok"), mw), req},
	})
}
