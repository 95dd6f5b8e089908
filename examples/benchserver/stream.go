package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"strconv"
	"time"

	"github.com/weftgo/weft/net"
	"github.com/weftgo/weft/router"
	"github.com/weftgo/weft/runtime"
)

// The streaming endpoints of issue 8:
//
//	GET /bytes/:n            exactly n bytes, byte i being 'a' + i%26, with
//	                         Content-Length, streamed (memory independent of n)
//	GET /sse?n=N&every=MS    N Server-Sent Events, "id: i" and "data: <Unix
//	                         time in ns when written>", MS ms apart, then the end
//	POST /sha256             the hex SHA-256 of the request body, read as a
//	                         stream (any size up to 16 GiB, Content-Length or
//	                         chunked), hashed off the loop; the server's
//	                         StreamBody must be the router's

// alphabet holds the pattern from every phase: alphabet[k : k+len] is the
// run of bytes starting at any i with i%26 == k.
var alphabet = func() []byte {
	b := make([]byte, bytesChunk+26)
	for i := range b {
		b[i] = 'a' + byte(i%26)
	}
	return b
}()

const bytesChunk = 64 << 10

func streamRoutes(r *router.Router) {
	up := r.Group("")
	up.StreamBody(16 << 30)
	up.POST("/sha256", func(c *net.Ctx) net.Result {
		body := c.BodyReader()
		sum := runtime.Blocking(c, func(context.Context) (string, error) {
			h := sha256.New()
			if _, err := io.Copy(h, body); err != nil {
				return "", err
			}
			return hex.EncodeToString(h.Sum(nil)), nil
		})
		return runtime.Then(c, sum, func(s string) net.Result { return c.Text(net.StatusOK, s+"\n") })
	})
	r.GET("/bytes/:n", func(c *net.Ctx) net.Result {
		n, err := strconv.ParseInt(c.Param("n"), 10, 64)
		if err != nil || n < 0 {
			return c.Text(net.StatusBadRequest, "n: a byte count\n")
		}
		c.SetContentType("application/octet-stream")
		c.SetContentLength(n)
		s := c.Stream(net.StatusOK)
		var from func(i int64) net.Result
		from = func(i int64) net.Result {
			for i < n {
				k := min(n-i, bytesChunk)
				f := s.Write(alphabet[i%26 : i%26+k])
				i += k
				if !f.Ready() { // over the high-water mark: wait for the client
					return runtime.Then(c, f, func(struct{}) net.Result { return from(i) })
				}
				if _, err := f.Get(); err != nil {
					return net.Fail(err)
				}
			}
			return s.End()
		}
		return from(0)
	})
	r.GET("/sse", func(c *net.Ctx) net.Result {
		n, _ := strconv.Atoi(c.Query("n"))
		every, _ := strconv.Atoi(c.Query("every"))
		n, every = max(n, 0), max(every, 0)
		sse := c.SSE()
		tick := eventTicker{start: time.Now(), every: time.Duration(every) * time.Millisecond}
		var send func(i int) net.Result
		next := func(i int) func(struct{}) net.Result {
			return func(struct{}) net.Result { return send(i) }
		}
		send = func(i int) net.Result {
			if i == n {
				return sse.Stream().End()
			}
			ev := net.Event{ID: strconv.Itoa(i), Data: strconv.FormatInt(time.Now().UnixNano(), 10)}
			sent := sse.Send(ev)
			if i == n-1 {
				return runtime.Then(c, sent, next(i+1))
			}
			wait := runtime.After(c, tick.next(time.Now()))
			if sent.Ready() { // written at once (the common case): only the timer to wait for
				if _, err := sent.Get(); err != nil {
					return net.Fail(err)
				}
				return runtime.Then(c, wait, next(i+1))
			}
			return runtime.Then(c, runtime.All(c, sent, wait), func([]struct{}) net.Result { return send(i + 1) })
		}
		return send(0)
	})
}

// eventTicker is /sse's schedule: event i+1 is due at start + (i+1)·every,
// and, as from a time.Ticker (the net/http peer's), a tick missed while the
// stream was behind is taken at once, but only one: the stream then waits
// for the next. Waiting every after each send instead would add each
// event's lateness to all later ones, and the streams whose timers fire
// during one busy loop turn would keep firing together: 1,000 streams
// merge into bursts of a hundred events and more (measured with 1,000
// streams every 50 ms: 3 ms of drift a period, and from the tenth period
// on about twice as many events written within a millisecond of each as
// in the first ten; each burst then waits for the client's CPU).
type eventTicker struct {
	start time.Time
	every time.Duration
	k     int64 // the last tick taken
}

// next takes the next tick and returns how long after now it is due (0: at
// once).
func (t *eventTicker) next(now time.Time) time.Duration {
	if t.every <= 0 {
		return 0
	}
	elapsed := now.Sub(t.start)
	if due := time.Duration(t.k+1) * t.every; due > elapsed {
		t.k++
		return due - elapsed
	}
	t.k = int64(elapsed / t.every) // late: the latest tick passed, now
	return 0
}
