package net_test

import (
	"net/http/httptest"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/weftgo/weft/net"
	"github.com/weftgo/weft/runtime"
)

// TestHeaderAfterStreamHeadIsReported: a header or status set after a
// streamed response's head went out cannot be sent; the call was silently
// lost. It still has no effect, and the server now says so, at warn, once
// per route, naming the call.
func TestHeaderAfterStreamHeadIsReported(t *testing.T) {
	core, logs := observer.New(zapcore.WarnLevel)
	srv := serve(t, &net.Server{Logger: zap.New(core), Handler: func(c *net.Ctx) net.Result {
		net.SetRoute(c, "/s")
		c.SetHeader("X-Early", "1")
		s := c.Stream(200)
		s.WriteString("a")
		// The pass that dispatched the handler sends the head; the timer's
		// continuation runs in a later turn.
		return runtime.Then(c, runtime.After(c, 0), func(struct{}) net.Result {
			c.SetHeader("X-Late", "1")
			c.SetStatus(500)
			s.WriteString("b")
			return s.End()
		})
	}})
	for range 2 {
		resp, body := do(t, srv, httptest.NewRequest("GET", "/s", nil))
		if resp.StatusCode != 200 || body != "ab" || resp.Header.Get("X-Early") != "1" || resp.Header.Get("X-Late") != "" {
			t.Fatalf("got %d %q %v", resp.StatusCode, body, resp.Header)
		}
	}
	entries := logs.All()
	if len(entries) != 1 {
		t.Fatalf("%d warnings, want 1 (once per route): %v", len(entries), entries)
	}
	if f := entries[0].ContextMap(); f["route"] != "/s" || f["call"] != "Ctx.SetHeader" {
		t.Fatalf("warning: %v", f)
	}
}
