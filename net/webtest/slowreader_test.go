package webtest_test

import (
	"bytes"
	"io"
	"net/http/httptest"
	"testing"
	"testing/synctest"
	"time"

	"github.com/weftgo/weft/net"
	"github.com/weftgo/weft/net/webtest"
	"github.com/weftgo/weft/runtime"
)

// TestSteadySlowReaderIsNotCutByWriteTimeout: WriteTimeout closes a
// connection whose output makes no progress; a client that reads steadily,
// but slower than the handler produces, makes progress all along and must
// get its whole body, in memory as over a socket (where the bytes the
// client acknowledges count). In a synctest bubble, time moves only when
// every goroutine waits: the reader takes 4 KiB every 10 ms (400 KiB/s)
// of a 2 MiB stream, about 5 s, five times WriteTimeout.
func TestSteadySlowReaderIsNotCutByWriteTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const total, piece = 2 << 20, 4 << 10
		chunk := bytes.Repeat([]byte("weft"), 4<<10) // 16 KiB
		h := func(c *net.Ctx) net.Result {
			c.SetContentLength(total)
			s := c.Stream(200)
			var write func(left int) net.Result
			write = func(left int) net.Result {
				for left > 0 {
					f := s.Write(chunk[:min(len(chunk), left)])
					left -= min(len(chunk), left)
					if !f.Ready() {
						return runtime.Then(c, f, func(struct{}) net.Result { return write(left) })
					}
					if _, err := f.Get(); err != nil {
						return net.Fail(err)
					}
				}
				return s.End()
			}
			return write(total)
		}
		srv, err := webtest.Start(&net.Server{Loops: 1, Handler: h, WriteTimeout: time.Second, StreamHighWaterBytes: 64 << 10, MaxOutboundBytes: 128 << 10})
		if err != nil {
			t.Fatal(err)
		}
		defer srv.Close()
		resp, err := srv.Do(httptest.NewRequest("GET", "/", nil))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		buf := make([]byte, piece)
		read := 0
		for {
			n, err := io.ReadFull(resp.Body, buf)
			read += n
			if err != nil {
				if read != total {
					t.Fatalf("read %d of %d bytes, then %v: a steady reader was cut", read, total, err)
				}
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
}
