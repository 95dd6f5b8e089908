package middleware_test

import (
	"bufio"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/weftgo/weft/net"
	"github.com/weftgo/weft/net/webtest"
)

// Test helpers shared by the test files of this package.

// startServer starts a server for h on 127.0.0.1 with a free port and two
// loops (unless loops says otherwise), shuts it down when the test ends, and
// returns it with its address.
func startServer(t *testing.T, h net.Handler, loops int) (*net.Server, string) {
	t.Helper()
	if loops == 0 {
		loops = 2
	}
	ts, err := webtest.StartTCP(&net.Server{Handler: h, Loops: loops})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := ts.Close(); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	})
	return ts.Server, ts.Addr
}

// httpClient returns a net/http client with its own connections, closed
// when the test ends.
func httpClient(t *testing.T) *http.Client {
	tr := &http.Transport{MaxIdleConnsPerHost: 4}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}
}

// rawRequest sends req as it is over a new TCP connection (so that no
// client cleans the path) and reads one response to a request of method.
func rawRequest(t *testing.T, addr, method, req string) (*http.Response, string) {
	t.Helper()
	rc := dialRaw(t, addr)
	defer rc.c.Close()
	rc.send(req)
	return rc.read(method)
}

// testConn serves requests to h in memory; it is closed when the test ends.
func testConn(t testing.TB, h net.Handler) *net.TestConn {
	t.Helper()
	tc, err := net.NewTestConn(&net.Server{Handler: h})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tc.Close)
	return tc
}

// serveTC sends one raw request through tc and parses the response.
func serveTC(t testing.TB, tc *net.TestConn, req string) (*http.Response, string) {
	t.Helper()
	out, err := tc.Serve([]byte(req), 5*time.Second)
	if err != nil {
		t.Fatalf("Serve(%q): %v", req, err)
	}
	method, _, _ := strings.Cut(req, " ")
	resp, err := http.ReadResponse(bufio.NewReader(strings.NewReader(string(out))), &http.Request{Method: method})
	if err != nil {
		t.Fatalf("parsing the response to %q: %v\n%s", req, err, out)
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading the body of the response to %q: %v", req, err)
	}
	return resp, string(b)
}

// get builds a raw GET request for path with extra header lines
// ("Name: value").
func get(path string, headers ...string) string {
	return request("GET", path, headers...)
}

// request builds a raw request.
func request(method, path string, headers ...string) string {
	var b strings.Builder
	b.WriteString(method + " " + path + " HTTP/1.1\r\nHost: test\r\n")
	for _, h := range headers {
		b.WriteString(h + "\r\n")
	}
	b.WriteString("\r\n")
	return b.String()
}

// bufioReader reads a response held in memory.
func bufioReader(b []byte) *bufio.Reader {
	return bufio.NewReader(strings.NewReader(string(b)))
}

// rawConn is a raw TCP client for pipelined requests (webtest.RawConn)
// that fails the test on an error.
type rawConn struct {
	t  *testing.T
	c  *webtest.RawConn
	br *bufio.Reader
}

func dialRaw(t *testing.T, addr string) *rawConn {
	t.Helper()
	c, err := webtest.DialTCP(addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	return &rawConn{t: t, c: c, br: c.R}
}

func (r *rawConn) send(s string) {
	r.t.Helper()
	if err := r.c.Send(s); err != nil {
		r.t.Fatalf("write: %v", err)
	}
}

// read reads one response to a request of the given method.
func (r *rawConn) read(method string) (*http.Response, string) {
	r.t.Helper()
	resp, b, err := r.c.ReadResponse(method)
	if err != nil {
		r.t.Fatalf("reading response: %v", err)
	}
	return resp, string(b)
}
