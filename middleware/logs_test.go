package middleware_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/weftgo/weft/net"
	"github.com/weftgo/weft/router"
)

// Test helpers for the middleware that log (Logger, Recover, LimitBody),
// and for configuration panics.

// logSink is a zap logger that writes JSON lines into memory, so that
// tests read what a real encoder wrote (not fields that borrow request
// bytes).
type logSink struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (s *logSink) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.Write(p)
}

func (s *logSink) Sync() error { return nil }

// newLogSink returns a logger at level that writes into the returned sink.
func newLogSink(level zapcore.Level) (*zap.Logger, *logSink) {
	s := &logSink{}
	enc := zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig())
	return zap.New(zapcore.NewCore(enc, s, level)), s
}

// lines returns the log lines written so far, decoded, and forgets them.
func (s *logSink) lines(t testing.TB) []map[string]any {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(s.buf.String()), "\n") {
		if l == "" {
			continue
		}
		m := map[string]any{}
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("log line %q: %v", l, err)
		}
		out = append(out, m)
	}
	s.buf.Reset()
	return out
}

// one returns the only log line written so far.
func (s *logSink) one(t testing.TB) map[string]any {
	t.Helper()
	ls := s.lines(t)
	if len(ls) != 1 {
		t.Fatalf("%d log lines, want 1: %v", len(ls), ls)
	}
	return ls[0]
}

// absent marks a log field that must not be there.
const absent = "<absent>"

// checkFields fails for each field of line that is not as want says (a
// JSON value, or absent).
func checkFields(t *testing.T, line, want map[string]any) {
	t.Helper()
	for k, v := range want {
		got, ok := line[k]
		switch {
		case v == absent && ok:
			t.Errorf("log field %s = %v, want none", k, got)
		case v != absent && got != v:
			t.Errorf("log field %s = %v, want %v", k, got, v)
		}
	}
}

// serveRouted serves req through a router that uses mw and routes pattern
// to h, and returns the response.
func serveRouted(t *testing.T, mw []net.Middleware, pattern string, h net.Handler, req string) (*http.Response, string) {
	t.Helper()
	r := router.New()
	r.Use(mw...)
	r.GET(pattern, h)
	return serveTC(t, testConn(t, r.Serve), req)
}

// expectPanic runs f and fails unless it panics with a message that
// contains want (the name of the bad field).
func expectPanic(t *testing.T, want string, f func()) {
	t.Helper()
	defer func() {
		t.Helper()
		r := recover()
		if r == nil {
			t.Fatalf("no panic, want one naming %s", want)
		}
		if msg := fmt.Sprint(r); !strings.Contains(msg, want) {
			t.Fatalf("panic %q does not name %s", msg, want)
		}
	}()
	f()
}
