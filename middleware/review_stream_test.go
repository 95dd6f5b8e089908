package middleware_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/weftgo/weft/middleware"
	"github.com/weftgo/weft/net"
)

// TestCompressedStreamShortOfItsLengthAborts: a streamed body that ends
// short of the length it declared (SetContentLength, or SendReader's size:
// a file that shrank while it was sent) is aborted, so that no client
// takes a cut body for a whole one. Compress turns such a body into a
// chunked, encoded one; the declared length must still be enforced on the
// bytes written, or the coder's trailer ends a valid, complete-looking
// stream of a truncated body.
func TestCompressedStreamShortOfItsLengthAborts(t *testing.T) {
	body := strings.Repeat("weft streams ", 400) // 5200 bytes, compressible
	tests := []struct {
		name string
		h    net.Handler
	}{
		{"SendReader", func(c *net.Ctx) net.Result {
			return c.SendReader(200, "text/plain", strings.NewReader(body), int64(2*len(body)))
		}},
		{"Stream", func(c *net.Ctx) net.Result {
			c.SetContentType("text/plain")
			c.SetContentLength(int64(2 * len(body)))
			s := c.Stream(200)
			s.WriteString(body)
			return s.End()
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, addr := startServer(t, middleware.Compress(middleware.CompressConfig{})(tt.h), 1)
			req, _ := http.NewRequest("GET", "http://"+addr+"/", nil)
			req.Header.Set("Accept-Encoding", "gzip")
			res, err := httpClient(t).Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			got, err := io.ReadAll(res.Body)
			// Cut off (a read error), or, if nothing of it was sent
			// before it ended, answered as a failure: either way not
			// a whole body.
			if err == nil && res.StatusCode < 500 {
				t.Fatalf("a %d-byte body declared as %d was received whole (%d bytes, Content-Encoding %q): silent truncation",
					len(body), 2*len(body), len(got), res.Header.Get("Content-Encoding"))
			}
		})
	}
}
