package middleware_test

import (
	"testing"

	"github.com/weftgo/weft/middleware"
	"github.com/weftgo/weft/net"
)

// TestErrorResponseKeepsMiddlewareHeaders pins what the package doc says:
// a failed Result is answered by the server's ErrorHandler, which keeps
// the headers middleware set on the way in (X-Request-ID, CORS) and drops
// those that describe the body.
func TestErrorResponseKeepsMiddlewareHeaders(t *testing.T) {
	mw := []net.Middleware{
		middleware.RequestID(middleware.RequestIDConfig{}),
		middleware.CORS(middleware.CORSConfig{AllowOrigins: []string{"https://app.example.com"}}),
	}
	tests := []struct {
		name   string
		h      net.Handler
		status int
	}{
		{"failed Result", func(c *net.Ctx) net.Result {
			c.SetHeader("ETag", `"v1"`)
			return net.Fail(net.NewError(net.StatusConflict, "taken"))
		}, net.StatusConflict},
		{"panic", func(c *net.Ctx) net.Result {
			c.SetHeader("ETag", `"v1"`)
			panic("boom")
		}, net.StatusInternalServerError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, _ := serveRouted(t, mw, "/things/:id", tt.h,
				get("/things/1", "X-Request-ID: rid-7", "Origin: https://app.example.com"))
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tt.status)
			}
			if got := resp.Header.Get("X-Request-ID"); got != "rid-7" {
				t.Errorf("X-Request-ID = %q, want rid-7", got)
			}
			if got := resp.Header.Get("Access-Control-Allow-Origin"); got != "https://app.example.com" {
				t.Errorf("Access-Control-Allow-Origin = %q, want the origin", got)
			}
			if got := resp.Header.Get("ETag"); got != "" {
				t.Errorf("ETag = %q on an error response, want none", got)
			}
		})
	}
}
