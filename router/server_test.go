package router_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/weftgo/weft/net"
	"github.com/weftgo/weft/net/webtest"
	"github.com/weftgo/weft/router"
	"github.com/weftgo/weft/runtime"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		goleak.IgnoreAnyFunction("github.com/panjf2000/ants/v2.(*goWorker).run.func1"),
		goleak.IgnoreTopFunction("github.com/panjf2000/ants/v2.(*poolCommon).purgeStaleWorkers"),
		goleak.IgnoreTopFunction("github.com/panjf2000/ants/v2.(*poolCommon).ticktock"),
	)
}

// TestOverRealServer routes through a real server on 127.0.0.1 with
// net/http's client: 404, 405 with Allow, HEAD, an async route.
func TestOverRealServer(t *testing.T) {
	r := router.New()
	r.GET("/users/:id", func(c *net.Ctx) net.Result {
		id := c.Param("id")
		f := runtime.Blocking(c, func(ctx context.Context) (string, error) {
			return `{"id":"` + id + `"}`, nil
		})
		return runtime.Then(c, f, func(s string) net.Result {
			return c.Send(200, "application/json", []byte(s))
		})
	})
	ts, err := webtest.StartTCP(&net.Server{Loops: 2, Handler: r.Serve})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ts.Close() })
	base, cl := ts.URL, ts.Client()
	cases := []struct {
		method, path string
		status       int
		body, allow  string
	}{
		{"GET", "/users/7", 200, `{"id":"7"}`, ""},
		{"HEAD", "/users/7", 200, "", ""},
		{"GET", "/nothing", 404, "Not Found", ""},
		{"POST", "/users/7", 405, "Method Not Allowed", "GET, HEAD, OPTIONS"},
	}
	for _, tc := range cases {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			req, _ := http.NewRequest(tc.method, base+tc.path, strings.NewReader(""))
			resp, err := cl.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.status || string(b) != tc.body || resp.Header.Get("Allow") != tc.allow {
				t.Fatalf("got %d %q Allow %q, want %d %q Allow %q", resp.StatusCode, b, resp.Header.Get("Allow"), tc.status, tc.body, tc.allow)
			}
		})
	}
}
