package net_test

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/weftgo/weft/net"
	"github.com/weftgo/weft/runtime"
)

// A handler builds its response in the Ctx and returns a Result; an
// asynchronous one returns the future of its last step. TestConn serves
// requests in memory, as a test would.
func Example() {
	handler := func(c *net.Ctx) net.Result {
		if c.Path() == "/slow" {
			// Wait 10 ms without blocking the loop, then answer.
			return runtime.Then(c, runtime.After(c, 10*time.Millisecond), func(struct{}) net.Result {
				return c.Text(200, "slow")
			})
		}
		return c.JSON(200, map[string]string{"path": c.Path()})
	}
	// In a program: srv := &net.Server{Addr: ":8080", Handler: handler}
	// then srv.ListenAndServe(), and srv.Shutdown(ctx) on SIGTERM.
	tc, _ := net.NewTestConn(&net.Server{Handler: handler})
	defer tc.Close()
	// Two pipelined requests: the answers come in request order.
	out, _ := tc.Serve([]byte("GET /slow HTTP/1.1\r\nHost: x\r\n\r\nGET /fast HTTP/1.1\r\nHost: x\r\n\r\n"), time.Second)
	br := bufio.NewReader(bytes.NewReader(out))
	for range 2 {
		resp, _ := http.ReadResponse(br, nil)
		body, _ := io.ReadAll(resp.Body)
		fmt.Println(string(body))
	}
	// Output:
	// slow
	// {"path":"/fast"}
}

// Middleware wraps a handler; code after next runs when the Result
// settles, on the loop.
func ExampleMiddleware() {
	timing := func(next net.Handler) net.Handler {
		return func(c *net.Ctx) net.Result {
			start := time.Now()
			return next(c).Finally(c, func(_ struct{}, err error) {
				c.SetHeader("X-Took-Over-1ms", fmt.Sprint(time.Since(start) > time.Millisecond))
			})
		}
	}
	h := net.Chain(func(c *net.Ctx) net.Result { return c.Text(200, "hi") }, timing)
	tc, _ := net.NewTestConn(&net.Server{Handler: h})
	defer tc.Close()
	out, _ := tc.Serve([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), time.Second)
	fmt.Println(strings.Contains(string(out), "X-Took-Over-1ms: false"))
	// Output: true
}

// An error carrying a status is answered with it; other errors are 500s,
// and their text stays in the log.
func ExampleFail() {
	h := func(c *net.Ctx) net.Result {
		if c.Query("id") == "" {
			return net.Fail(net.NewError(400, "id is required"))
		}
		return c.Text(200, "ok")
	}
	tc, _ := net.NewTestConn(&net.Server{Handler: h})
	defer tc.Close()
	out, _ := tc.Serve([]byte("GET /user HTTP/1.1\r\nHost: x\r\n\r\n"), time.Second)
	status, _, _ := strings.Cut(string(out), "\r\n")
	_, body, _ := strings.Cut(string(out), "\r\n\r\n")
	fmt.Println(status, "/", body)
	// Output: HTTP/1.1 400 Bad Request / id is required
}
