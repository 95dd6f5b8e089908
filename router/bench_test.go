package router_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/weftgo/weft/net"
	"github.com/weftgo/weft/router"
)

// benchRouter has the benchserver's routes.
func benchRouter() *router.Router {
	r := router.New()
	r.GET("/plaintext", func(c *net.Ctx) net.Result { return c.Text(200, "Hello, World!") })
	r.GET("/json", func(c *net.Ctx) net.Result {
		return c.JSON(200, struct {
			Message string `json:"message"`
		}{"Hello, World!"})
	})
	r.GET("/users/:id", func(c *net.Ctx) net.Result {
		return c.Text(200, c.Param("id"))
	})
	r.POST("/echo", func(c *net.Ctx) net.Result { return c.Send(200, "application/octet-stream", c.Body()) })
	return r
}

// BenchmarkServerPlaintext is one full request per iteration (parse,
// route, handler, response written) through an in-memory connection.
func BenchmarkServerPlaintext(b *testing.B) {
	benchmarkRoute(b, "GET /plaintext HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n", "Hello, World!")
}

func BenchmarkServerParam(b *testing.B) {
	benchmarkRoute(b, "GET /users/123 HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n", "123")
}

func BenchmarkServerNotFound(b *testing.B) {
	benchmarkRoute(b, "GET /missing HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n", "Not Found")
}

func benchmarkRoute(b *testing.B, req, want string) {
	tc, err := net.NewTestConn(&net.Server{Handler: benchRouter().Serve})
	if err != nil {
		b.Fatal(err)
	}
	defer tc.Close()
	in := []byte(req)
	b.ReportAllocs()
	var out []byte
	for b.Loop() {
		out, _ = tc.Serve(in, time.Second)
	}
	if !bytes.HasSuffix(out, []byte(want)) {
		b.Fatalf("response %q", out)
	}
}
