package middleware_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/weftgo/weft/middleware"
	"github.com/weftgo/weft/net"
	"github.com/weftgo/weft/router"
)

// *router.Group is what LimitBody takes.
var _ middleware.BodyLimiter = (*router.Group)(nil)

// bodyLen answers with the length of the body it got.
func bodyLen(c *net.Ctx) net.Result { return c.Text(200, strconv.Itoa(len(c.Body()))) }

func post(path string, body string, headers ...string) string {
	return request("POST", path, append(headers, "Content-Length: "+strconv.Itoa(len(body)))...) + body
}

// startWith starts s on 127.0.0.1 with a free port and shuts it down when
// the test ends.
func startWith(t *testing.T, s *net.Server) string {
	t.Helper()
	s.Addr, s.Loops = "127.0.0.1:0", 1
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	})
	return s.ListenAddr().String()
}

// TestLimitBodyRefusesBeforeTheBody runs over a real server and raw TCP:
// the client sends only the head of a request declaring a body over the
// limit, and the 413 arrives without a byte of the body sent.
func TestLimitBodyRefusesBeforeTheBody(t *testing.T) {
	r := router.New()
	r.POST("/free", bodyLen)
	api := r.Group("/api")
	middleware.LimitBody(api, middleware.BodyLimitConfig{Limit: 100})
	api.POST("/upload", bodyLen)
	addr := startWith(t, &net.Server{Handler: r.Serve, BodyLimit: r.BodyLimit})

	tests := []struct {
		name, head string
		body       string // sent after the response to the head is read, if it is not 413
		status     int
		answer     string
	}{
		{"declared over the limit", request("POST", "/api/upload", "Content-Length: 1000000"), "", 413, "Content Too Large"},
		{"chunked over the limit", request("POST", "/api/upload", "Transfer-Encoding: chunked") + "c8\r\n" + strings.Repeat("x", 150), "", 413, "Content Too Large"},
		{"at the limit", request("POST", "/api/upload", "Content-Length: 100"), strings.Repeat("x", 100), 200, "100"},
		{"other routes keep the server's limit", request("POST", "/free", "Content-Length: 1000"), strings.Repeat("x", 1000), 200, "1000"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			conn := dialRaw(t, addr)
			conn.send(tt.head)
			if tt.status == 413 {
				// Nothing more is sent: the answer must come from the head.
				resp, body := conn.read("POST")
				if resp.StatusCode != tt.status || body != tt.answer {
					t.Fatalf("%d %q, want %d %q", resp.StatusCode, body, tt.status, tt.answer)
				}
				if !resp.Close {
					t.Fatal("the 413 does not close the connection")
				}
				return
			}
			conn.send(tt.body)
			if resp, body := conn.read("POST"); resp.StatusCode != tt.status || body != tt.answer {
				t.Fatalf("%d %q, want %d %q", resp.StatusCode, body, tt.status, tt.answer)
			}
		})
	}
}

// TestLimitBodyWithoutTheServerHook: without Server.BodyLimit the safety net
// still refuses, after buffering, and warns once through the server's
// logger.
func TestLimitBodyWithoutTheServerHook(t *testing.T) {
	r := router.New()
	api := r.Group("/api")
	middleware.LimitBody(api, middleware.BodyLimitConfig{Limit: 10})
	api.POST("/upload", bodyLen)
	log, sink := newLogSink(zap.InfoLevel)
	tc, err := net.NewTestConn(&net.Server{Handler: r.Serve, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tc.Close)
	for i := range 2 {
		resp, body := serveTC(t, tc, post("/api/upload", "0123456789x"))
		if resp.StatusCode != 413 {
			t.Fatalf("request %d: %d %q, want 413", i, resp.StatusCode, body)
		}
	}
	lines := sink.lines(t)
	if len(lines) != 1 || !strings.Contains(fmt.Sprint(lines[0]["msg"]), "set net.Server.BodyLimit") {
		t.Fatalf("log %v, want one warning about Server.BodyLimit", lines)
	}
}

// TestBodyLimitMiddleware is the safety net alone, in memory.
func TestBodyLimitMiddleware(t *testing.T) {
	tests := []struct {
		name, req string
		status    int
		body      string
	}{
		{"empty", get("/"), 200, "0"},
		{"under", post("/", "012345678"), 200, "9"},
		{"at", post("/", "0123456789"), 200, "10"},
		{"over", post("/", "0123456789x"), 413, "Content Too Large"},
		{"chunked over", request("POST", "/", "Transfer-Encoding: chunked") + "b\r\n0123456789x\r\n0\r\n\r\n", 413, "Content Too Large"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tc := testConn(t, net.Chain(bodyLen, middleware.BodyLimit(middleware.BodyLimitConfig{Limit: 10})))
			resp, body := serveTC(t, tc, tt.req)
			if resp.StatusCode != tt.status || body != tt.body {
				t.Fatalf("%d %q, want %d %q", resp.StatusCode, body, tt.status, tt.body)
			}
			// The body was read: the connection goes on.
			if resp, body := serveTC(t, tc, get("/")); resp.StatusCode != 200 || tc.Closed() {
				t.Fatalf("next request: %d %q, closed %v", resp.StatusCode, body, tc.Closed())
			}
		})
	}
}

// TestBodyLimitOverTheNetwork: the safety net over a real server answers
// 413 and keeps the connection for the next request.
func TestBodyLimitOverTheNetwork(t *testing.T) {
	_, addr := startServer(t, net.Chain(bodyLen, middleware.BodyLimit(middleware.BodyLimitConfig{Limit: 10})), 1)
	cl := httpClient(t)
	for _, tt := range []struct {
		body   string
		status int
	}{{"0123456789x", 413}, {"0123456789", 200}} {
		resp, err := cl.Post("http://"+addr+"/", "text/plain", strings.NewReader(tt.body))
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tt.status {
			t.Fatalf("%d bytes: %d, want %d", len(tt.body), resp.StatusCode, tt.status)
		}
	}
}

// TestBodyLimitAllocations: a body within the limit costs nothing. (A
// refused one costs what the server's error path costs, not the
// middleware: it fails with an *net.Error made once.)
func TestBodyLimitAllocations(t *testing.T) {
	h := net.Chain(bodyLen, middleware.BodyLimit(middleware.BodyLimitConfig{Limit: 10}))
	if allocs := allocsPerRequest(t, h, post("/", "0123456789")); allocs != 0 {
		t.Fatalf("%v allocations per request, want 0", allocs)
	}
}

func TestBodyLimitConfigPanics(t *testing.T) {
	expectPanic(t, "BodyLimitConfig.Limit", func() { middleware.BodyLimit(middleware.BodyLimitConfig{}) })
	expectPanic(t, "BodyLimitConfig.Limit", func() {
		middleware.LimitBody(router.New().Group("/x"), middleware.BodyLimitConfig{Limit: -1})
	})
}

func ExampleLimitBody() {
	r := router.New()
	uploads := r.Group("/uploads")
	middleware.LimitBody(uploads, middleware.BodyLimitConfig{Limit: 1 << 20})
	uploads.POST("/avatar", func(c *net.Ctx) net.Result { return c.Text(200, "stored") })
	srv := &net.Server{Handler: r.Serve, BodyLimit: r.BodyLimit}

	tc, _ := net.NewTestConn(srv)
	defer tc.Close()
	// Only the head: the server refuses before the body is sent.
	out, _ := tc.Serve([]byte("POST /uploads/avatar HTTP/1.1\r\nHost: x\r\nContent-Length: 5000000\r\n\r\n"), time.Second)
	resp, _ := http.ReadResponse(bufioReader(out), nil)
	fmt.Println(resp.Status)
	// Output: 413 Content Too Large
}

func ExampleBodyLimit() {
	h := net.Chain(bodyLen, middleware.BodyLimit(middleware.BodyLimitConfig{Limit: 4}))

	tc, _ := net.NewTestConn(&net.Server{Handler: h})
	defer tc.Close()
	out, _ := tc.Serve([]byte("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"), time.Second)
	resp, _ := http.ReadResponse(bufioReader(out), nil)
	fmt.Println(resp.StatusCode)
	// Output: 413
}

func BenchmarkBodyLimit(b *testing.B) {
	req := post("/", "0123456789")
	runBench(b, []benchCase{
		{"bare", bodyLen, req},
		{"bodylimit", net.Chain(bodyLen, middleware.BodyLimit(middleware.BodyLimitConfig{Limit: 1 << 20})), req},
	})
}
