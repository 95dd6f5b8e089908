package net

import (
	"bytes"
	"testing"
)

var plaintextRequest = []byte("GET /plaintext HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n")

func plaintext(c *Ctx) Result { return c.Text(StatusOK, "Hello, World!") }

type message struct {
	Message string `json:"message"`
}

func jsonHandler(c *Ctx) Result { return c.JSON(StatusOK, message{"Hello, World!"}) }

// BenchmarkServerPlaintext serves one full request per iteration through
// the connection state machine: parse, handler, response written, Ctx
// recycled. No sockets: gnet's Conn is faked in memory.
func BenchmarkServerPlaintext(b *testing.B) {
	benchmarkServe(b, plaintext, plaintextRequest, "Hello, World!")
}

func BenchmarkServerJSON(b *testing.B) {
	benchmarkServe(b, jsonHandler, []byte("GET /json HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n"), `{"message":"Hello, World!"}`)
}

func benchmarkServe(b *testing.B, h Handler, req []byte, want string) {
	_, fc, cn := newFakeServer(b, &Server{Handler: h})
	b.ReportAllocs()
	b.SetBytes(int64(len(req)))
	for b.Loop() {
		fc.in = req
		fc.out = fc.out[:0]
		cn.onTraffic()
	}
	if !bytes.HasSuffix(fc.out, []byte(want)) {
		b.Fatalf("response %q does not end in %q", fc.out, want)
	}
}

func TestPlaintextDoesNotAllocate(t *testing.T) {
	_, fc, cn := newFakeServer(t, &Server{Handler: plaintext})
	n := testing.AllocsPerRun(1000, func() {
		fc.in = plaintextRequest
		fc.out = fc.out[:0]
		cn.onTraffic()
	})
	if n != 0 {
		t.Fatalf("%v allocations per plaintext request, want 0", n)
	}
	if !bytes.HasSuffix(fc.out, []byte("Hello, World!")) {
		t.Fatalf("response %q", fc.out)
	}
}
