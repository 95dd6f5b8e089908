package net_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	stdnet "net"
	"net/http"
	"net/http/httptrace"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/weftgo/weft/net"
	"github.com/weftgo/weft/runtime"
)

// startServer starts s on 127.0.0.1 with a free port and shuts it down when
// the test ends. It returns the address.
func startServer(t *testing.T, s *net.Server) string {
	t.Helper()
	s.Addr = "127.0.0.1:0"
	if s.Loops == 0 {
		s.Loops = 2
	}
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

// client returns a net/http client with its own keep-alive pool, closed
// when the test ends.
func client(t *testing.T) *http.Client {
	tr := &http.Transport{MaxIdleConnsPerHost: 4}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}
}

func get(t *testing.T, c *http.Client, url string) (int, http.Header, string) {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: reading body: %v", url, err)
	}
	return resp.StatusCode, resp.Header, string(b)
}

// rawConn is a raw TCP client that reads responses with net/http's parser.
type rawConn struct {
	t  *testing.T
	c  stdnet.Conn
	br *bufio.Reader
}

func dial(t *testing.T, addr string) *rawConn {
	t.Helper()
	c, err := stdnet.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	return &rawConn{t: t, c: c, br: bufio.NewReader(c)}
}

func (r *rawConn) send(s string) {
	r.t.Helper()
	if _, err := io.WriteString(r.c, s); err != nil {
		r.t.Fatalf("write: %v", err)
	}
}

// read reads one response to a request of the given method.
func (r *rawConn) read(method string) (*http.Response, string) {
	r.t.Helper()
	resp, err := http.ReadResponse(r.br, &http.Request{Method: method})
	if err != nil {
		r.t.Fatalf("reading response: %v", err)
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		r.t.Fatalf("reading response body: %v", err)
	}
	resp.Body.Close()
	return resp, string(b)
}

// expectClosed asserts the server closes the connection without sending
// anything more.
func (r *rawConn) expectClosed() {
	r.t.Helper()
	b, err := io.ReadAll(r.br)
	if len(b) > 0 {
		r.t.Fatalf("read %q after the last response, want the connection closed", b)
	}
	if err != nil && !errors.Is(err, syscall.ECONNRESET) {
		r.t.Fatalf("waiting for close: %v", err)
	}
}

// delayed resolves after d, off the loop.
func delayed(c *net.Ctx, d time.Duration, v string) runtime.Future[string] {
	return runtime.Blocking(c, func(ctx context.Context) (string, error) {
		select {
		case <-time.After(d):
			return v, nil
		case <-ctx.Done():
			return "", ctx.Err()
		}
	})
}

func TestKeepAliveReusesTheConnection(t *testing.T) {
	var conns atomic.Int32
	addr := startServer(t, &net.Server{Handler: func(c *net.Ctx) net.Result {
		return c.Text(200, "hi "+c.Path())
	}})
	cl := client(t)
	trace := &httptrace.ClientTrace{GotConn: func(i httptrace.GotConnInfo) {
		if !i.Reused {
			conns.Add(1)
		}
	}}
	for i := range 20 {
		req, _ := http.NewRequestWithContext(httptrace.WithClientTrace(context.Background(), trace), "GET", fmt.Sprintf("http://%s/%d", addr, i), nil)
		resp, err := cl.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if want := fmt.Sprintf("hi /%d", i); string(b) != want {
			t.Fatalf("body %q, want %q", b, want)
		}
	}
	if n := conns.Load(); n != 1 {
		t.Fatalf("20 sequential requests used %d connections, want 1", n)
	}
}

func TestPipelinedResponsesKeepRequestOrder(t *testing.T) {
	addr := startServer(t, &net.Server{Handler: func(c *net.Ctx) net.Result {
		var d time.Duration
		fmt.Sscanf(c.Query("ms"), "%d", &d)
		if d == 0 {
			return c.Text(200, c.Query("id"))
		}
		id := c.Query("id")
		return runtime.Then(c, delayed(c, d*time.Millisecond, id), func(v string) net.Result {
			return c.Text(200, v)
		})
	}})
	rc := dial(t, addr)
	// The first completes last, the third first, the fourth at once.
	var b strings.Builder
	for _, q := range []string{"id=a&ms=80", "id=b&ms=40", "id=c&ms=5", "id=d"} {
		fmt.Fprintf(&b, "GET /?%s HTTP/1.1\r\nHost: x\r\n\r\n", q)
	}
	rc.send(b.String())
	for _, want := range []string{"a", "b", "c", "d"} {
		resp, body := rc.read("GET")
		if resp.StatusCode != 200 || body != want {
			t.Fatalf("got %d %q, want 200 %q: responses out of request order", resp.StatusCode, body, want)
		}
	}
}

func TestPipelinedRequestsBeyondTheLimitAreServedWithoutNewData(t *testing.T) {
	// With 2 requests in flight at most, the rest wait unread in gnet's
	// buffer; gnet does not deliver them again, so the server must come
	// back for them when the slow ones settle.
	addr := startServer(t, &net.Server{MaxPipelined: 2, Handler: func(c *net.Ctx) net.Result {
		id := c.Query("id")
		return runtime.Then(c, delayed(c, 10*time.Millisecond, id), func(v string) net.Result {
			return c.Text(200, v)
		})
	}})
	rc := dial(t, addr)
	var b strings.Builder
	for i := range 10 {
		fmt.Fprintf(&b, "GET /?id=%d HTTP/1.1\r\nHost: x\r\n\r\n", i)
	}
	rc.send(b.String())
	for i := range 10 {
		_, body := rc.read("GET")
		if body != fmt.Sprint(i) {
			t.Fatalf("response %d: body %q", i, body)
		}
	}
}

func TestChunkedRequestBody(t *testing.T) {
	addr := startServer(t, &net.Server{Handler: func(c *net.Ctx) net.Result {
		return c.Text(200, fmt.Sprintf("%s|%s", c.Body(), c.Trailer("X-Sum")))
	}})
	rc := dial(t, addr)
	rc.send("POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" +
		"5\r\nhello\r\n1;ext=1\r\n \r\n6\r\nworld!\r\n0\r\nX-Sum: 12\r\n\r\n")
	resp, body := rc.read("POST")
	if resp.StatusCode != 200 || body != "hello world!|12" {
		t.Fatalf("got %d %q", resp.StatusCode, body)
	}
	// The same body in pieces, one byte per write.
	msg := "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
	for i := range len(msg) {
		rc.send(msg[i : i+1])
	}
	if _, body := rc.read("POST"); body != "abc|" {
		t.Fatalf("byte-by-byte chunked body: %q", body)
	}
}

func TestNetHTTPClientBodies(t *testing.T) {
	addr := startServer(t, &net.Server{Handler: func(c *net.Ctx) net.Result {
		// Echo after a hop off the loop: the body must survive other
		// connections' reads meanwhile.
		body := c.Body()
		return runtime.Then(c, delayed(c, time.Millisecond, ""), func(string) net.Result {
			return c.Send(200, "application/octet-stream", body)
		})
	}})
	cl := client(t)
	for _, size := range []int{0, 1, 1000, 64 << 10, 1 << 20} {
		for _, chunked := range []bool{false, true} {
			t.Run(fmt.Sprintf("%d/chunked=%v", size, chunked), func(t *testing.T) {
				payload := bytes.Repeat([]byte("0123456789abcdef"), size/16+1)[:size]
				var r io.Reader = bytes.NewReader(payload)
				if chunked {
					r = io.MultiReader(r) // hides the length: net/http sends chunked
				}
				req, _ := http.NewRequest("POST", "http://"+addr+"/echo", r)
				resp, err := cl.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				got, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 || !bytes.Equal(got, payload) {
					t.Fatalf("status %d, echoed %d bytes, want %d identical", resp.StatusCode, len(got), size)
				}
			})
		}
	}
}

func TestHead(t *testing.T) {
	addr := startServer(t, &net.Server{Handler: func(c *net.Ctx) net.Result {
		return c.Text(200, "twelve bytes")
	}})
	rc := dial(t, addr)
	rc.send("HEAD / HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n")
	resp, body := rc.read("HEAD")
	if resp.StatusCode != 200 || body != "" || resp.Header.Get("Content-Length") != "12" {
		t.Fatalf("HEAD: %d, body %q, Content-Length %q; want 200, no body, 12", resp.StatusCode, body, resp.Header.Get("Content-Length"))
	}
	// If HEAD had sent a body, this read would see it instead.
	if _, body := rc.read("GET"); body != "twelve bytes" {
		t.Fatalf("GET after HEAD: %q", body)
	}
}

func TestExpectContinue(t *testing.T) {
	addr := startServer(t, &net.Server{Handler: func(c *net.Ctx) net.Result {
		return c.Text(200, string(c.Body()))
	}})
	rc := dial(t, addr)
	rc.send("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n")
	line, err := rc.br.ReadString('\n')
	if err != nil || line != "HTTP/1.1 100 Continue\r\n" {
		t.Fatalf("interim response %q, %v; want 100 Continue", line, err)
	}
	if blank, _ := rc.br.ReadString('\n'); blank != "\r\n" {
		t.Fatalf("after 100 Continue: %q", blank)
	}
	rc.send("hello")
	if resp, body := rc.read("POST"); resp.StatusCode != 200 || body != "hello" {
		t.Fatalf("got %d %q", resp.StatusCode, body)
	}
	// A body too large is refused without 100 Continue.
	cl := client(t)
	req, _ := http.NewRequest("POST", "http://"+addr+"/", strings.NewReader("x"))
	req.Header.Set("Expect", "100-continue")
	resp, err := cl.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("net/http client with Expect: status %d", resp.StatusCode)
	}
}

func TestFutureResolvedFromAnotherGoroutine(t *testing.T) {
	addr := startServer(t, &net.Server{Handler: func(c *net.Ctx) net.Result {
		p := runtime.NewPromise[string](c.Loop())
		go func() {
			time.Sleep(5 * time.Millisecond)
			p.Resolve("from a goroutine")
		}()
		return runtime.Then(c, p.Future(), func(s string) net.Result {
			if !c.Loop().Running() {
				return net.Fail(errors.New("continuation ran off the loop"))
			}
			return c.Text(200, s)
		})
	}})
	if code, _, body := get(t, client(t), "http://"+addr+"/"); code != 200 || body != "from a goroutine" {
		t.Fatalf("got %d %q", code, body)
	}
}

func TestClientGoneBeforeFutureResolvesWritesNothingElsewhere(t *testing.T) {
	// Conn A asks for /hold and leaves; its future resolves later with a
	// large, recognisable answer. Meanwhile new connections (which may get
	// A's file descriptor) are served: none may receive A's bytes.
	var mu sync.Mutex
	var held []runtime.Promise[string]
	ctxDone := make(chan error, 1)
	addr := startServer(t, &net.Server{Loops: 1, Handler: func(c *net.Ctx) net.Result {
		if c.Path() == "/hold" {
			p := runtime.NewPromise[string](c.Loop())
			mu.Lock()
			held = append(held, p)
			mu.Unlock()
			reqCtx := c.Context()
			context.AfterFunc(reqCtx, func() { ctxDone <- reqCtx.Err() })
			return runtime.Then(c, p.Future(), func(s string) net.Result { return c.Text(200, s) })
		}
		return c.Text(200, "mine")
	}})
	a := dial(t, addr)
	a.send("GET /hold HTTP/1.1\r\nHost: x\r\n\r\n")
	for {
		mu.Lock()
		n := len(held)
		mu.Unlock()
		if n == 1 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	a.c.Close()
	select {
	case err := <-ctxDone:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("request context ended with %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the request context was not cancelled when the client left")
	}
	var others []*rawConn
	for range 5 {
		others = append(others, dial(t, addr))
	}
	held[0].Resolve(strings.Repeat("LEAK", 1000))
	for _, o := range others {
		o.send("GET /mine HTTP/1.1\r\nHost: x\r\n\r\n")
		resp, body := o.read("GET")
		if body != "mine" {
			t.Fatalf("a new client got %d %q", resp.StatusCode, body)
		}
		_ = o.c.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
		if extra, _ := io.ReadAll(o.br); len(extra) > 0 {
			t.Fatalf("a new client received %d stray bytes: %.40q", len(extra), extra)
		}
	}
}

func TestBorrowedBytesSurviveOtherConnections(t *testing.T) {
	// Each request's path, header and body are read in a continuation,
	// after many other connections' reads have gone through the loop's
	// shared read buffer.
	addr := startServer(t, &net.Server{Loops: 1, Handler: func(c *net.Ctx) net.Result {
		path, hdr, body := c.Path(), c.Header("X-Tag"), c.Body()
		return runtime.Then(c, delayed(c, 20*time.Millisecond, ""), func(string) net.Result {
			return c.Text(200, path+"|"+hdr+"|"+string(body))
		})
	}})
	var wg sync.WaitGroup
	errs := make(chan error, 32)
	for i := range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := stdnet.Dial("tcp", addr)
			if err != nil {
				errs <- err
				return
			}
			defer c.Close()
			tag := strings.Repeat(fmt.Sprint(i%10), 10+i)
			fmt.Fprintf(c, "POST /p%d HTTP/1.1\r\nHost: x\r\nX-Tag: %s\r\nContent-Length: %d\r\n\r\n%s", i, tag, len(tag), tag)
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil {
				errs <- err
				return
			}
			b, _ := io.ReadAll(resp.Body)
			if want := fmt.Sprintf("/p%d|%s|%s", i, tag, tag); string(b) != want {
				errs <- fmt.Errorf("got %q, want %q", b, want)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestErrorsAndPanicsBecomeResponses(t *testing.T) {
	addr := startServer(t, &net.Server{Handler: func(c *net.Ctx) net.Result {
		switch c.Path() {
		case "/panic":
			panic("handler bug")
		case "/panic-later":
			return runtime.Then(c, delayed(c, time.Millisecond, ""), func(string) net.Result {
				var m map[string]int
				m["x"]++ // a runtime panic in a continuation
				return c.Text(200, "unreachable")
			})
		case "/status":
			return net.Fail(net.NewError(409, "taken"))
		case "/internal":
			c.SetHeader("Content-Encoding", "gzip") // describes a body that is gone: must not survive
			c.SetHeader("X-Request-ID", "r1")       // not about the body: stays
			return net.Fail(errors.New("secret database detail"))
		case "/timeout":
			return net.Fail(runtime.ErrTimeout)
		}
		return c.Text(200, "ok")
	}})
	cl := client(t)
	cases := []struct {
		path       string
		wantStatus int
		wantBody   string
	}{
		{"/panic", 500, "Internal Server Error"},
		{"/panic-later", 500, "Internal Server Error"},
		{"/status", 409, "taken"},
		{"/internal", 500, "Internal Server Error"},
		{"/timeout", 503, "Service Unavailable"},
		{"/ok", 200, "ok"},
	}
	for _, tc := range cases {
		t.Run(tc.path, func(t *testing.T) {
			code, h, body := get(t, cl, "http://"+addr+tc.path)
			if code != tc.wantStatus || body != tc.wantBody {
				t.Fatalf("got %d %q, want %d %q", code, body, tc.wantStatus, tc.wantBody)
			}
			if h.Get("Content-Encoding") != "" {
				t.Fatal("a content header set before the error survived into the error response")
			}
			if tc.path == "/internal" && h.Get("X-Request-ID") != "r1" {
				t.Fatal("a header set by middleware before the error was dropped")
			}
		})
	}
}

func TestConnectionClose(t *testing.T) {
	addr := startServer(t, &net.Server{Handler: func(c *net.Ctx) net.Result { return c.Text(200, "bye") }})
	cases := []struct {
		name, req   string
		wantClose   bool
		wantConnHdr string
	}{
		{"1.1 close", "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", true, ""},
		{"1.0 default", "GET / HTTP/1.0\r\n\r\n", true, ""},
		{"1.0 keep-alive", "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", false, "keep-alive"},
		{"1.1 default", "GET / HTTP/1.1\r\nHost: x\r\n\r\n", false, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rc := dial(t, addr)
			// A second request after the first: answered only on keep-alive.
			rc.send(tc.req + "GET /second HTTP/1.1\r\nHost: x\r\n\r\n")
			resp, body := rc.read("GET")
			// net/http moves "Connection: close" into resp.Close.
			if body != "bye" || resp.Close != tc.wantClose || !strings.EqualFold(resp.Header.Get("Connection"), tc.wantConnHdr) {
				t.Fatalf("got %q with Close %v, Connection %q; want Close %v, Connection %q", body, resp.Close, resp.Header.Get("Connection"), tc.wantClose, tc.wantConnHdr)
			}
			if tc.wantClose {
				rc.expectClosed()
			} else if _, body := rc.read("GET"); body != "bye" {
				t.Fatalf("second request: %q", body)
			}
		})
	}
}

func TestMalformedRequestGets400AndClose(t *testing.T) {
	var served atomic.Int32
	addr := startServer(t, &net.Server{Handler: func(c *net.Ctx) net.Result {
		served.Add(1)
		return c.Text(200, "ok")
	}})
	cases := []struct {
		name, req  string
		wantStatus int
	}{
		{"CL and TE", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n", 400},
		{"bad version", "GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505},
		{"no host", "GET / HTTP/1.1\r\n\r\n", 400},
		{"body too large", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999\r\n\r\n", 413},
		{"unknown coding", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := served.Load()
			rc := dial(t, addr)
			rc.send(tc.req)
			resp, _ := rc.read("GET")
			if resp.StatusCode != tc.wantStatus || !resp.Close {
				t.Fatalf("got %d (Connection: close %v), want %d and close", resp.StatusCode, resp.Close, tc.wantStatus)
			}
			rc.expectClosed()
			if served.Load() != before {
				t.Fatal("the handler ran for a rejected request (or a smuggled one)")
			}
		})
	}
	// The server goes on serving.
	if code, _, _ := get(t, client(t), "http://"+addr+"/"); code != 200 {
		t.Fatalf("after bad requests: %d", code)
	}
}

func TestHandlerTimeout(t *testing.T) {
	cancelled := make(chan struct{})
	addr := startServer(t, &net.Server{HandlerTimeout: 300 * time.Millisecond, Handler: func(c *net.Ctx) net.Result {
		if c.Path() == "/fast" {
			return c.Text(200, "fast")
		}
		f := runtime.Blocking(c, func(ctx context.Context) (string, error) {
			<-ctx.Done()
			close(cancelled)
			time.Sleep(50 * time.Millisecond)
			return "late", nil
		})
		return runtime.Then(c, f, func(s string) net.Result { return c.Text(200, s) })
	}})
	rc := dial(t, addr)
	rc.send("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
	resp, _ := rc.read("GET")
	if resp.StatusCode != 503 {
		t.Fatalf("status %d, want 503", resp.StatusCode)
	}
	select {
	case <-cancelled:
	case <-time.After(2 * time.Second):
		t.Fatal("the request context was not cancelled at the handler timeout")
	}
	time.Sleep(100 * time.Millisecond) // the late result arrives and must be dropped
	rc.send("GET /fast HTTP/1.1\r\nHost: x\r\n\r\n")
	if _, body := rc.read("GET"); body != "fast" {
		t.Fatalf("next response %q: the late result leaked", body)
	}
}

func TestIdleTimeoutClosesConnections(t *testing.T) {
	addr := startServer(t, &net.Server{IdleTimeout: 300 * time.Millisecond, Handler: func(c *net.Ctx) net.Result {
		return c.Text(200, "ok")
	}})
	rc := dial(t, addr)
	rc.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	rc.read("GET")
	start := time.Now()
	rc.expectClosed()
	// A lower bound only: how late the sweep closes it depends on the
	// machine's load; expectClosed's read deadline guards against never.
	if d := time.Since(start); d < 250*time.Millisecond {
		t.Fatalf("closed after %v, before its 300 ms IdleTimeout", d)
	}
}

func TestShutdownFinishesInFlightRequests(t *testing.T) {
	srv := &net.Server{Addr: "127.0.0.1:0", Loops: 2, Handler: func(c *net.Ctx) net.Result {
		return runtime.Then(c, delayed(c, 200*time.Millisecond, "done"), func(s string) net.Result { return c.Text(200, s) })
	}}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	addr := srv.ListenAddr().String()
	rc := dial(t, addr)
	rc.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	time.Sleep(50 * time.Millisecond)
	shutdownErr := make(chan error, 1)
	go func() { shutdownErr <- srv.Shutdown(context.Background()) }()
	resp, body := rc.read("GET")
	if body != "done" || !resp.Close {
		t.Fatalf("in-flight request during Shutdown: %q, Connection: close %v", body, resp.Close)
	}
	if err := <-shutdownErr; err != nil {
		t.Fatal(err)
	}
	if err := srv.Wait(); !errors.Is(err, net.ErrServerClosed) {
		t.Fatalf("Wait = %v, want ErrServerClosed", err)
	}
	if _, err := stdnet.DialTimeout("tcp", addr, time.Second); err == nil {
		t.Fatal("still accepting after Shutdown")
	}
}

func TestShutdownDeadlineCancelsRequests(t *testing.T) {
	cancelled := make(chan struct{})
	srv := &net.Server{Addr: "127.0.0.1:0", Loops: 1, Handler: func(c *net.Ctx) net.Result {
		f := runtime.Blocking(c, func(ctx context.Context) (string, error) {
			<-ctx.Done()
			close(cancelled)
			return "", ctx.Err()
		})
		return runtime.Then(c, f, func(s string) net.Result { return c.Text(200, s) })
	}}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	rc := dial(t, srv.ListenAddr().String())
	rc.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	time.Sleep(50 * time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := srv.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Shutdown = %v, want DeadlineExceeded", err)
	}
	select {
	case <-cancelled:
	case <-time.After(2 * time.Second):
		t.Fatal("request context not cancelled at the shutdown deadline")
	}
}

func TestStartErrors(t *testing.T) {
	h := func(c *net.Ctx) net.Result { return c.Text(200, "") }
	cases := []struct {
		name    string
		srv     *net.Server
		wantErr string
	}{
		{"no handler", &net.Server{}, "Handler"},
		{"bad addr", &net.Server{Handler: h, Addr: "nonsense"}, "Addr"},
		{"negative limit", &net.Server{Handler: h, Addr: "127.0.0.1:0", MaxHeaderBytes: -1}, "MaxHeaderBytes"},
		{"line over head", &net.Server{Handler: h, Addr: "127.0.0.1:0", MaxRequestLineBytes: 9000, MaxHeaderBytes: 4000}, "MaxRequestLineBytes"},
		{"too many loops", &net.Server{Handler: h, Addr: "127.0.0.1:0", Loops: 1000}, "Loops"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.srv.Start()
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("Start = %v, want an error naming %s", err, tc.wantErr)
			}
		})
	}
	// A port in use.
	addr := startServer(t, &net.Server{Handler: h})
	if err := (&net.Server{Handler: h, Addr: addr}).Start(); err == nil {
		t.Fatal("Start on a port in use succeeded")
	}
}

func TestConnectionCloseWithAsyncHandler(t *testing.T) {
	// A request that closes the connection, answered asynchronously: the
	// answer must still be written before the close.
	addr := startServer(t, &net.Server{Handler: func(c *net.Ctx) net.Result {
		return runtime.Then(c, runtime.After(c, 5*time.Millisecond), func(struct{}) net.Result {
			return c.Text(200, "late but sent")
		})
	}})
	for _, req := range []string{
		"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
		"GET / HTTP/1.0\r\n\r\n",
	} {
		rc := dial(t, addr)
		rc.send(req)
		resp, body := rc.read("GET")
		if body != "late but sent" || !resp.Close {
			t.Fatalf("%q: got %q (close %v)", req, body, resp.Close)
		}
		rc.expectClosed()
	}
}

func TestRejectionsAreAnsweredAtOnce(t *testing.T) {
	// A rejected request must be written by the read that found it, not
	// left for the next sweep: with a timeout of a nanosecond, Serve
	// reports any request still owed.
	cases := []string{
		"GET / HTTP/1.1\r\n\r\n", // no Host: 400
		"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999\r\n\r\n", // 413
		"GET / HTTP/2.0\r\nHost: x\r\n\r\n",                                 // 505
	}
	for _, req := range cases {
		tc := newTestConn(t, &net.Server{Handler: func(c *net.Ctx) net.Result { return c.Text(200, "ok") }})
		out, err := tc.Serve([]byte(req), time.Nanosecond)
		if err != nil || !bytes.HasPrefix(out, []byte("HTTP/1.1 4")) && !bytes.HasPrefix(out, []byte("HTTP/1.1 5")) {
			t.Fatalf("%q: %v, wrote %q", req, err, out)
		}
	}
}

func TestShutdownAnswersEveryPipelinedRequest(t *testing.T) {
	release := make(chan struct{})
	srv := &net.Server{Addr: "127.0.0.1:0", Loops: 1, Handler: func(c *net.Ctx) net.Result {
		id := c.Query("id")
		f := runtime.Blocking(c, func(context.Context) (string, error) { <-release; return id, nil })
		return runtime.Then(c, f, func(s string) net.Result { return c.Text(200, s) })
	}}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	rc := dial(t, srv.ListenAddr().String())
	rc.send("GET /?id=1 HTTP/1.1\r\nHost: x\r\n\r\nGET /?id=2 HTTP/1.1\r\nHost: x\r\n\r\nGET /?id=3 HTTP/1.1\r\nHost: x\r\n\r\n")
	for srv.InFlight() != 3 {
		time.Sleep(time.Millisecond)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Shutdown(context.Background()) }()
	time.Sleep(20 * time.Millisecond)
	close(release)
	for i, want := range []string{"1", "2", "3"} {
		resp, body := rc.read("GET")
		if body != want || resp.Close != (i == 2) {
			t.Fatalf("response %d: %q close=%v; want %q, close only on the last", i, body, resp.Close, want)
		}
	}
	rc.expectClosed()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestExpectContinueBehindEarlierResponses(t *testing.T) {
	// The interim 100 must not overtake an earlier response, and must
	// still be sent once that response is written.
	addr := startServer(t, &net.Server{Handler: func(c *net.Ctx) net.Result {
		if c.Path() == "/slow" {
			return runtime.Then(c, runtime.After(c, 50*time.Millisecond), func(struct{}) net.Result {
				return c.Text(200, "slow")
			})
		}
		return c.Text(200, "got "+string(c.Body()))
	}})
	for _, first := range []string{"/slow", "/fast"} {
		rc := dial(t, addr)
		rc.send("GET " + first + " HTTP/1.1\r\nHost: x\r\n\r\n" +
			"POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n")
		if _, body := rc.read("GET"); body != strings.TrimPrefix(first, "/") && body != "got " {
			t.Fatalf("first response %q", body)
		}
		line, err := rc.br.ReadString('\n')
		if err != nil || line != "HTTP/1.1 100 Continue\r\n" {
			t.Fatalf("after %s: %q, %v; want 100 Continue", first, line, err)
		}
		rc.br.ReadString('\n')
		rc.send("hello")
		if _, body := rc.read("POST"); body != "got hello" {
			t.Fatalf("upload answer %q", body)
		}
	}
}

func TestShutdownAnswersRequestsOnIdleConnectionsDuringTheGrace(t *testing.T) {
	srv := &net.Server{Addr: "127.0.0.1:0", Loops: 1, Handler: func(c *net.Ctx) net.Result { return c.Text(200, "ok") }}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	rc := dial(t, srv.ListenAddr().String())
	rc.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	rc.read("GET") // now an idle keep-alive connection
	done := make(chan error, 1)
	go func() { done <- srv.Shutdown(context.Background()) }()
	time.Sleep(20 * time.Millisecond) // draining, within the grace
	rc.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	resp, body := rc.read("GET")
	if body != "ok" || !resp.Close {
		t.Fatalf("request during the drain: %q (close %v), want ok with Connection: close", body, resp.Close)
	}
	rc.expectClosed()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestConnectEndsItsConnection(t *testing.T) {
	// weft does not tunnel: whatever a handler answers to CONNECT, nothing
	// more is read on that connection, so a proxy that switched to tunnel
	// mode on a 2xx cannot desynchronize from it.
	addr := startServer(t, &net.Server{Handler: func(c *net.Ctx) net.Result { return c.Text(200, "tunnel?") }})
	rc := dial(t, addr)
	rc.send("CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\nGET /next HTTP/1.1\r\nHost: x\r\n\r\n")
	resp, _ := rc.read("GET")
	if !resp.Close {
		t.Fatal("a CONNECT exchange did not end its connection")
	}
	rc.expectClosed()
}
