package router_test

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/weftgo/weft/net"
	"github.com/weftgo/weft/router"
	"github.com/weftgo/weft/runtime"
)

// TestGroupStreamBody: routes of a group with StreamBody get their bodies
// as streams (Body is nil, BodyChunk hands the bytes); the others get them
// whole.
func TestGroupStreamBody(t *testing.T) {
	r := router.New()
	count := func(c *net.Ctx) net.Result {
		if c.Body() != nil {
			return c.Text(200, "whole "+strconv.Itoa(len(c.Body())))
		}
		n := 0
		var next func([]byte) net.Result
		next = func(b []byte) net.Result {
			n += len(b)
			return runtime.Then(c, c.BodyChunk(), next)
		}
		return next(nil).Catch(c, func(error) net.Result { return c.Text(200, "streamed "+strconv.Itoa(n)) })
	}
	r.POST("/whole", count)
	up := r.Group("/up")
	up.StreamBody(1 << 20)
	up.POST("/file", count)
	tc, err := net.NewTestConn(&net.Server{Handler: r.Serve, StreamBody: r.StreamBody})
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Close()
	for _, tt := range []struct{ path, want string }{
		{"/whole", "whole 5000"},
		{"/up/file", "streamed 5000"},
	} {
		out, err := tc.Serve([]byte("POST "+tt.path+" HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n"+strings.Repeat("q", 5000)), time.Second)
		if err != nil || !strings.HasSuffix(string(out), tt.want) {
			t.Fatalf("%s: %q, %v; want %q", tt.path, out, err, tt.want)
		}
	}
}
