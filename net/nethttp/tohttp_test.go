package nethttp_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/weftgo/weft/net"
	"github.com/weftgo/weft/net/nethttp"
	"github.com/weftgo/weft/router"
	"github.com/weftgo/weft/runtime"
)

// A weft router serves part of a net/http server's routes; the rest stay
// net/http.
func TestToHTTPInsideANetHTTPServer(t *testing.T) {
	leaving := make(chan error, 1)
	entered := make(chan struct{})
	r := router.New()
	r.GET("/api/users/:name", func(c *net.Ctx) net.Result {
		return c.Text(200, c.Param("name")+" from "+hostOnly(c.RemoteAddr().String()))
	})
	r.POST("/api/echo", func(c *net.Ctx) net.Result {
		c.SetHeader("X-Len", itoa(len(c.Body())))
		return c.Send(201, "application/octet-stream", c.Body())
	})
	r.GET("/api/wait", func(c *net.Ctx) net.Result {
		return runtime.Blocking(c, func(ctx context.Context) (struct{}, error) {
			close(entered)
			<-ctx.Done()
			leaving <- ctx.Err()
			return struct{}{}, nil
		})
	})
	api, err := nethttp.ToHTTP(&net.Server{Handler: r.Serve, Loops: 2, MaxBodyBytes: 1 << 10})
	if err != nil {
		t.Fatal(err)
	}
	defer api.Close()
	mux := http.NewServeMux()
	mux.Handle("/api/", api)
	mux.HandleFunc("/legacy", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "still net/http") })
	hs := httptest.NewServer(mux)
	defer hs.Close()
	client := hs.Client()

	cases := []struct {
		method, path, body string
		chunked            bool
		status             int
		want               string
	}{
		{"GET", "/api/users/J%C3%B6rg", "", false, 200, "Jörg from 127.0.0.1"},
		{"GET", "/api/users/a%2Fb", "", false, 200, "a/b from 127.0.0.1"},
		{"POST", "/api/echo", "hello", false, 201, "hello"},
		{"POST", "/api/echo", "streamed", true, 201, "streamed"},
		{"POST", "/api/echo", strings.Repeat("x", 2<<10), false, 413, "Content Too Large"},
		{"GET", "/api/nope", "", false, 404, "Not Found"},
		{"GET", "/legacy", "", false, 200, "still net/http"},
	}
	for _, tc := range cases {
		t.Run(tc.method+tc.path, func(t *testing.T) {
			var body io.Reader
			if tc.body != "" {
				body = strings.NewReader(tc.body)
				if tc.chunked {
					body = io.MultiReader(body) // unknown length: sent chunked
				}
			}
			req, err := http.NewRequest(tc.method, hs.URL+tc.path, body)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.status || string(b) != tc.want {
				t.Fatalf("got %d %q, want %d %q", resp.StatusCode, b, tc.status, tc.want)
			}
			if tc.status == 201 && resp.Header.Get("X-Len") != itoa(len(tc.body)) {
				t.Fatalf("X-Len %q", resp.Header.Get("X-Len"))
			}
		})
	}

	// The client leaving cancels the weft request's context.
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", hs.URL+"/api/wait", nil)
	errc := make(chan error, 1)
	go func() {
		_, err := client.Do(req)
		errc <- err
	}()
	<-entered
	cancel()
	if err := <-leaving; err != context.Canceled {
		t.Fatalf("weft handler's context: %v", err)
	}
	if err := <-errc; err == nil {
		t.Fatal("the request succeeded after its context was cancelled")
	}
}

// ToHTTP serves an httptest.ResponseRecorder too: weft handlers can be
// tested with net/http's tools.
func TestToHTTPWithRecorder(t *testing.T) {
	h, err := nethttp.ToHTTP(&net.Server{Loops: 1, Handler: func(c *net.Ctx) net.Result {
		return c.JSON(200, map[string]string{"q": c.Query("q"), "addr": c.RemoteAddr().String()})
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/?q=%C3%A9", nil))
	if rec.Code != 200 || rec.Body.String() != `{"addr":"192.0.2.1:1234","q":"é"}` || rec.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("got %d %q %v", rec.Code, rec.Body, rec.Header())
	}
}

func hostOnly(addr string) string {
	h, _, _ := strings.Cut(addr, ":")
	return h
}

func itoa(n int) string { return strconv.Itoa(n) }
