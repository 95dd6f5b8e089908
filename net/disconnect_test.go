package net_test

import (
	"context"
	"io"
	stdnet "net"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/weftgo/weft/net"
	"github.com/weftgo/weft/runtime"
)

// TestClientGoneCancelsTheRequest (issue 8 §4): when the client closes its
// connection, the request's context is cancelled by the close itself (the
// handler here would otherwise wait forever), and the server logs "client
// closed" at info, not a failed handler.
func TestClientGoneCancelsTheRequest(t *testing.T) {
	core, logs := observer.New(zapcore.DebugLevel)
	started := make(chan struct{})
	cancelled := make(chan error, 1)
	addr := startServer(t, &net.Server{Logger: zap.New(core), Handler: func(c *net.Ctx) net.Result {
		ctx := c.Context()
		return runtime.Blocking(c, func(context.Context) (struct{}, error) {
			close(started)
			<-ctx.Done()
			cancelled <- context.Cause(ctx)
			return struct{}{}, ctx.Err()
		})
	}})
	conn, err := stdnet.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(conn, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	<-started
	conn.Close()
	select {
	case <-cancelled:
	case <-time.After(10 * time.Second):
		t.Fatal("the request's context was not cancelled when the client left")
	}
	// The Result settles after the cancel: wait for its log line.
	deadline := time.Now().Add(10 * time.Second)
	for logs.FilterMessage("client closed").Len() == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("no \"client closed\" line; logged %v", logs.All())
		}
		time.Sleep(time.Millisecond)
	}
	e := logs.FilterMessage("client closed").All()[0]
	if e.Level != zapcore.InfoLevel || e.ContextMap()["path"] != "/" {
		t.Fatalf("client closed line: %v %v", e.Level, e.ContextMap())
	}
	if n := logs.FilterMessage("handler failed").Len(); n != 0 {
		t.Fatalf("%d \"handler failed\" lines for a client that left", n)
	}
}
