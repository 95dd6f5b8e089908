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
		var send func(i int) net.Result
		send = func(i int) net.Result {
			if i == n {
				return sse.Stream().End()
			}
			ev := net.Event{ID: strconv.Itoa(i), Data: strconv.FormatInt(time.Now().UnixNano(), 10)}
			sent := sse.Send(ev)
			if i == n-1 {
				return runtime.Then(c, sent, func(struct{}) net.Result { return send(i + 1) })
			}
			wait := runtime.After(c, time.Duration(every)*time.Millisecond)
			return runtime.Then(c, runtime.All(c, sent, wait), func([]struct{}) net.Result { return send(i + 1) })
		}
		return send(0)
	})
}
