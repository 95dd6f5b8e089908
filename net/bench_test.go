package net_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/weftgo/weft/net"
)

var plaintextRequest = []byte("GET /plaintext HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n")

func plaintext(c *net.Ctx) net.Result { return c.Text(net.StatusOK, "Hello, World!") }

type message struct {
	Message string `json:"message"`
}

func jsonHandler(c *net.Ctx) net.Result {
	return c.JSON(net.StatusOK, message{"Hello, World!"})
}

// newTestConn returns a TestConn for h, closed at the end of the test.
func newTestConn(tb testing.TB, s *net.Server) *net.TestConn {
	tb.Helper()
	tc, err := net.NewTestConn(s)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(tc.Close)
	return tc
}

// BenchmarkServerPlaintext serves one full request per iteration through
// the parser, the connection state machine, the handler and the response
// writer; only gnet and the socket are replaced by memory.
func BenchmarkServerPlaintext(b *testing.B) {
	benchmarkServe(b, plaintext, plaintextRequest, "Hello, World!")
}

func BenchmarkServerJSON(b *testing.B) {
	benchmarkServe(b, jsonHandler, []byte("GET /json HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n"), `{"message":"Hello, World!"}`)
}

func benchmarkServe(b *testing.B, h net.Handler, req []byte, want string) {
	tc := newTestConn(b, &net.Server{Handler: h})
	b.ReportAllocs()
	b.SetBytes(int64(len(req)))
	var out []byte
	for b.Loop() {
		out, _ = tc.Serve(req, time.Second)
	}
	if !bytes.HasSuffix(out, []byte(want)) {
		b.Fatalf("response %q does not end in %q", out, want)
	}
}

func TestSynchronousPathsDoNotAllocate(t *testing.T) {
	cases := []struct {
		name string
		h    net.Handler
		req  []byte
		want string
	}{
		{"plaintext", plaintext, plaintextRequest, "Hello, World!"},
		{"json", jsonHandler, []byte("GET /json HTTP/1.1\r\nHost: x\r\n\r\n"), `{"message":"Hello, World!"}`},
		{"echo", func(c *net.Ctx) net.Result { return c.Send(200, "application/octet-stream", c.Body()) },
			[]byte("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"), "hello"},
		{"chunked", func(c *net.Ctx) net.Result { return c.Send(200, "application/octet-stream", c.Body()) },
			[]byte("POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"), "hello"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			conn := newTestConn(t, &net.Server{Handler: tc.h})
			var out []byte
			n := testing.AllocsPerRun(1000, func() { out, _ = conn.Serve(tc.req, time.Second) })
			if n != 0 {
				t.Fatalf("%v allocations per request, want 0", n)
			}
			if !bytes.HasSuffix(out, []byte(tc.want)) {
				t.Fatalf("response %q", out)
			}
		})
	}
}
