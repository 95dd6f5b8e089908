package webtest_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/weftgo/weft/net"
	"github.com/weftgo/weft/net/webtest"
	"github.com/weftgo/weft/offload"
	"github.com/weftgo/weft/runtime"
)

func newServer(t *testing.T, h net.Handler) *webtest.Server {
	t.Helper()
	s := webtest.NewServer(h)
	t.Cleanup(s.Close)
	return s
}

func body(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// The handler's futures really settle off the loop, and its continuations
// come back to the loop it runs on: Blocking, offload and a timer, under
// -race.
func TestDoRunsLoopsBlockingAndOffload(t *testing.T) {
	pool, err := offload.New(offload.Config{Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close(context.Background())
	s := newServer(t, func(c *net.Ctx) net.Result {
		onLoop := c.Loop().Running()
		name := runtime.Blocking(c, func(context.Context) (string, error) {
			return "blocking", nil
		})
		return runtime.Then(c, name, func(b string) net.Result {
			sum := offload.Run(c, pool, func(context.Context) (int, error) { return 6 * 7, nil })
			return runtime.Then(c, sum, func(n int) net.Result {
				return runtime.Then(c, runtime.After(c, time.Millisecond), func(struct{}) net.Result {
					if !onLoop || !c.Loop().Running() {
						return c.Text(500, "not on the loop")
					}
					return c.JSON(200, map[string]any{"b": b, "n": n, "q": c.Query("q")})
				})
			})
		})
	})
	resp, err := s.Do(httptest.NewRequest("GET", "/x?q=%C3%A9t%C3%A9", nil))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := body(t, resp), `{"b":"blocking","n":42,"q":"été"}`; resp.StatusCode != 200 || got != want {
		t.Fatalf("got %d %s, want 200 %s", resp.StatusCode, got, want)
	}
}

// Do sends the target exactly as given, the request's RemoteAddr, headers
// and body.
func TestDoSendsTheRequestAsGiven(t *testing.T) {
	s := newServer(t, func(c *net.Ctx) net.Result {
		return c.Text(200, strings.Join([]string{c.Method(), c.Target(), c.RemoteAddr().String(),
			c.Header("X-A"), string(c.Body())}, " "))
	})
	req := httptest.NewRequest("PUT", "/plain%74ext?a=%20", strings.NewReader("hello"))
	req.RemoteAddr = "203.0.113.9:4321"
	req.Header.Set("X-A", "b")
	resp, err := s.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := body(t, resp), "PUT /plain%74ext?a=%20 203.0.113.9:4321 b hello"; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}

// Client keeps connections alive across requests and works from many
// goroutines at once.
func TestClientConcurrent(t *testing.T) {
	s := newServer(t, func(c *net.Ctx) net.Result {
		d := runtime.After(c, time.Millisecond)
		return runtime.Then(c, d, func(struct{}) net.Result { return c.Text(200, c.Path()) })
	})
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 5 {
				path := "/" + string(rune('a'+i)) + string(rune('0'+j))
				resp, err := s.Client().Get(s.URL + path)
				if err != nil {
					t.Error(err)
					return
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if string(b) != path {
					t.Errorf("GET %s: %q", path, b)
				}
			}
		}()
	}
	wg.Wait()
}

// Cancelling the request's context closes the connection, and the
// handler's context is cancelled: the client left.
func TestDoCancelReachesTheHandler(t *testing.T) {
	started, cancelled := make(chan struct{}), make(chan struct{})
	s := newServer(t, func(c *net.Ctx) net.Result {
		return runtime.Blocking(c, func(ctx context.Context) (struct{}, error) {
			close(started)
			<-ctx.Done()
			close(cancelled)
			return struct{}{}, ctx.Err()
		})
	})
	ctx, cancel := context.WithCancel(context.Background())
	req := httptest.NewRequest("GET", "/wait", nil).WithContext(ctx)
	done := make(chan error, 1)
	go func() {
		_, err := s.Do(req)
		done <- err
	}()
	<-started
	cancel()
	if err := <-done; err != context.Canceled {
		t.Fatalf("Do: %v, want context.Canceled", err)
	}
	<-cancelled // the handler's context was cancelled
}

// A raw connection reaches the server's protocol edges: pipelined
// requests are answered in order, a malformed one with 400 and a close.
func TestDialRaw(t *testing.T) {
	s := newServer(t, func(c *net.Ctx) net.Result { return c.Text(200, c.Path()) })
	rc, err := s.DialRaw()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	if err := rc.Send("GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\nGET /c HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"/a", "/b"} {
		resp, b, err := rc.ReadResponse("GET")
		if err != nil || resp.StatusCode != 200 || string(b) != want {
			t.Fatalf("got %v %q %v, want 200 %q", resp, b, err, want)
		}
	}
	resp, _, err := rc.ReadResponse("GET")
	if err != nil || resp.StatusCode != 400 || !resp.Close {
		t.Fatalf("smuggling attempt: %v %v, want 400 and a close", resp, err)
	}
	if _, err := rc.R.ReadByte(); err != io.EOF {
		t.Fatalf("after the 400: %v, want EOF", err)
	}
}

// StartTCP serves on a real socket.
func TestStartTCP(t *testing.T) {
	ts, err := webtest.StartTCP(&net.Server{Handler: func(c *net.Ctx) net.Result { return c.Text(200, "tcp") }, Loops: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer ts.Close()
	resp, err := ts.Client().Get(ts.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	if got := body(t, resp); got != "tcp" {
		t.Fatalf("got %q", got)
	}
	rc, err := ts.DialRaw()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	resp, b, err := rc.RoundTrip("HEAD", "HEAD / HTTP/1.1\r\nHost: x\r\n\r\n")
	if err != nil || resp.StatusCode != 200 || len(b) != 0 || resp.ContentLength != 3 {
		t.Fatalf("HEAD: %v %q %v", resp, b, err)
	}
}

// Close cancels the requests in flight (their clients read an error, not
// a made-up answer) and refuses later requests.
func TestCloseCancelsInFlight(t *testing.T) {
	started, cancelled := make(chan struct{}), make(chan error, 1)
	s := webtest.NewServer(func(c *net.Ctx) net.Result {
		return runtime.Blocking(c, func(ctx context.Context) (struct{}, error) {
			close(started)
			<-ctx.Done()
			cancelled <- ctx.Err()
			return struct{}{}, ctx.Err()
		})
	})
	errc := make(chan error, 1)
	go func() {
		resp, err := s.Do(httptest.NewRequest("GET", "/", nil))
		if err == nil {
			resp.Body.Close()
			err = errors.New("got a response: " + resp.Status)
		}
		errc <- err
	}()
	<-started
	s.Close()
	if err := <-cancelled; err != context.Canceled {
		t.Fatalf("handler's context: %v", err)
	}
	if err := <-errc; err == nil || strings.Contains(err.Error(), "got a response") {
		t.Fatalf("Do: %v, want a connection error", err)
	}
	if _, err := s.Do(httptest.NewRequest("GET", "/", nil)); err == nil {
		t.Fatal("Do after Close succeeded")
	}
}

// Do sends a server request's target exactly as given, a path that starts
// with "//" included (a router's double-slash case), and the query.
func TestDoSendsTheTargetAsGiven(t *testing.T) {
	srv := webtest.NewServer(func(c *net.Ctx) net.Result { return c.Text(200, c.Target()) })
	defer srv.Close()
	for _, target := range []string{"//a/b", "//a/b?q=1", "/x?q=1&r=%20", "/a%2fb?x", "/plain%74ext"} {
		t.Run(target, func(t *testing.T) {
			resp, err := srv.Do(httptest.NewRequest("GET", target, nil))
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != 200 || string(b) != target {
				t.Fatalf("got %d %q, want 200 %q", resp.StatusCode, b, target)
			}
		})
	}
}
