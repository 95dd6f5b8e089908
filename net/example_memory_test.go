package net_test

import (
	"bufio"
	"fmt"
	"io"
	"net/http"

	"github.com/weftgo/weft/net"
)

// A MemServer serves a handler on loops of its own over in-memory
// connections: the transport under webtest and nethttp.ToHTTP.
func ExampleMemServer() {
	mem, err := net.NewMemServer(&net.Server{Loops: 1, Handler: func(c *net.Ctx) net.Result {
		return c.Text(200, "hello from "+c.RemoteAddr().String())
	}})
	if err != nil {
		panic(err)
	}
	defer mem.Close()
	conn, _ := mem.Dial(nil) // a client at 192.0.2.1:1234
	defer conn.Close()
	io.WriteString(conn, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	resp, _ := http.ReadResponse(bufio.NewReader(conn), nil)
	body, _ := io.ReadAll(resp.Body)
	fmt.Println(resp.StatusCode, string(body))
	// Output: 200 hello from 192.0.2.1:1234
}
