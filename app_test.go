package weft_test

import (
	"context"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/weftgo/weft"
	"github.com/weftgo/weft/net/webtest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		// gnet's shared worker pool (ants) keeps idle workers for a while
		// after the engines that used it stop.
		goleak.IgnoreAnyFunction("github.com/panjf2000/ants/v2.(*goWorker).run.func1"),
		goleak.IgnoreTopFunction("github.com/panjf2000/ants/v2.(*poolCommon).purgeStaleWorkers"),
		goleak.IgnoreTopFunction("github.com/panjf2000/ants/v2.(*poolCommon).ticktock"),
	)
}

// TestRunServesUntilItsContextEnds drives an App the way main does: Run on a
// free port, a synchronous and an asynchronous route, then a cancelled
// context drains it and Run returns nil.
func TestRunServesUntilItsContextEnds(t *testing.T) {
	app := weft.New()
	app.Server.Loops = 2
	app.GET("/hello/:name", func(c *weft.Ctx) weft.Result {
		return c.Text(200, "Hello, "+c.Param("name"))
	})
	app.GET("/slow", func(c *weft.Ctx) weft.Result {
		v := weft.Blocking(c, func(context.Context) (string, error) { return "from a goroutine", nil })
		return weft.Then(c, v, func(s string) weft.Result { return c.Text(200, s) })
	})
	app.GET("/teapot", func(c *weft.Ctx) weft.Result {
		return weft.Fail(weft.NewError(418, "short and stout"))
	})

	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- app.Run(ctx, "127.0.0.1:0") }()
	addr := waitAddr(t, app, ran)

	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	cl := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	cases := []struct {
		path   string
		status int
		body   string
	}{
		{"/hello/ada", 200, "Hello, ada"},
		{"/slow", 200, "from a goroutine"},
		{"/teapot", 418, "short and stout"},
		{"/nowhere", 404, "Not Found"},
	}
	for _, tc := range cases {
		t.Run(tc.path, func(t *testing.T) {
			resp, err := cl.Get("http://" + addr + tc.path)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.status || string(b) != tc.body {
				t.Fatalf("GET %s = %d %q, want %d %q", tc.path, resp.StatusCode, b, tc.status, tc.body)
			}
		})
	}
	tr.CloseIdleConnections()
	cancel()
	if err := <-ran; err != nil {
		t.Fatalf("Run after its context ended = %v, want nil", err)
	}
}

// TestStartReportsBadSettings: a bad setting is an error from Start that
// names the field, not a panic or a server half started.
func TestStartReportsBadSettings(t *testing.T) {
	app := weft.New()
	app.Server.MaxPipelined = -1
	err := app.Start("127.0.0.1:0")
	if err == nil {
		app.Shutdown(context.Background())
		t.Fatal("Start accepted MaxPipelined = -1")
	}
	if !strings.Contains(err.Error(), "MaxPipelined") {
		t.Fatalf("Start error %q does not name the field", err)
	}
}

func TestListenReturnsNilAfterShutdown(t *testing.T) {
	app := weft.New()
	app.Server.Loops = 1
	done := make(chan error, 1)
	go func() { done <- app.Listen("127.0.0.1:0") }()
	waitAddr(t, app, done)
	if err := app.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("Listen after Shutdown = %v, want nil", err)
	}
}

// waitAddr waits until app listens (or stopped with an error) and returns
// its address.
func waitAddr(t *testing.T, app *weft.App, stopped chan error) string {
	t.Helper()
	for range 1000 {
		if a := app.Addr(); a != nil {
			return a.String()
		}
		select {
		case err := <-stopped:
			t.Fatalf("app stopped before listening: %v", err)
		case <-time.After(5 * time.Millisecond):
		}
	}
	t.Fatal("app did not start listening")
	return ""
}

// TestReadyServesTheAppInMemory: Ready gives webtest (and nethttp.ToHTTP)
// the app as it would serve, settings and routes included.
func TestReadyServesTheAppInMemory(t *testing.T) {
	app := weft.New()
	app.Server.Loops = 1
	app.Server.MaxBodyBytes = 8
	app.POST("/echo", func(c *weft.Ctx) weft.Result {
		return c.Send(200, "text/plain", c.Body())
	})
	srv, err := webtest.Start(app.Ready())
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	cases := []struct {
		body   string
		status int
	}{
		{"short", 200},
		{"longer than eight bytes", 413},
	}
	for _, tc := range cases {
		resp, err := srv.Do(httptestRequest("POST", "/echo", tc.body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.status {
			t.Errorf("POST %q: %d, want %d", tc.body, resp.StatusCode, tc.status)
		}
	}
}

func httptestRequest(method, target, body string) *http.Request {
	req, _ := http.NewRequest(method, "http://example.com"+target, strings.NewReader(body))
	return req
}

// TestAppStreamsBodiesOfGroupsThatAskForIt: a group's StreamBody reaches
// the server through the app, so its handler reads the body as a stream
// past the server's MaxBodyBytes.
func TestAppStreamsBodiesOfGroupsThatAskForIt(t *testing.T) {
	app := weft.New()
	app.Server.Loops = 1
	app.Server.MaxBodyBytes = 16
	up := app.Group("/up")
	up.StreamBody(1 << 20)
	up.POST("/count", func(c *weft.Ctx) weft.Result {
		r := c.BodyReader()
		n := weft.Blocking(c, func(context.Context) (int64, error) { return io.Copy(io.Discard, r) })
		return weft.Then(c, n, func(n int64) weft.Result { return c.Text(200, strconv.FormatInt(n, 10)) })
	})
	srv, err := webtest.Start(app.Ready())
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	body := strings.Repeat("x", 100_000)
	resp, err := srv.Do(httptestRequest("POST", "/up/count", body))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(b) != "100000" {
		t.Fatalf("streamed upload: %d %q, want 200 \"100000\"", resp.StatusCode, b)
	}
}
