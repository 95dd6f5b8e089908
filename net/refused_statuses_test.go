package net_test

import (
	"bufio"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap/zapcore"

	"github.com/weftgo/weft/net"
)

func TestEveryRefusalStatusIsCounted(t *testing.T) {
	tests := []struct {
		name   string
		req    string
		status int
	}{
		{"body too large", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n", 413},
		{"uri too long", "GET /" + strings.Repeat("a", 600) + " HTTP/1.1\r\nHost: x\r\n\r\n", 414},
		{"unknown coding", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501},
		{"version", "GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505},
		{"expect", "POST / HTTP/1.1\r\nHost: x\r\nExpect: 200-ok\r\nContent-Length: 1\r\n\r\nx", 417},
		{"chunked too large", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n2000\r\n" + strings.Repeat("a", 0x2000) + "\r\n0\r\n\r\n", 413},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			log, _ := newLogEvents(zapcore.DebugLevel)
			srv := &net.Server{Logger: log, MaxHeaderBytes: 1024, MaxRequestLineBytes: 512, MaxBodyBytes: 1024, ReadHeaderTimeout: 5 * time.Second,
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
			if n := refusedCount(srv, tt.status); n != 1 {
				var st net.ServerStats
				srv.Stats(&st)
				t.Errorf("Stats: %d refused with %d, want 1: %v", n, tt.status, st.RequestsRefused)
			}
		})
	}
}
