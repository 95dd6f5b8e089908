package nethttp_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/pprof"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/weftgo/weft/net"
	"github.com/weftgo/weft/net/nethttp"
	"github.com/weftgo/weft/net/webtest"
	"github.com/weftgo/weft/router"
	"github.com/weftgo/weft/runtime"
)

func start(t *testing.T, s *net.Server) *webtest.Server {
	t.Helper()
	return webtest.StartTB(t, s)
}

func get(t *testing.T, srv *webtest.Server, req *http.Request) (*http.Response, []byte) {
	t.Helper()
	resp, err := srv.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

// pprof's handlers work unchanged, CPU profile and execution trace
// included.
func TestPprof(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	r := router.New()
	r.GET("/debug/pprof/*rest", nethttp.Handler(mux))
	r.POST("/debug/pprof/*rest", nethttp.Handler(mux))
	srv := start(t, &net.Server{Handler: r.Serve})
	cases := []struct {
		target string
		ctype  string
		check  func([]byte) bool
	}{
		{"/debug/pprof/cmdline", "text/plain; charset=utf-8", func(b []byte) bool { return bytes.HasPrefix(b, []byte(os.Args[0])) }},
		{"/debug/pprof/", "text/html; charset=utf-8", func(b []byte) bool { return bytes.Contains(b, []byte("goroutine")) }},
		{"/debug/pprof/goroutine?debug=1", "text/plain; charset=utf-8", func(b []byte) bool { return bytes.Contains(b, []byte("goroutine profile: total")) }},
		{"/debug/pprof/profile?seconds=1", "application/octet-stream", isGzip},
		{"/debug/pprof/trace?seconds=1", "application/octet-stream", func(b []byte) bool { return bytes.HasPrefix(b, []byte("go 1.")) }},
		{"/debug/pprof/heap", "application/octet-stream", isGzip},
	}
	for _, tc := range cases {
		t.Run(tc.target, func(t *testing.T) {
			resp, body := get(t, srv, httptest.NewRequest("GET", tc.target, nil))
			if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != tc.ctype || !tc.check(body) {
				t.Fatalf("got %d %q %d bytes %.60q", resp.StatusCode, resp.Header.Get("Content-Type"), len(body), body)
			}
		})
	}
	// Symbol lookup reads a POST body.
	req := httptest.NewRequest("POST", "/debug/pprof/symbol", strings.NewReader("0x1"))
	if resp, body := get(t, srv, req); resp.StatusCode != 200 || !bytes.HasPrefix(body, []byte("num_symbols:")) {
		t.Fatalf("symbol: %d %q", resp.StatusCode, body)
	}
}

func isGzip(b []byte) bool {
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return false
	}
	_, err = io.Copy(io.Discard, zr)
	return err == nil
}

// metricsHandler behaves as Prometheus's promhttp.Handler does: content
// negotiation on Accept, gzip on Accept-Encoding, a body written in many
// small writes.
func metricsHandler(w http.ResponseWriter, r *http.Request) {
	ct := "text/plain; version=0.0.4; charset=utf-8; escaping=underscores"
	if strings.Contains(r.Header.Get("Accept"), "application/openmetrics-text") {
		ct = "application/openmetrics-text; version=1.0.0; charset=utf-8; escaping=underscores"
	}
	w.Header().Set("Content-Type", ct)
	var out io.Writer = w
	if strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
		w.Header().Set("Content-Encoding", "gzip")
		w.Header().Add("Vary", "Accept-Encoding")
		zw := gzip.NewWriter(w)
		defer zw.Close()
		out = zw
	}
	for i := range 100 {
		fmt.Fprintf(out, "requests_total{code=\"%d\"} %d\n", 200+i, i)
	}
}

func TestPromhttpLikeHandler(t *testing.T) {
	srv := start(t, &net.Server{Handler: nethttp.Handler(http.HandlerFunc(metricsHandler))})
	// net/http's client asks for gzip and decompresses it.
	resp, err := srv.Client().Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !resp.Uncompressed || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain; version=0.0.4") ||
		!strings.HasSuffix(string(body), "requests_total{code=\"299\"} 99\n") {
		t.Fatalf("gzip: uncompressed=%v %q %q", resp.Uncompressed, resp.Header.Get("Content-Type"), body)
	}
	req := httptest.NewRequest("GET", "/metrics", nil)
	req.Header.Set("Accept", "application/openmetrics-text;version=1.0.0")
	resp, body = get(t, srv, req)
	if resp.Header.Get("Content-Encoding") != "" || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/openmetrics-text") ||
		strings.Count(string(body), "\n") != 100 {
		t.Fatalf("plain: %q %q", resp.Header, body)
	}
}

func TestFileServer(t *testing.T) {
	dir := t.TempDir()
	must(t, os.WriteFile(filepath.Join(dir, "hello.txt"), []byte("hello, file"), 0o644))
	must(t, os.Mkdir(filepath.Join(dir, "sub"), 0o755))
	must(t, os.WriteFile(filepath.Join(dir, "sub", "index.html"), []byte("<h1>sub</h1>"), 0o644))
	mod := time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)
	must(t, os.Chtimes(filepath.Join(dir, "hello.txt"), mod, mod))
	r := router.New()
	r.GET("/static/*path", nethttp.Handler(http.StripPrefix("/static", http.FileServer(http.Dir(dir)))))
	srv := start(t, &net.Server{Handler: r.Serve})
	cases := []struct {
		name, target string
		header       [2]string
		status       int
		want         string
		wantHeader   [2]string
	}{
		{"file", "/static/hello.txt", [2]string{}, 200, "hello, file", [2]string{"Content-Type", "text/plain; charset=utf-8"}},
		{"range", "/static/hello.txt", [2]string{"Range", "bytes=0-4"}, 206, "hello", [2]string{"Content-Range", "bytes 0-4/11"}},
		{"not modified", "/static/hello.txt", [2]string{"If-Modified-Since", mod.Format(http.TimeFormat)}, 304, "", [2]string{"Last-Modified", mod.Format(http.TimeFormat)}},
		{"index", "/static/sub/", [2]string{}, 200, "<h1>sub</h1>", [2]string{"Content-Type", "text/html; charset=utf-8"}},
		{"dir redirect", "/static/sub", [2]string{}, 301, "", [2]string{"Location", "sub/"}},
		{"listing", "/static/", [2]string{}, 200, "<!doctype html>\n<meta name=\"viewport\" content=\"width=device-width\">\n<pre>\n<a href=\"hello.txt\">hello.txt</a>\n<a href=\"sub/\">sub/</a>\n</pre>\n", [2]string{}},
		{"missing", "/static/nope", [2]string{}, 404, "404 page not found\n", [2]string{"X-Content-Type-Options", "nosniff"}},
		{"encoded", "/static/hell%6F.txt", [2]string{}, 200, "hello, file", [2]string{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest("GET", tc.target, nil)
			if tc.header[0] != "" {
				req.Header.Set(tc.header[0], tc.header[1])
			}
			resp, body := get(t, srv, req)
			if resp.StatusCode != tc.status || string(body) != tc.want ||
				(tc.wantHeader[0] != "" && resp.Header.Get(tc.wantHeader[0]) != tc.wantHeader[1]) {
				t.Fatalf("got %d %q %v", resp.StatusCode, body, resp.Header)
			}
		})
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// The handler gets what a net/http server would give it.
func TestRequestAsNetHTTPGivesIt(t *testing.T) {
	got := make(chan *http.Request, 1)
	bodies := make(chan string, 1)
	srv := start(t, &net.Server{Handler: nethttp.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		bodies <- string(b)
		got <- r
	}))})
	req := httptest.NewRequest("POST", "/a%2Fb/c?x=1&y=%20", strings.NewReader("payload"))
	req.Host = "example.com:8080"
	req.RemoteAddr = "198.51.100.7:5555"
	req.Header["X-Multi"] = []string{"1", "2"}
	req.Header.Set("Content-Type", "text/plain")
	get(t, srv, req)
	r := <-got
	checks := []struct{ name, got, want string }{
		{"method", r.Method, "POST"},
		{"RequestURI", r.RequestURI, "/a%2Fb/c?x=1&y=%20"},
		{"URL.Path", r.URL.Path, "/a/b/c"},
		{"URL.RawPath", r.URL.RawPath, "/a%2Fb/c"},
		{"query", r.URL.Query().Get("y"), " "},
		{"Host", r.Host, "example.com:8080"},
		{"RemoteAddr", r.RemoteAddr, "198.51.100.7:5555"},
		{"X-Multi", strings.Join(r.Header.Values("X-Multi"), ","), "1,2"},
		{"Proto", r.Proto, "HTTP/1.1"},
		{"ContentLength", fmt.Sprint(r.ContentLength), "7"},
		{"body", <-bodies, "payload"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.name, c.got, c.want)
		}
	}
}

func TestChunkedRequestBody(t *testing.T) {
	srv := start(t, &net.Server{Handler: nethttp.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		fmt.Fprintf(w, "%d %s %s", r.ContentLength, b, r.Trailer.Get("X-Sum"))
	}))})
	rc, err := srv.DialRaw()
	must(t, err)
	defer rc.Close()
	resp, body, err := rc.RoundTrip("POST", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTrailer: X-Sum\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\nX-Sum: 5\r\n\r\n")
	if err != nil || resp.StatusCode != 200 || string(body) != "5 abcde 5" {
		t.Fatalf("got %v %q %v", resp, body, err)
	}
}

// The handler runs off the loop: while it blocks, the loop answers other
// requests.
func TestHandlerRunsOffTheLoop(t *testing.T) {
	entered, release := make(chan struct{}), make(chan struct{})
	r := router.New()
	r.GET("/block", nethttp.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(entered)
		<-release
		io.WriteString(w, "released")
	})))
	r.GET("/ping", func(c *net.Ctx) net.Result { return c.Text(200, "pong") })
	srv := start(t, &net.Server{Handler: r.Serve, Loops: 1})
	done := make(chan string, 1)
	go func() {
		resp, err := srv.Do(httptest.NewRequest("GET", "/block", nil))
		if err != nil {
			done <- err.Error()
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		done <- string(b)
	}()
	<-entered
	if _, body := get(t, srv, httptest.NewRequest("GET", "/ping", nil)); string(body) != "pong" {
		t.Fatalf("ping: %q", body)
	}
	close(release)
	if got := <-done; got != "released" {
		t.Fatalf("block: %q", got)
	}
}

// The request's context is cancelled when the client leaves.
func TestContextCancelledWhenClientLeaves(t *testing.T) {
	entered, cancelled := make(chan struct{}), make(chan error, 1)
	srv := start(t, &net.Server{Handler: nethttp.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(entered)
		<-r.Context().Done()
		cancelled <- r.Context().Err()
	}))})
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		_, err := srv.Do(httptest.NewRequest("GET", "/", nil).WithContext(ctx))
		errc <- err
	}()
	<-entered
	cancel()
	if err := <-cancelled; err != context.Canceled {
		t.Fatalf("handler's context: %v", err)
	}
	if err := <-errc; err != context.Canceled {
		t.Fatalf("Do: %v", err)
	}
}

func TestResponseWriter(t *testing.T) {
	handlers := map[string]http.HandlerFunc{
		"/headers": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Add("Set-Cookie", "a=1")
			w.Header().Add("Set-Cookie", "b=2")
			w.Header().Set("Content-Length", "999") // weft frames the body itself
			w.WriteHeader(201)
			w.Header().Set("X-Late", "ignored") // after WriteHeader, as net/http
			w.WriteHeader(500)                  // superfluous
			io.WriteString(w, "made")
		},
		"/sniff": func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "<html><body>x") },
		"/empty": func(w http.ResponseWriter, r *http.Request) {},
		"/nobody": func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(204)
			if _, err := io.WriteString(w, "x"); err != http.ErrBodyNotAllowed {
				panic(fmt.Sprintf("Write after 204: %v", err))
			}
		},
		"/panic": func(w http.ResponseWriter, r *http.Request) { panic("boom") },
		"/abort": func(w http.ResponseWriter, r *http.Request) { panic(http.ErrAbortHandler) },
		"/early": func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(103); io.WriteString(w, "final") },
	}
	mux := http.NewServeMux()
	for p, h := range handlers {
		mux.Handle(p, h)
	}
	srv := start(t, &net.Server{Handler: nethttp.Handler(mux)})
	cases := []struct {
		target string
		status int
		body   string
		header [2]string
	}{
		{"/headers", 201, "made", [2]string{"Set-Cookie", "a=1|b=2"}},
		{"/headers", 201, "made", [2]string{"X-Late", ""}},
		{"/headers", 201, "made", [2]string{"Content-Length", "4"}},
		{"/sniff", 200, "<html><body>x", [2]string{"Content-Type", "text/html; charset=utf-8"}},
		{"/empty", 200, "", [2]string{"Content-Type", ""}},
		{"/nobody", 204, "", [2]string{}},
		{"/panic", 500, "Internal Server Error", [2]string{}},
		{"/abort", 500, "Internal Server Error", [2]string{}},
		{"/early", 200, "final", [2]string{}},
	}
	for _, tc := range cases {
		t.Run(tc.target+tc.header[0], func(t *testing.T) {
			resp, body := get(t, srv, httptest.NewRequest("GET", tc.target, nil))
			if resp.StatusCode != tc.status || string(body) != tc.body ||
				(tc.header[0] != "" && strings.Join(resp.Header.Values(tc.header[0]), "|") != tc.header[1]) {
				t.Fatalf("got %d %q %v", resp.StatusCode, body, resp.Header)
			}
		})
	}
	// HEAD: the headers, no body.
	resp, body := get(t, srv, httptest.NewRequest("HEAD", "/headers", nil))
	if resp.StatusCode != 201 || len(body) != 0 {
		t.Fatalf("HEAD: %d %q", resp.StatusCode, body)
	}
}

// A handler mounted with Handler may start Blocking work of its own for
// the weft side: the adapter is an ordinary weft handler.
func TestHandlerComposesWithMiddleware(t *testing.T) {
	inner := nethttp.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "inner") }))
	wrapped := func(c *net.Ctx) net.Result {
		return runtime.Then(c, inner(c), func(struct{}) net.Result {
			c.SetHeader("X-Wrapped", "1")
			return net.Done()
		})
	}
	srv := start(t, &net.Server{Handler: wrapped})
	resp, body := get(t, srv, httptest.NewRequest("GET", "/", nil))
	if string(body) != "inner" || resp.Header.Get("X-Wrapped") != "1" {
		t.Fatalf("got %q %v", body, resp.Header)
	}
}

// The route's parameters reach the handler as path values.
func TestPathValues(t *testing.T) {
	r := router.New()
	r.GET("/users/:id/files/*path", nethttp.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%s|%s|%s", r.Pattern, r.PathValue("id"), r.PathValue("path"))
	})))
	srv := start(t, &net.Server{Handler: r.Serve})
	_, body := get(t, srv, httptest.NewRequest("GET", "/users/J%C3%B6rg/files/a%2Fb/c", nil))
	if want := "/users/:id/files/*path|Jörg|a/b/c"; string(body) != want {
		t.Fatalf("got %q, want %q", body, want)
	}
}
