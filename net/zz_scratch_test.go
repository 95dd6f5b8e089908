package net_test

import (
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/weftgo/weft/net"
)

func TestZZScratch(t *testing.T) {
	inputs := []string{
		"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: CHUNKED\r\n\r\n0\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked;q=1\r\n\r\n0\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: \x0bchunked\r\n\r\n0\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked \r\n\r\n0\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: ,chunked\r\n\r\n0\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: x\r\nContent-Length:   5\r\n\r\nhello",
		"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\t\r\n\r\nhello",
		"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 05\r\n\r\nhello",
		"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: \r\n\r\nhello",
		"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 9223372036854775807\r\n\r\nhello",
		"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 9223372036854775808\r\n\r\nhello",
		"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffff\r\nhello\r\n0\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloX\r\n0\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\nhello\r\n0\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\n0\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nX: y\n\r\n",
		"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\n\n",
		"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5;a\r\nhello\r\n0\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\r\nhello\r\n0\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: x\r\n X: y\r\n\r\n",
		"GET / HTTP/1.1\r\n Host: x\r\n\r\n",
		"GET / HTTP/1.1 \r\nHost: x\r\n\r\n",
		"GET /\tx HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: x\r\nX: a\x7fb\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: x\r\n\x00X: ab\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: x\r\nX\x00Y: ab\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: x\r\n: ab\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: x y\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: \r\n\r\n",
		"GET / HTTP/1.0\r\n\r\n",
		"GET / HTTP/1.2\r\nHost: x\r\n\r\n",
		"GET / HTTP/3.0\r\nHost: x\r\n\r\n",
		"GET / http/1.1\r\nHost: x\r\n\r\n",
		"\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n",
		"CONNECT x:80 HTTP/1.1\r\nHost: x:80\r\n\r\n",
		"OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET * HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET /a#frag HTTP/1.1\r\nHost: x\r\n\r\n",
	}
	for _, in := range inputs {
		tc, err := net.NewTestConn(&net.Server{MaxBodyBytes: 1000, Handler: func(c *net.Ctx) net.Result {
			return c.Text(200, c.Method()+" "+c.Path()+" "+fmt.Sprint(len(c.Body())))
		}})
		if err != nil {
			t.Fatal(err)
		}
		out, err := tc.Serve([]byte(in), time.Second)
		first := strings.SplitN(string(out), "\r\n", 2)[0]
		body := ""
		if i := strings.Index(string(out), "\r\n\r\n"); i >= 0 {
			body = string(out[i+4:])
		}
		fmt.Printf("%-90q -> %s | %q closed=%v %v\n", in, first, body, tc.Closed(), err)
		tc.Close()
	}
}

func TestZZ408(t *testing.T) {
	addr := startServer(t, &net.Server{ReadHeaderTimeout: 300 * time.Millisecond, Handler: func(c *net.Ctx) net.Result { return c.Text(200, "") }})
	rc := dial(t, addr)
	rc.send("GET / HTTP/1.1\r\n")
	b, err := io.ReadAll(rc.br)
	t.Logf("%q %v", b, err)
}
