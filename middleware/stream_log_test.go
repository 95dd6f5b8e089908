package middleware_test

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/weftgo/weft/middleware"
	"github.com/weftgo/weft/net"
	"github.com/weftgo/weft/runtime"
)

// chanCore is a zapcore.Core that hands each line written, its message
// and fields encoded, to a channel: a test waits for a line as an event.
type chanCore struct{ lines chan map[string]any }

func newChanLogger() (*zap.Logger, chan map[string]any) {
	c := chanCore{lines: make(chan map[string]any, 16)}
	return zap.New(c), c.lines
}

func (c chanCore) Enabled(zapcore.Level) bool        { return true }
func (c chanCore) With([]zapcore.Field) zapcore.Core { return c }
func (c chanCore) Sync() error                       { return nil }
func (c chanCore) Check(e zapcore.Entry, ce *zapcore.CheckedEntry) *zapcore.CheckedEntry {
	return ce.AddCore(e, c)
}

func (c chanCore) Write(e zapcore.Entry, fs []zapcore.Field) error {
	enc := zapcore.NewMapObjectEncoder()
	for _, f := range fs {
		f.AddTo(enc)
	}
	enc.Fields["msg"] = e.Message
	c.lines <- enc.Fields
	return nil
}

// TestLoggerCountsStreamedBodies: the access line of a streamed response
// (Stream, SendReader with and without a size, SendFile, SSE, and a
// compressed stream) says how many body bytes were sent, as it does for a
// whole body: the body the client received, after any content coding.
func TestLoggerCountsStreamedBodies(t *testing.T) {
	text := strings.Repeat("weft streams its bodies ", 300) // 7200 bytes
	dir := t.TempDir()
	file := filepath.Join(dir, "body.txt")
	if err := os.WriteFile(file, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		compress bool
		h        net.Handler
	}{
		{"Stream", false, func(c *net.Ctx) net.Result {
			s := c.Stream(200)
			s.WriteString(text[:100])
			s.WriteString(text[100:])
			return s.End()
		}},
		{"Stream with a length", false, func(c *net.Ctx) net.Result {
			c.SetContentLength(int64(len(text)))
			s := c.Stream(200)
			s.WriteString(text)
			return s.End()
		}},
		{"SendReader with a size", false, func(c *net.Ctx) net.Result {
			return c.SendReader(200, "text/plain", strings.NewReader(text), int64(len(text)))
		}},
		{"SendReader to EOF", false, func(c *net.Ctx) net.Result {
			return c.SendReader(200, "text/plain", strings.NewReader(text), -1)
		}},
		{"SendFile", false, func(c *net.Ctx) net.Result { return c.SendFile(file) }},
		{"SSE", false, func(c *net.Ctx) net.Result {
			sse := c.SSE()
			f := sse.Send(net.Event{ID: "1", Data: text[:1000]})
			return runtime.Then(c, f, func(struct{}) net.Result {
				sse.Comment("keep-alive")
				return sse.Stream().End()
			})
		}},
		{"compressed Stream", true, func(c *net.Ctx) net.Result {
			c.SetContentType("text/plain")
			s := c.Stream(200)
			s.WriteString(text)
			s.Flush()
			s.WriteString(text)
			return s.End()
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			log, lines := newChanLogger()
			h := tt.h
			if tt.compress {
				h = middleware.Compress(middleware.CompressConfig{Encodings: []string{"gzip"}})(h)
			}
			h = middleware.Logger(middleware.LoggerConfig{Logger: log})(h)
			_, addr := startServer(t, h, 1)
			req, _ := http.NewRequest("GET", "http://"+addr+"/", nil)
			if tt.compress {
				req.Header.Set("Accept-Encoding", "gzip")
			}
			// The transport's own decompression is off: the body read
			// is the one on the wire.
			res, err := (&http.Transport{DisableCompression: true}).RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			body, err := io.ReadAll(res.Body)
			res.Body.Close()
			if err != nil || res.StatusCode != 200 {
				t.Fatalf("status %d, %v", res.StatusCode, err)
			}
			if tt.compress != (res.Header.Get("Content-Encoding") == "gzip") {
				t.Fatalf("Content-Encoding %q", res.Header.Get("Content-Encoding"))
			}
			line := <-lines
			if got, want := line["bytes"], int64(len(body)); got != want {
				t.Fatalf("access line says bytes: %v (%T), the client received %d body bytes\n%v", got, got, want, line)
			}
		})
	}
}
