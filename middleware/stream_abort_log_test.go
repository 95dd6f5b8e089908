package middleware_test

import (
	"errors"
	"io"
	"net/http"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/weftgo/weft/middleware"
	"github.com/weftgo/weft/net"
)

// TestStreamAbortedBeforeItsHeadLogsA500: a stream aborted before its head
// was sent is answered with a whole 500 (Stream.Abort's doc), whether the
// handler returns the abort's failed Result or goes on to succeed: the
// client, the access line (Logger) and the server's own line all say 500.
func TestStreamAbortedBeforeItsHeadLogsA500(t *testing.T) {
	errUpstream := errors.New("upstream failed before any byte")
	tests := []struct {
		name string
		h    net.Handler
	}{
		{"abort returned", func(c *net.Ctx) net.Result {
			return c.Stream(200).Abort(errUpstream)
		}},
		{"abort, then success", func(c *net.Ctx) net.Result {
			c.Stream(200).Abort(errUpstream)
			return net.Done()
		}},
		{"short of its length at End", func(c *net.Ctx) net.Result {
			c.SetContentLength(10)
			s := c.Stream(200)
			s.WriteString("short")
			return s.End()
		}},
		{"short of its length, End ignored", func(c *net.Ctx) net.Result {
			c.SetContentLength(10)
			s := c.Stream(200)
			s.WriteString("short")
			s.End()
			return net.Done()
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			access, lines := newChanLogger()
			core, serverLogs := observer.New(zapcore.InfoLevel)
			h := middleware.Logger(middleware.LoggerConfig{Logger: access})(tt.h)
			ts := startWithLogger(t, h, zap.New(core))
			res, err := http.Get("http://" + ts + "/")
			if err != nil {
				t.Fatalf("no answer: %v", err)
			}
			_, err = io.ReadAll(res.Body)
			res.Body.Close()
			if err != nil || res.StatusCode != 500 {
				t.Fatalf("status %d, body error %v: want a whole 500", res.StatusCode, err)
			}
			line := <-lines
			if line["status"] != int64(500) || line["aborted"] == true {
				t.Fatalf("access line %v, for a client that got a whole 500", line)
			}
			var said []int64
			for _, e := range serverLogs.All() {
				if st, ok := e.ContextMap()["status"].(int64); ok {
					said = append(said, st)
				}
			}
			if len(said) != 1 || said[0] != 500 {
				t.Fatalf("the server's lines say statuses %v (%v), want one 500", said, serverLogs.All())
			}
		})
	}
}

// startWithLogger serves h on one loop with log as the server's logger.
func startWithLogger(t *testing.T, h net.Handler, log *zap.Logger) string {
	t.Helper()
	s := &net.Server{Addr: "127.0.0.1:0", Handler: h, Loops: 1, Logger: log}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Shutdown(t.Context()) })
	return s.ListenAddr().String()
}
