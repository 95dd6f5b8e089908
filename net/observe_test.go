package net_test

import (
	"bufio"
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap/zapcore"

	"github.com/weftgo/weft/net"
	"github.com/weftgo/weft/runtime"
)

func TestTracerPid(t *testing.T) {
	tests := []struct {
		name, status string
		want         int
	}{
		{"none", "Name:\tweft\nState:\tS (sleeping)\nTracerPid:\t0\nUid:\t0\n", 0},
		{"a debugger", "Name:\tweft\nTracerPid:\t4242\nUid:\t0\n", 4242},
		{"no such line", "Name:\tweft\nUid:\t0\n", 0},
		{"garbage", "Name:\tweft\nTracerPid:\tx\n", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := net.TracerPid([]byte(tt.status)); got != tt.want {
				t.Fatalf("TracerPid = %d, want %d", got, tt.want)
			}
		})
	}
}

func refusedCount(srv *net.Server, status int) uint64 {
	var st net.ServerStats
	srv.Stats(&st)
	for _, r := range st.RequestsRefused {
		if r.Status == status {
			return r.Count
		}
	}
	return 0
}

func TestRefusedRequestsCountedAndLogged(t *testing.T) {
	tests := []struct {
		name   string
		req    string
		status int
	}{
		{"malformed", "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: nope\r\n\r\n", 400},
		{"head too large", "GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + bigHeader(2048) + "\r\n\r\n", 431},
		{"too slow", "GET / HTTP/1.1\r\nHost: x\r\n", 408},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			log, events := newLogEvents(zapcore.DebugLevel)
			srv := &net.Server{Logger: log, MaxHeaderBytes: 1024, MaxRequestLineBytes: 512, ReadHeaderTimeout: 50 * time.Millisecond,
				Handler: func(c *net.Ctx) net.Result { return c.Text(200, "ok") }}
			addr := startServer(t, srv)
			rc := dial(t, addr)
			rc.send(tt.req)
			resp, err := http.ReadResponse(bufio.NewReader(rc.c), nil)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tt.status)
			}
			line := events.next(t, "request refused before any handler")
			if line["level"] != "debug" || line["status"] != float64(tt.status) || line["remote"] == "" {
				t.Errorf("log line %v, want debug with status %d and the remote address", line, tt.status)
			}
			if n := refusedCount(srv, tt.status); n != 1 {
				t.Errorf("Stats: %d refused with %d, want 1", n, tt.status)
			}
		})
	}
}

func bigHeader(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = 'a'
	}
	return string(b)
}

func TestRefusedConnectionsCountedAndLogged(t *testing.T) {
	log, events := newLogEvents(zapcore.DebugLevel)
	srv := &net.Server{Logger: log, MaxConns: 1, Handler: func(c *net.Ctx) net.Result { return c.Text(200, "ok") }}
	addr := startServer(t, srv)
	held := dial(t, addr)
	held.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	if _, body := held.read("GET"); body != "ok" {
		t.Fatalf("held connection: %q", body)
	}
	extra := dial(t, addr)
	extra.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	if resp, _ := extra.read("GET"); resp.StatusCode != 503 {
		t.Fatalf("connection over MaxConns: %d, want 503", resp.StatusCode)
	}
	line := events.next(t, "connection refused")
	if line["level"] != "debug" || line["reason"] != "max_conns" {
		t.Errorf("log line %v, want debug with reason max_conns", line)
	}
	var st net.ServerStats
	srv.Stats(&st)
	if st.RefusedMaxConns != 1 || st.RefusedDescriptors != 0 || st.Conns != 1 {
		t.Errorf("Stats: %d refused at MaxConns, %d for descriptors, %d open; want 1, 0, 1", st.RefusedMaxConns, st.RefusedDescriptors, st.Conns)
	}
}

type ctxKey struct{}

func TestSetContextReachesBlockingAndIsCancelledWithTheRequest(t *testing.T) {
	got := make(chan context.Context, 1)
	h := func(c *net.Ctx) net.Result {
		net.SetContext(c, context.WithValue(c.Context(), ctxKey{}, "span"))
		f := runtime.Blocking(c, func(ctx context.Context) (string, error) {
			got <- ctx
			v, _ := ctx.Value(ctxKey{}).(string)
			return v, nil
		})
		return runtime.Then(c, f, func(v string) net.Result { return c.Text(200, v) })
	}
	tc, err := net.NewTestConn(&net.Server{Handler: h})
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Close()
	out, err := tc.Serve([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(string(out), "\r\n\r\nspan") {
		t.Fatalf("response %q, want the value from the replaced context", out)
	}
	ctx := <-got
	select {
	case <-ctx.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("the replaced context was not cancelled when the response was final")
	}
}
