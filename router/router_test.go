package router_test

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/weftgo/weft/net"
	"github.com/weftgo/weft/router"
)

// serve sends one raw request through r on an in-memory connection and
// parses the response with net/http.
func serve(t testing.TB, r *router.Router, method, target string) (*http.Response, string) {
	t.Helper()
	tc, err := net.NewTestConn(&net.Server{Handler: r.Serve})
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Close()
	out, err := tc.Serve([]byte(method+" "+target+" HTTP/1.1\r\nHost: x\r\n\r\n"), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(out)), &http.Request{Method: method})
	if err != nil {
		t.Fatalf("%s %s: bad response %q: %v", method, target, out, err)
	}
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// echo answers with the route, the method and the params.
func echo(c *net.Ctx) net.Result {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s", c.Method(), c.Route())
	for i, n := range c.Params().Names {
		fmt.Fprintf(&b, " %s=%s", n, c.Param(c.Params().Names[i]))
	}
	return c.Text(200, b.String())
}

func newAPI() *router.Router {
	r := router.New()
	r.GET("/", echo)
	r.GET("/users", echo)
	r.POST("/users", echo)
	r.GET("/users/new", echo)
	r.GET("/users/:id", echo)
	r.DELETE("/users/:id", echo)
	r.GET("/users/:id/posts/:post", echo)
	r.GET("/files/*path", echo)
	r.Handle("PURGE", "/cache/:key", echo)
	r.GET("/slash/", echo)
	return r
}

func TestRouting(t *testing.T) {
	r := newAPI()
	cases := []struct {
		method, target string
		wantStatus     int
		wantBody       string
		wantHeader     [2]string
	}{
		{"GET", "/", 200, "GET /", [2]string{}},
		{"GET", "/users", 200, "GET /users", [2]string{}},
		{"POST", "/users", 200, "POST /users", [2]string{}},
		{"GET", "/users/new", 200, "GET /users/new", [2]string{}},
		{"GET", "/users/42", 200, "GET /users/:id id=42", [2]string{}},
		{"GET", "/users/john%20doe", 200, "GET /users/:id id=john doe", [2]string{}},
		{"GET", "/users/new/posts/7", 200, "GET /users/:id/posts/:post id=new post=7", [2]string{}},
		{"DELETE", "/users/42", 200, "DELETE /users/:id id=42", [2]string{}},
		{"GET", "/files/a/b/c.txt", 200, "GET /files/*path path=a/b/c.txt", [2]string{}},
		{"GET", "/files/", 200, "GET /files/*path path=", [2]string{}},
		{"PURGE", "/cache/k1", 200, "PURGE /cache/:key key=k1", [2]string{}},
		{"GET", "/users/42?x=1", 200, "GET /users/:id id=42", [2]string{}},
		{"GET", "/nope", 404, "Not Found", [2]string{}},
		{"GET", "/users/42/posts", 404, "Not Found", [2]string{}},
		{"PUT", "/users/42", 405, "Method Not Allowed", [2]string{"Allow", "DELETE, GET, HEAD, OPTIONS"}},
		{"POST", "/users/new", 405, "Method Not Allowed", [2]string{"Allow", "GET, HEAD, OPTIONS"}},
		{"HEAD", "/users/42", 200, "", [2]string{"Content-Length", "21"}},
		{"OPTIONS", "/users", 204, "", [2]string{"Allow", "GET, HEAD, OPTIONS, POST"}},
		{"GET", "/users/", 301, "", [2]string{"Location", "/users"}},
		{"GET", "/slash?q=1", 301, "", [2]string{"Location", "/slash/?q=1"}},
		{"POST", "/users/", 404, "Not Found", [2]string{}},
	}
	for _, tc := range cases {
		t.Run(tc.method+" "+tc.target, func(t *testing.T) {
			resp, body := serve(t, r, tc.method, tc.target)
			if resp.StatusCode != tc.wantStatus || body != tc.wantBody {
				t.Fatalf("got %d %q, want %d %q", resp.StatusCode, body, tc.wantStatus, tc.wantBody)
			}
			if k := tc.wantHeader[0]; k != "" && resp.Header.Get(k) != tc.wantHeader[1] {
				t.Fatalf("%s = %q, want %q", k, resp.Header.Get(k), tc.wantHeader[1])
			}
		})
	}
}

func TestExplicitHEADAndOPTIONSWin(t *testing.T) {
	r := router.New()
	r.GET("/x", func(c *net.Ctx) net.Result { return c.Text(200, "get") })
	r.HEAD("/x", func(c *net.Ctx) net.Result { c.SetHeader("X-Head", "1"); return c.NoContent(200) })
	r.OPTIONS("/x", func(c *net.Ctx) net.Result { return c.Text(200, "custom options") })
	if resp, _ := serve(t, r, "HEAD", "/x"); resp.Header.Get("X-Head") != "1" {
		t.Fatal("HEAD did not use its own handler")
	}
	if _, body := serve(t, r, "OPTIONS", "/x"); body != "custom options" {
		t.Fatalf("OPTIONS body %q", body)
	}
}

// mark returns middleware that appends name to X-Trace on the way in.
func mark(name string) net.Middleware {
	return func(next net.Handler) net.Handler {
		return func(c *net.Ctx) net.Result {
			c.SetHeader("X-Trace", c.ResponseHeader("X-Trace")+name+">")
			return next(c)
		}
	}
}

func TestGroupsAndMiddleware(t *testing.T) {
	r := router.New()
	r.Use(mark("global"))
	r.GET("/health", echo)
	api := r.Group("/api", mark("api"))
	api.GET("/users/:id", echo)
	v2 := api.Group("/v2", mark("v2"))
	v2.GET("/users/:id", echo)
	v2.GET("/", echo)
	admin := r.Group("/admin")
	admin.Use(mark("auth"))
	admin.GET("/stats", echo)
	cases := []struct {
		target, wantBody, wantTrace string
		wantStatus                  int
	}{
		{"/health", "GET /health", "global>", 200},
		{"/api/users/1", "GET /api/users/:id id=1", "global>api>", 200},
		{"/api/v2/users/1", "GET /api/v2/users/:id id=1", "global>api>v2>", 200},
		{"/api/v2", "GET /api/v2", "global>api>v2>", 200},
		{"/admin/stats", "GET /admin/stats", "global>auth>", 200},
		{"/missing", "Not Found", "global>", 404},
	}
	for _, tc := range cases {
		t.Run(tc.target, func(t *testing.T) {
			resp, body := serve(t, r, "GET", tc.target)
			if resp.StatusCode != tc.wantStatus || body != tc.wantBody || resp.Header.Get("X-Trace") != tc.wantTrace {
				t.Fatalf("got %d %q trace %q, want %d %q trace %q", resp.StatusCode, body, resp.Header.Get("X-Trace"), tc.wantStatus, tc.wantBody, tc.wantTrace)
			}
		})
	}
}

func TestCustomNotFoundAndMethodNotAllowed(t *testing.T) {
	r := router.New()
	r.GET("/x", echo)
	r.NotFound(func(c *net.Ctx) net.Result { return c.JSON(404, map[string]string{"error": "no route"}) })
	r.MethodNotAllowed(func(c *net.Ctx) net.Result { return c.Text(405, "allow: "+c.ResponseHeader("Allow")) })
	if resp, body := serve(t, r, "GET", "/y"); resp.StatusCode != 404 || body != `{"error":"no route"}` {
		t.Fatalf("404: %d %q", resp.StatusCode, body)
	}
	if resp, body := serve(t, r, "POST", "/x"); resp.StatusCode != 405 || body != "allow: GET, HEAD, OPTIONS" {
		t.Fatalf("405: %d %q", resp.StatusCode, body)
	}
}

func TestRegistrationPanics(t *testing.T) {
	cases := []struct {
		name     string
		register func(r *router.Router)
		want     []string // all must appear in the panic message
	}{
		{"same route twice", func(r *router.Router) {
			r.GET("/users/:id", echo)
			r.GET("/users/:id", echo)
		}, []string{"GET /users/:id registered twice", "router_test.go:"}},
		{"param name conflict", func(r *router.Router) {
			r.GET("/users/:id", echo)
			r.GET("/users/:name/posts", echo)
		}, []string{"/users/:name/posts", "/users/:id", "router_test.go:"}},
		{"invalid pattern", func(r *router.Router) { r.GET("/a/x:id", echo) }, []string{"/a/x:id"}},
		{"nil handler", func(r *router.Router) { r.GET("/a", nil) }, []string{"nil handler"}},
		{"bad method", func(r *router.Router) { r.Handle("GE T", "/a", echo) }, []string{"invalid method"}},
		{"bad group prefix", func(r *router.Router) { r.Group("api/") }, []string{"prefix"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				msg := fmt.Sprint(recover())
				for _, w := range tc.want {
					if !strings.Contains(msg, w) {
						t.Fatalf("panic %q does not mention %q", msg, w)
					}
				}
			}()
			tc.register(router.New())
			t.Fatal("no panic")
		})
	}
}

func TestRoutes(t *testing.T) {
	got := fmt.Sprint(newAPI().Routes())
	for _, want := range []string{"{GET /users/new}", "{DELETE /users/:id}", "{PURGE /cache/:key}"} {
		if !strings.Contains(got, want) {
			t.Fatalf("Routes() = %s, missing %s", got, want)
		}
	}
}

func TestLookupDoesNotAllocate(t *testing.T) {
	// A lean handler: the point is the router, not fmt.
	ok := func(c *net.Ctx) net.Result { return c.Text(200, c.Param("id")) }
	r := router.New()
	for _, p := range []string{"/users/new", "/users/:id", "/users/:id/posts/:post"} {
		r.GET(p, ok)
	}
	cases := []struct{ name, req string }{
		{"static", "GET /users/new HTTP/1.1\r\nHost: x\r\n\r\n"},
		{"param", "GET /users/42 HTTP/1.1\r\nHost: x\r\n\r\n"},
		{"two params", "GET /users/42/posts/7 HTTP/1.1\r\nHost: x\r\n\r\n"},
		{"404", "GET /nope HTTP/1.1\r\nHost: x\r\n\r\n"},
		{"405", "PUT /users/1 HTTP/1.1\r\nHost: x\r\n\r\n"},
		{"HEAD", "HEAD /users/1 HTTP/1.1\r\nHost: x\r\n\r\n"},
	}
	withCatchAll := router.New()
	withCatchAll.GET("/files/*path", ok)
	cases = append(cases, struct{ name, req string }{"catch-all", "GET /files/a/b/c HTTP/1.1\r\nHost: x\r\n\r\n"})
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := r
			if tc.name == "catch-all" {
				r = withCatchAll
			}
			conn, err := net.NewTestConn(&net.Server{Handler: r.Serve})
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			req := []byte(tc.req)
			if n := testing.AllocsPerRun(200, func() { conn.Serve(req, time.Second) }); n != 0 {
				t.Fatalf("%v allocations per request, want 0", n)
			}
		})
	}
}

func TestMaxBodyRefusesBeforeBuffering(t *testing.T) {
	r := router.New()
	r.POST("/big", func(c *net.Ctx) net.Result { return c.Text(200, fmt.Sprint(len(c.Body()))) })
	small := r.Group("/small")
	small.MaxBody(10)
	small.POST("/upload", func(c *net.Ctx) net.Result { return c.Text(200, fmt.Sprint(len(c.Body()))) })
	cases := []struct {
		name, req  string
		wantStatus int
	}{
		{"under the group limit", "POST /small/upload HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n0123456789", 200},
		// Only the head is sent: the 413 must come without the body.
		{"declared over the limit", "POST /small/upload HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\n", 413},
		{"chunked over the limit", "POST /small/upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n14\r\n", 413},
		{"other routes keep the server limit", "POST /big HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\n01234567890", 200},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			conn, err := net.NewTestConn(&net.Server{Handler: r.Serve, BodyLimit: r.BodyLimit})
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			out, err := conn.Serve([]byte(tc.req), time.Second)
			if err != nil {
				t.Fatalf("%v (response %q)", err, out)
			}
			resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(out)), nil)
			if err != nil {
				t.Fatalf("%v in %q", err, out)
			}
			if resp.StatusCode != tc.wantStatus {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.wantStatus)
			}
		})
	}
}
