package net_test

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/weftgo/weft/net"
	"github.com/weftgo/weft/runtime"
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

// TestStreamAfterTheResponseIsFinalFailsItsWrites: once HandlerTimeout has
// answered (the response is final and written), a late continuation that
// starts a stream must not be told its writes succeeded: nothing of them
// will ever be sent, and a producer looping on ready futures would pile
// them up without bound. SendReader and Upgrade already refuse a frozen
// Ctx; Stream (and so SSE) must too.
func TestStreamAfterTheResponseIsFinalFailsItsWrites(t *testing.T) {
	release := make(chan struct{})
	type outcome struct {
		accepted int // 1 MiB writes reported as taken
		err      error
	}
	got := make(chan outcome, 1)
	addr := startServer(t, &net.Server{HandlerTimeout: 50 * time.Millisecond, Handler: func(c *net.Ctx) net.Result {
		p := runtime.NewPromise[struct{}](c.Loop())
		go func() { <-release; p.Resolve(struct{}{}) }()
		return runtime.Then(c, p.Future(), func(struct{}) net.Result {
			s := c.Stream(200)
			chunk := make([]byte, 1<<20)
			var o outcome
			for range 64 { // 16 times the default MaxOutboundBytes
				f := s.Write(chunk)
				if !f.Ready() {
					break
				}
				if _, o.err = f.Get(); o.err != nil {
					break
				}
				o.accepted++
			}
			got <- o
			return s.End()
		})
	}})
	rc := dial(t, addr)
	rc.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	if resp, _ := rc.read("GET"); resp.StatusCode != 503 {
		t.Fatalf("status %d, want 503", resp.StatusCode)
	}
	close(release) // only now, after the 503 was read: an event, not a time
	o := <-got
	if o.accepted > 0 || o.err == nil {
		t.Fatalf("a stream started after the final response took %d MiB with ready futures (last error %v); want its first write to fail", o.accepted, o.err)
	}
}

// TestSSEFieldsAClientWouldMisread: an id holding NUL is ignored by an
// EventSource (WHATWG HTML §9.2.6: the last event ID is left as it was), so
// a client resuming after it would resume from an older event: Send must
// refuse it rather than write it. A positive Retry under a millisecond
// must not be sent as "retry: 0" (a client reconnecting at once, in a
// loop).
func TestSSEFieldsAClientWouldMisread(t *testing.T) {
	sendErr := make(chan error, 1)
	addr := startServer(t, &net.Server{Handler: func(c *net.Ctx) net.Result {
		sse := c.SSE()
		f := sse.Send(net.Event{ID: "7\x00", Data: "x"})
		var err error
		if f.Ready() {
			_, err = f.Get()
		}
		sendErr <- err
		sse.Send(net.Event{Retry: 500 * time.Microsecond, Data: "y"})
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
	if err := <-sendErr; err == nil {
		t.Errorf("Send of an id holding NUL succeeded; body %q", body)
	}
	if strings.ContainsRune(string(body), 0) {
		t.Errorf("body %q holds a NUL", body)
	}
	if strings.Contains(string(body), "retry: 0\n") {
		t.Errorf("body %q: a 500µs Retry was sent as 0", body)
	}
}
