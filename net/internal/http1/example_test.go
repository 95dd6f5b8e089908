package http1_test

import (
	"fmt"

	"github.com/weftgo/weft/net/internal/http1"
)

func ExampleParseHead() {
	lim := http1.Limits{MaxHeaders: 16}
	r := http1.Request{Headers: make([]http1.Header, 0, lim.MaxHeaders)}
	r.Reset()

	in := []byte("GET /hello?name=weft HTTP/1.1\r\nHost: example.com\r\n\r\n")
	for _, got := range [][]byte{in[:20], in} { // bytes arrive in two pieces
		n, err := http1.ParseHead(got, &r, &lim)
		switch {
		case err != nil:
			fmt.Println("answer", err.(*http1.Error).Status, "and close")
		case n == 0:
			fmt.Println("incomplete")
		default:
			fmt.Printf("%s %s query=%s host=%s keep-alive=%v body at %d\n",
				r.Method.Bytes(in), r.Path.Bytes(in), r.Query.Bytes(in), r.Host.Bytes(in), r.KeepAlive, r.HeadLen)
		}
	}
	// Output:
	// incomplete
	// GET /hello query=name=weft host=example.com keep-alive=true body at 52
}

func ExampleParseHead_error() {
	in := []byte("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n")
	var r http1.Request
	_, err := http1.ParseHead(in, &r, nil)
	fmt.Println(err, err == http1.ErrContentLengthAndTE, err.(*http1.Error).Status)
	// Output: http1: both Content-Length and Transfer-Encoding true 400
}

func ExampleChunkScanner() {
	body := []byte("5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nX-Sum: 42\r\n\r\nGET /next HTTP/1.1\r\n")
	var s http1.ChunkScanner
	for _, got := range [][]byte{body[:9], body} { // the body arrives in two pieces
		end, err := s.Scan(got, 1<<20, nil)
		if err != nil || end == 0 {
			fmt.Println("need more:", err == nil)
			continue
		}
		data := append([]byte(nil), body[:end]...) // the server's private copy
		decoded, trailers, _ := http1.DecodeChunked(data, nil)
		fmt.Printf("%q (%d bytes), trailer %s=%s, next request at %d\n", decoded, s.BodyLen(),
			trailers[0].Name.Bytes(data), trailers[0].Value.Bytes(data), end)
	}
	// Output:
	// need more: true
	// "hello world" (11 bytes), trailer X-Sum=42, next request at 43
}
