package net_test

import (
	"bufio"
	"fmt"
	"io"
	stdnet "net"
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/weftgo/weft/net"
	"github.com/weftgo/weft/net/webtest"
	wrt "github.com/weftgo/weft/runtime"
)

// streamChunk is the chunk the /bytes handler writes, as benchserver's.
var streamChunk = make([]byte, 64<<10)

// bytesHandler streams the number of bytes in the path with a
// Content-Length, 64 KiB a write, waiting on the back-pressure future
// (examples/benchserver's GET /bytes/:n).
func bytesHandler(c *net.Ctx) net.Result {
	n, err := strconv.ParseInt(c.Path()[1:], 10, 64)
	if err != nil {
		return c.Text(net.StatusBadRequest, "n\n")
	}
	c.SetContentLength(n)
	s := c.Stream(net.StatusOK)
	var from func(i int64) net.Result
	from = func(i int64) net.Result {
		for i < n {
			k := min(n-i, int64(len(streamChunk)))
			f := s.Write(streamChunk[:k])
			i += k
			if !f.Ready() {
				return wrt.Then(c, f, func(struct{}) net.Result { return from(i) })
			}
			if _, err := f.Get(); err != nil {
				return net.Fail(err)
			}
		}
		return s.End()
	}
	return from(0)
}

// BenchmarkStreamDownload reads b.N responses of size bytes each over one
// keep-alive connection on 127.0.0.1, as fast as the client can, and
// reports MiB/s and the largest growth of the process's heap while it ran
// (the client's buffers are fixed, so that is the server holding bytes).
func BenchmarkStreamDownload(b *testing.B) {
	for _, size := range []int{16 << 20, 256 << 20} {
		b.Run(fmt.Sprintf("%dMiB", size>>20), func(b *testing.B) {
			srv, err := webtest.StartTCP(&net.Server{Handler: bytesHandler, Loops: 1})
			if err != nil {
				b.Fatal(err)
			}
			defer srv.Close()
			c, err := stdnet.Dial("tcp", srv.Addr)
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			r := bufio.NewReaderSize(c, 256<<10)
			req := []byte("GET /" + strconv.Itoa(size) + " HTTP/1.1\r\nHost: x\r\n\r\n")
			runtime.GC()
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			base := ms.HeapInuse
			var peak atomic.Uint64
			stop := make(chan struct{})
			sampled := make(chan struct{})
			go func() {
				defer close(sampled)
				t := time.NewTicker(5 * time.Millisecond)
				defer t.Stop()
				var ms runtime.MemStats
				for {
					select {
					case <-stop:
						return
					case <-t.C:
						runtime.ReadMemStats(&ms)
						if ms.HeapInuse > base && ms.HeapInuse-base > peak.Load() {
							peak.Store(ms.HeapInuse - base)
						}
					}
				}
			}()
			b.SetBytes(int64(size))
			b.ResetTimer()
			for range b.N {
				if _, err := c.Write(req); err != nil {
					b.Fatal(err)
				}
				var n int64
				for {
					line, err := r.ReadSlice('\n')
					if err != nil {
						b.Fatal(err)
					}
					if len(line) == 2 {
						break
					}
					if v, ok := bytesCutPrefix(line, "Content-Length: "); ok {
						n, _ = strconv.ParseInt(v, 10, 64)
					}
				}
				if got, err := io.CopyN(io.Discard, r, n); err != nil || got != int64(size) {
					b.Fatalf("read %d of %d: %v", got, size, err)
				}
			}
			b.StopTimer()
			close(stop)
			<-sampled
			b.ReportMetric(float64(peak.Load())/(1<<20), "heapMiB")
		})
	}
}

func bytesCutPrefix(line []byte, p string) (string, bool) {
	if len(line) < len(p) || string(line[:len(p)]) != p {
		return "", false
	}
	return string(line[len(p) : len(line)-2]), true
}
