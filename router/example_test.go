package router_test

import (
	"fmt"
	"time"

	"github.com/weftgo/weft/net"
	"github.com/weftgo/weft/router"
)

func Example() {
	r := router.New()
	r.GET("/users/new", func(c *net.Ctx) net.Result { return c.Text(200, "the form") })
	r.GET("/users/:id", func(c *net.Ctx) net.Result { return c.Text(200, "user "+c.Param("id")) })
	api := r.Group("/api")
	api.GET("/files/*path", func(c *net.Ctx) net.Result { return c.Text(200, "file "+c.Param("path")) })

	// In a program: (&net.Server{Addr: ":8080", Handler: r.Serve}).ListenAndServe()
	tc, _ := net.NewTestConn(&net.Server{Handler: r.Serve})
	defer tc.Close()
	for _, path := range []string{"/users/new", "/users/42", "/api/files/a/b.txt", "/nope"} {
		out, _ := tc.Serve([]byte("GET "+path+" HTTP/1.1\r\nHost: x\r\n\r\n"), time.Second)
		fmt.Printf("%s -> %q\n", path, lastLine(out))
	}
	// Output:
	// /users/new -> "the form"
	// /users/42 -> "user 42"
	// /api/files/a/b.txt -> "file a/b.txt"
	// /nope -> "Not Found"
}

func lastLine(b []byte) string {
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] == '\n' {
			return string(b[i+1:])
		}
	}
	return string(b)
}

// Paths are matched decoded, segment by segment; an encoded slash stays
// inside its segment.
func Example_encodedPaths() {
	r := router.New()
	r.GET("/plaintext", func(c *net.Ctx) net.Result { return c.Text(200, "plaintext, sent as "+c.Path()) })
	r.GET("/users/:name", func(c *net.Ctx) net.Result {
		return c.Text(200, "user "+c.Param("name")+" (matched as "+c.Params().Get("name")+")")
	})
	tc, _ := net.NewTestConn(&net.Server{Handler: r.Serve})
	defer tc.Close()
	for _, path := range []string{"/plain%74ext", "/users/J%C3%B6rg", "/users/a%2Fb"} {
		out, _ := tc.Serve([]byte("GET "+path+" HTTP/1.1\r\nHost: x\r\n\r\n"), time.Second)
		fmt.Println(lastLine(out))
	}
	// Output:
	// plaintext, sent as /plain%74ext
	// user Jörg (matched as Jörg)
	// user a/b (matched as a%2Fb)
}
