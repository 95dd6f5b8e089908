package net_test

import (
	"strings"
	"testing"
	"time"

	"github.com/weftgo/weft/net"
)

// TestInvalidFinalStatusIsAProgrammingError is the regression test of issue
// 8 §5.7: c.Text(101, ...) wrote a 1xx with no framing, and the client took
// what followed for the final response. Statuses outside 200–999, and 1xx
// but through Upgrade, panic (answered 500), as net/http's
// checkWriteHeaderCode does.
func TestInvalidFinalStatusIsAProgrammingError(t *testing.T) {
	tests := []struct {
		name string
		h    net.Handler
		want string
	}{
		{"Text 101", func(c *net.Ctx) net.Result { return c.Text(101, "x") }, "HTTP/1.1 500"},
		{"Text 100", func(c *net.Ctx) net.Result { return c.Text(100, "x") }, "HTTP/1.1 500"},
		{"Send 1000", func(c *net.Ctx) net.Result { return c.Send(1000, "text/plain", nil) }, "HTTP/1.1 500"},
		{"NoContent 0", func(c *net.Ctx) net.Result { return c.NoContent(0) }, "HTTP/1.1 500"},
		{"SetStatus 199", func(c *net.Ctx) net.Result { c.SetStatus(199); return net.Done() }, "HTTP/1.1 500"},
		{"JSON 103", func(c *net.Ctx) net.Result { return c.JSON(103, 1) }, "HTTP/1.1 500"},
		{"Stream 102", func(c *net.Ctx) net.Result { return c.Stream(102).End() }, "HTTP/1.1 500"},
		{"Text 200", func(c *net.Ctx) net.Result { return c.Text(200, "x") }, "HTTP/1.1 200"},
		{"Text 999", func(c *net.Ctx) net.Result { return c.Text(999, "x") }, "HTTP/1.1 999"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tc := newTestConn(t, &net.Server{Handler: tt.h})
			out, err := tc.Serve([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), time.Second)
			if err != nil || !strings.HasPrefix(string(out), tt.want) {
				t.Fatalf("%q, %v; want %s", out, err, tt.want)
			}
			if strings.Count(string(out), "HTTP/1.1 ") != 1 {
				t.Fatalf("more than one status line: %q", out)
			}
		})
	}
}
