package net_test

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/weftgo/weft/net"
	"github.com/weftgo/weft/runtime"
)

// formServer streams the bodies of paths under /s/ and reads the others
// whole; /s/big and /big take DefaultMaxFormBytes, the others 100 bytes.
// Each answers the form's fields, sorted, or the error's status; /form
// answers with Form instead.
func formServer(t *testing.T) string {
	return startServer(t, &net.Server{
		StreamBody: func(c *net.Ctx) int64 {
			if strings.HasPrefix(c.Path(), "/s/") {
				return 1 << 30
			}
			return 0
		},
		Handler: func(c *net.Ctx) net.Result {
			if strings.HasSuffix(c.Path(), "/form") {
				_, err := c.Form()
				if errors.Is(err, net.ErrBodyStreamed) {
					return c.Text(500, "streamed")
				}
				return net.Fail(err)
			}
			limit := int64(100)
			if strings.HasSuffix(c.Path(), "/big") {
				limit = 0
			}
			return runtime.Then(c, c.URLEncodedForm(limit), func(v url.Values) net.Result {
				var fields []string
				for k, vs := range v {
					if len(vs[0]) > 20 {
						vs = []string{fmt.Sprintf("%d bytes", len(vs[0]))}
					}
					fields = append(fields, k+"="+strings.Join(vs, ","))
				}
				slices.Sort(fields)
				return c.Text(200, strings.Join(fields, " "))
			})
		},
	})
}

func TestURLEncodedForm(t *testing.T) {
	addr := formServer(t)
	const ct = "Content-Type: application/x-www-form-urlencoded\r\n"
	withLength := func(path, body string) string {
		return fmt.Sprintf("POST %s HTTP/1.1\r\nHost: x\r\n%sContent-Length: %d\r\n\r\n%s", path, ct, len(body), body)
	}
	chunked := func(path string, chunks ...string) string {
		s := "POST " + path + " HTTP/1.1\r\nHost: x\r\n" + ct + "Transfer-Encoding: chunked\r\n\r\n"
		for _, c := range chunks {
			s += chunk(c)
		}
		return s + "0\r\n\r\n"
	}
	// Past formParseOnLoop (64 KiB): parsed off the loop.
	big := "a=1&pad=" + strings.Repeat("p", 200<<10)
	tests := []struct {
		name   string
		req    string
		status int
		body   string
		// The connection closes (bad framing). A handler that fails
		// without reading its streamed body keeps it here: each body
		// has all arrived with its head, so what follows is framed.
		closes bool
	}{
		{"whole", withLength("/f", "b=x+y&a=1&a=2"), 200, "a=1,2 b=x y", false},
		{"streamed, Content-Length", withLength("/s/f", "b=x+y&a=1&a=2"), 200, "a=1,2 b=x y", false},
		{"streamed, chunked", chunked("/s/f", "b=x", "+y&a", "=1&a=2"), 200, "a=1,2 b=x y", false},
		{"streamed, empty", chunked("/s/f"), 200, "", false},
		{"streamed, large, parsed off the loop", withLength("/s/big", big), 200, "a=1 pad=204800 bytes", false},
		{"whole, large", chunked("/big", big), 200, "a=1 pad=204800 bytes", false},
		{"whole, over the limit", withLength("/f", "a="+strings.Repeat("1", 99)), 413, "request body: a form of more than 100 bytes", false},
		{"streamed, Content-Length over the limit", withLength("/s/f", "a="+strings.Repeat("1", 99)), 413, "request body: a form of more than 100 bytes", false},
		{"streamed, over the limit, the rest still to come", "POST /s/f HTTP/1.1\r\nHost: x\r\n" + ct + "Content-Length: 1000\r\n\r\na=1", 413, "request body: a form of more than 100 bytes", true},
		{"streamed, chunked over the limit", chunked("/s/f", "a="+strings.Repeat("1", 60), strings.Repeat("2", 60)), 413, "request body: a form of more than 100 bytes", false},
		{"streamed, at the limit", withLength("/s/f", "a="+strings.Repeat("1", 98)), 200, "a=98 bytes", false},
		{"streamed, malformed", withLength("/s/f", "a=%zz"), 400, "request body: invalid form data", false},
		{"streamed, bad framing mid-body", "POST /s/f HTTP/1.1\r\nHost: x\r\n" + ct + "Transfer-Encoding: chunked\r\n\r\n" + chunk("a=1") + "zz\r\n", 400, net.StatusText(400), true},
		{"not urlencoded", "POST /s/f HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 3\r\n\r\na=1", 415, `request body: Content-Type "text/plain" is not application/x-www-form-urlencoded`, false},
		{"Form on a streamed body", withLength("/s/form", "a=1"), 500, "streamed", false},
		{"Form on a whole body", withLength("/form", "a=%zz"), 400, "request body: invalid form data", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rc := dial(t, addr)
			rc.send(tt.req)
			resp, body := rc.read("POST")
			if resp.StatusCode != tt.status || body != tt.body {
				t.Fatalf("got %d %q, want %d %q", resp.StatusCode, body, tt.status, tt.body)
			}
			if tt.closes {
				if !resp.Close {
					t.Fatal("the body is unread, but the connection is kept")
				}
				rc.expectClosed()
				return
			}
			if resp.Close {
				t.Fatal("the connection closes")
			}
			rc.send(withLength("/f", "after=1"))
			if resp, body := rc.read("POST"); resp.StatusCode != 200 || body != "after=1" {
				t.Fatalf("the request after: %d %q", resp.StatusCode, body)
			}
		})
	}
}
