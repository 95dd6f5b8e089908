// Command go-gnet-raw is the near-limit reference for gnet v2 itself: no
// framework, a minimal hand-written HTTP/1.1 parser on the event loop.
//
// It answers GET /plaintext and GET /json (JSON serialized per request);
// everything else gets 404. It supports keep-alive and pipelining: every
// complete request in the inbound buffer is answered, the answers go out in
// one write, and a partial request stays buffered for the next event. It
// does not implement /cpu: blocking an event loop is what this project's
// worker pool is for.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"log"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/panjf2000/gnet/v2"

	"github.com/weftgo/weft/bench/internal/common"
)

const maxHeaderBytes = 16 << 10

var (
	crlf      = []byte("\r\n")
	crlfcrlf  = []byte("\r\n\r\n")
	date      atomic.Pointer[[]byte]
	outPool   = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}
	hdrConn   = []byte("connection:")
	hdrLength = []byte("content-length:")
)

func updateDate() {
	b := []byte(time.Now().UTC().Format(http.TimeFormat))
	date.Store(&b)
}

type server struct {
	gnet.BuiltinEventEngine
}

// request is what the handler needs from one parsed request.
type request struct {
	method, path []byte
	close        bool
	bodyLen      int
}

// parseHead parses a request head (request line and headers, without the
// final CRLFCRLF). ok is false for a malformed head.
func parseHead(head []byte) (r request, ok bool) {
	line, rest, _ := bytes.Cut(head, crlf)
	sp1 := bytes.IndexByte(line, ' ')
	sp2 := bytes.LastIndexByte(line, ' ')
	if sp1 <= 0 || sp2 <= sp1 {
		return r, false
	}
	r.method, r.path = line[:sp1], line[sp1+1:sp2]
	if q := bytes.IndexByte(r.path, '?'); q >= 0 {
		r.path = r.path[:q]
	}
	http10 := bytes.Equal(line[sp2+1:], []byte("HTTP/1.0"))
	r.close = http10
	for len(rest) > 0 {
		var h []byte
		h, rest, _ = bytes.Cut(rest, crlf)
		colon := bytes.IndexByte(h, ':')
		if colon <= 0 {
			continue
		}
		name, value := h[:colon+1], bytes.TrimSpace(h[colon+1:])
		switch {
		case len(name) == len(hdrConn) && bytes.EqualFold(name, hdrConn):
			if bytes.EqualFold(value, []byte("close")) {
				r.close = true
			} else if bytes.EqualFold(value, []byte("keep-alive")) {
				r.close = false
			}
		case len(name) == len(hdrLength) && bytes.EqualFold(name, hdrLength):
			n, err := strconv.Atoi(string(value))
			if err != nil || n < 0 {
				return r, false
			}
			r.bodyLen = n
		}
	}
	return r, true
}

func appendResponse(out []byte, status string, contentType string, body []byte, closeConn bool) []byte {
	out = append(out, "HTTP/1.1 "...)
	out = append(out, status...)
	out = append(out, "\r\nServer: gnet\r\nDate: "...)
	out = append(out, *date.Load()...)
	out = append(out, "\r\nContent-Type: "...)
	out = append(out, contentType...)
	out = append(out, "\r\nContent-Length: "...)
	out = strconv.AppendInt(out, int64(len(body)), 10)
	if closeConn {
		out = append(out, "\r\nConnection: close"...)
	}
	out = append(out, "\r\n\r\n"...)
	return append(out, body...)
}

func handle(out []byte, r *request) []byte {
	if string(r.method) == "GET" {
		switch string(r.path) {
		case "/plaintext":
			return appendResponse(out, "200 OK", "text/plain", []byte(common.HelloWorld), r.close)
		case "/json":
			b, err := json.Marshal(&common.Message{Message: common.HelloWorld})
			if err != nil {
				return appendResponse(out, "500 Internal Server Error", "text/plain", []byte(err.Error()), r.close)
			}
			return appendResponse(out, "200 OK", "application/json", b, r.close)
		}
	}
	return appendResponse(out, "404 Not Found", "text/plain", []byte("not found"), r.close)
}

func (s *server) OnTraffic(c gnet.Conn) gnet.Action {
	buf, _ := c.Peek(-1)
	outp := outPool.Get().(*[]byte)
	out := (*outp)[:0]
	consumed := 0
	action := gnet.None
	for consumed < len(buf) {
		data := buf[consumed:]
		end := bytes.Index(data, crlfcrlf)
		if end < 0 {
			if len(data) > maxHeaderBytes {
				action = gnet.Close
			}
			break
		}
		r, ok := parseHead(data[:end])
		if !ok {
			out = appendResponse(out, "400 Bad Request", "text/plain", []byte("bad request"), true)
			action = gnet.Close
			break
		}
		total := end + len(crlfcrlf) + r.bodyLen
		if total > len(data) {
			break // wait for the rest of the body
		}
		out = handle(out, &r)
		consumed += total
		if r.close {
			action = gnet.Close
			break
		}
	}
	if consumed > 0 {
		c.Discard(consumed)
	}
	if len(out) > 0 {
		c.Write(out)
	}
	*outp = out
	outPool.Put(outp)
	return action
}

func main() {
	updateDate()
	go func() {
		for range time.Tick(time.Second) {
			updateDate()
		}
	}()
	addr := "tcp://" + common.Addr()
	go func() {
		stop := make(chan os.Signal, 1)
		signal.Notify(stop, syscall.SIGINT, syscall.SIGTERM)
		<-stop
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if err := gnet.Stop(ctx, addr); err != nil {
			os.Exit(0)
		}
	}()
	if err := gnet.Run(&server{}, addr, gnet.WithMulticore(true)); err != nil {
		log.Fatal(err)
	}
}
