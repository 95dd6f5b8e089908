package net

import (
	"bufio"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/weftgo/weft/runtime"
)

// TestDrainStressManyReaders: many connections on one loop, each a stream
// over its mark and a large plain response past MaxOutboundBytes, read
// by clients that pause at random: every writer is woken (no sweep, so a
// lost drain event is a hang, which the deadline turns into a failure).
func TestDrainStressManyReaders(t *testing.T) {
	const (
		conns = 8
		size  = 512 << 10
		chunk = 24 << 10
	)
	plain := strings.Repeat("p", size)
	body := pattern(chunk)
	addr, l := startInternal(t, &Server{
		StreamHighWaterBytes: 64 << 10,
		MaxOutboundBytes:     128 << 10,
		Handler: func(c *Ctx) Result {
			if c.Path() == "/plain" {
				return c.Text(200, plain)
			}
			s := c.Stream(StatusOK)
			var from func(sent int) Result
			from = func(sent int) Result {
				for sent < size {
					k := min(chunk, size-sent)
					f := s.Write(body[:k])
					sent += k
					if !f.Ready() {
						return runtime.Then(c, f, func(struct{}) Result { return from(sent) })
					}
				}
				return s.End()
			}
			return from(0)
		},
	})
	var wg sync.WaitGroup
	errs := make(chan error, conns)
	for i := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			conn := dial(t, addr)
			r := rand.New(rand.NewPCG(uint64(i), 7))
			if _, err := io.WriteString(conn, "GET /s HTTP/1.1\r\nHost: x\r\n\r\nGET /plain HTTP/1.1\r\nHost: x\r\n\r\nGET /s HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
				errs <- err
				return
			}
			br := bufio.NewReaderSize(conn, 4<<10)
			for range 3 {
				res, err := http.ReadResponse(br, nil)
				if err != nil {
					errs <- err
					return
				}
				buf := make([]byte, 1+r.IntN(32<<10))
				n := 0
				for {
					m, err := res.Body.Read(buf)
					n += m
					if err == io.EOF {
						break
					}
					if err != nil {
						errs <- err
						return
					}
					if r.IntN(8) == 0 {
						time.Sleep(time.Duration(r.IntN(300)) * time.Microsecond)
					}
				}
				if n != size {
					errs <- io.ErrUnexpectedEOF
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := l.drainPolls.Load(); n != 0 {
		t.Errorf("%d drain polls", n)
	}
}
