package net_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/weftgo/weft/net"
)

// TestSSECommentCannotInjectFields: a comment is one line. A CR in its
// text ends the line for an EventSource parser (CR, LF and CRLF all end a
// line, WHATWG HTML §9.2.6), so "x\rdata: forged" would make the client
// dispatch an event the server never sent. The body must hold no CR, and
// no line but the comment's.
func TestSSECommentCannotInjectFields(t *testing.T) {
	addr := startServer(t, &net.Server{Handler: func(c *net.Ctx) net.Result {
		sse := c.SSE()
		sse.Comment("x\rdata: forged\r\rid: 1")
		return sse.Stream().End()
	}})
	res, err := http.Get("http://" + addr + "/")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	if strings.ContainsRune(string(body), '\r') {
		t.Fatalf("SSE body %q holds a CR: an EventSource client reads the comment's tail as fields", body)
	}
	lines := strings.Split(strings.TrimSuffix(string(body), "\n\n"), "\n")
	if len(lines) != 1 || !strings.HasPrefix(lines[0], ":") {
		t.Fatalf("SSE body %q: want one comment line", body)
	}
}
