package middleware

import (
	"context"
	"errors"
	"io"
	"math/rand"
	"strings"
	"sync"
	"testing"

	"github.com/weftgo/weft/net"
	"github.com/weftgo/weft/net/webtest"
	"github.com/weftgo/weft/runtime"
)

// encoderWatch records the streaming encoders a compressor hands out, so a
// test can ask, on the loop, how many are still out of their pool.
type encoderWatch struct {
	mu   sync.Mutex
	encs []*streamingEncoder
}

func (w *encoderWatch) install(m *compressor) {
	hook := m.streamHook
	m.streamHook = func(c *net.Ctx, out io.Writer) net.StreamEncoder {
		enc := hook(c, out)
		if e, ok := enc.(*streamingEncoder); ok {
			w.mu.Lock()
			w.encs = append(w.encs, e)
			w.mu.Unlock()
		}
		return enc
	}
}

// out counts the encoders handed out and not closed (back in their pool).
// Call it on the loop that used them.
func (w *encoderWatch) out() (n, total int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, e := range w.encs {
		if e.open {
			n++
		}
	}
	return n, len(w.encs)
}

// TestCompressStreamEncoderReturnsToItsPool: the pooled encoder of a
// compressed stream goes back to its pool however the stream ends: ended,
// aborted by the handler, failed before its head was sent (answered 500),
// and cut by the client leaving mid-stream, whether the handler then waits
// on its context or on a held-back write. A stream that never closes its
// encoder costs a new codec (hundreds of KiB for zstd) per request.
func TestCompressStreamEncoderReturnsToItsPool(t *testing.T) {
	chunk := strings.Repeat("weft streams compressed bodies ", 64) // 2 KiB
	noise := make([]byte, 64<<10)
	rand.New(rand.NewSource(1)).Read(noise)
	// waitGone waits off the loop until the client has gone (the request's
	// context is cancelled), then tries to write again.
	waitGone := func(c *net.Ctx, s *net.Stream) net.Result {
		gone := runtime.Blocking(c, func(ctx context.Context) (struct{}, error) {
			<-c.Context().Done()
			return struct{}{}, nil
		})
		return runtime.Then(c, gone, func(struct{}) net.Result {
			if f := s.WriteString(chunk); f.Ready() {
				if _, err := f.Get(); err != nil {
					return net.Fail(err)
				}
			}
			return s.Abort(errors.New("wrote after the client left"))
		})
	}
	tests := []struct {
		name  string
		leave bool // the client closes the connection after the first bytes
		h     func(c *net.Ctx) net.Result
	}{
		{"ended", false, func(c *net.Ctx) net.Result {
			s := c.Stream(200)
			s.WriteString(chunk)
			s.Flush()
			return s.End()
		}},
		{"aborted after the head", true, func(c *net.Ctx) net.Result {
			s := c.Stream(200)
			s.WriteString(chunk)
			s.Flush()
			return runtime.Then(c, runtime.After(c, 0), func(struct{}) net.Result {
				return s.Abort(errors.New("upstream failed"))
			})
		}},
		{"failed before the head", false, func(c *net.Ctx) net.Result {
			s := c.Stream(200)
			s.WriteString(chunk)
			return net.Fail(errors.New("upstream failed before the first pass"))
		}},
		{"client left, handler waiting on its context", true, func(c *net.Ctx) net.Result {
			s := c.Stream(200)
			s.WriteString(chunk)
			s.Flush()
			return waitGone(c, s)
		}},
		{"client left, handler waiting on a held-back write", true, func(c *net.Ctx) net.Result {
			s := c.Stream(200)
			var write func() net.Result
			write = func() net.Result {
				for {
					// Incompressible: the mark fills.
					f := s.Write(noise)
					s.Flush()
					if !f.Ready() {
						return runtime.Then(c, f, func(struct{}) net.Result { return write() })
					}
					if _, err := f.Get(); err != nil {
						return net.Fail(err)
					}
				}
			}
			return write()
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newCompressor(CompressConfig{Encodings: []string{"gzip"}, Types: []string{"text/*"}})
			var watch encoderWatch
			watch.install(m)
			settled := make(chan error, 1)
			counts := make(chan [2]int, 1)
			h := m.middleware(func(c *net.Ctx) net.Result {
				if c.Path() == "/probe" {
					n, total := watch.out()
					counts <- [2]int{n, total}
					return c.Text(200, "ok")
				}
				c.SetContentType("text/plain")
				return tt.h(c).Finally(c, func(_ struct{}, err error) { settled <- err })
			})
			// One loop: the probe runs on the loop that used the encoder.
			ts, err := webtest.StartTCP(&net.Server{Handler: h, Loops: 1, StreamHighWaterBytes: 16 << 10})
			if err != nil {
				t.Fatal(err)
			}
			defer ts.Close()
			rc, err := ts.DialRaw()
			if err != nil {
				t.Fatal(err)
			}
			if err := rc.Send("GET / HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\n\r\n"); err != nil {
				t.Fatal(err)
			}
			if tt.leave {
				// The head and the first bytes are out: leave.
				if _, err := rc.R.ReadString('\n'); err != nil {
					t.Fatal(err)
				}
				rc.Close()
			} else {
				res, body, err := rc.ReadResponse("GET")
				if err != nil {
					t.Fatal(err)
				}
				t.Logf("answered %d, %d bytes", res.StatusCode, len(body))
				rc.Close()
			}
			<-settled
			// The probe runs after the stream's end on the same loop:
			// its request arrives once the handler's Result settled.
			res, err := ts.Client().Get("http://" + ts.Addr + "/probe")
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if got := <-counts; got[1] != 1 || got[0] != 0 {
				t.Fatalf("%d of %d streaming encoders still out of their pool after the stream ended", got[0], got[1])
			}
		})
	}
}
