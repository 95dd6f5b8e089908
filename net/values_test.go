package net_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/weftgo/weft/net"
	"github.com/weftgo/weft/runtime"
)

type userKey struct{}

func TestValuesAndTimings(t *testing.T) {
	withValue := func(next net.Handler) net.Handler {
		return func(c *net.Ctx) net.Result {
			c.SetValue(userKey{}, "ada")
			c.SetValue(userKey{}, "grace") // replaces
			return next(c)
		}
	}
	h := net.Chain(func(c *net.Ctx) net.Result {
		f := runtime.Blocking(c, func(context.Context) (int, error) {
			time.Sleep(20 * time.Millisecond)
			return 1, nil
		})
		return runtime.Then(c, f, func(int) net.Result {
			tm := c.Timings()
			return c.Text(200, fmt.Sprintf("%v %v %v", c.Value(userKey{}), c.Value("missing"), tm.BlockingRan >= 20*time.Millisecond))
		})
	}, withValue)
	tc := newTestConn(t, &net.Server{Handler: h})
	for range 2 { // the second request must not see the first's values
		out, err := tc.Serve([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasSuffix(string(out), "grace <nil> true") {
			t.Fatalf("response %q", out)
		}
	}
}

func TestInFlightAndLoopLag(t *testing.T) {
	release := make(chan struct{})
	srv := &net.Server{Handler: func(c *net.Ctx) net.Result {
		if c.Path() == "/lag" {
			return c.Text(200, fmt.Sprint(c.LoopLag() < 50*time.Millisecond))
		}
		f := runtime.Blocking(c, func(context.Context) (int, error) { <-release; return 0, nil })
		return runtime.Then(c, f, func(int) net.Result { return c.Text(200, "released") })
	}}
	addr := startServer(t, srv)
	rc := dial(t, addr)
	rc.send("GET /hold HTTP/1.1\r\nHost: x\r\n\r\n")
	deadline := time.Now().Add(2 * time.Second)
	for srv.InFlight() != 1 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if n := srv.InFlight(); n != 1 {
		t.Fatalf("InFlight = %d while one request is held, want 1", n)
	}
	if _, _, body := get(t, client(t), "http://"+addr+"/lag"); body != "true" {
		t.Fatalf("an idle loop reports lag: %s", body)
	}
	close(release)
	rc.read("GET")
	for srv.InFlight() != 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if n := srv.InFlight(); n != 0 {
		t.Fatalf("InFlight = %d after the answer, want 0", n)
	}
}

func TestTestConnServesBeyondOneTurn(t *testing.T) {
	// More pipelined requests than one turn of the loop serves: Serve must
	// wait for the resumed turns too.
	tc := newTestConn(t, &net.Server{Handler: func(c *net.Ctx) net.Result { return c.Text(200, "ok") }})
	var b strings.Builder
	for range 300 {
		b.WriteString("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	}
	out, err := tc.Serve([]byte(b.String()), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(out), "HTTP/1.1 200 OK"); n != 300 {
		t.Fatalf("%d responses, want 300", n)
	}
}

func TestHeaderValuesCannotSplitTheResponse(t *testing.T) {
	tc := newTestConn(t, &net.Server{Handler: func(c *net.Ctx) net.Result {
		c.SetHeader("X-Echo", c.Query("v"))
		c.AddHeader("X-Name\r\nInjected", "1")
		c.SetContentType("text/plain\r\nSet-Cookie: evil=1")
		return c.Text(200, "ok")
	}})
	// %0D%0A decodes to CR LF in the query value.
	out, err := tc.Serve([]byte("GET /?v=a%0D%0AInjected:%201 HTTP/1.1\r\nHost: x\r\n\r\n"), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"\r\nInjected", "\r\nSet-Cookie"} {
		if strings.Contains(string(out), bad) {
			t.Fatalf("response split by a header value: %q", out)
		}
	}
}
