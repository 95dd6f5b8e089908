package nethttp_test

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"

	"github.com/weftgo/weft/net"
	"github.com/weftgo/weft/net/nethttp"
	"github.com/weftgo/weft/net/webtest"
	"github.com/weftgo/weft/router"
)

// A response larger than what the writer gathers streams, chunked, intact.
func TestLargeResponseStreams(t *testing.T) {
	want := bytes.Repeat([]byte("0123456789abcdef"), 5<<20/16)
	srv := start(t, &net.Server{Handler: nethttp.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for p := want; len(p) > 0; {
			n := min(len(p), 7777)
			if _, err := w.Write(p[:n]); err != nil {
				panic(err)
			}
			p = p[n:]
		}
	}))})
	resp, body := get(t, srv, httptest.NewRequest("GET", "/big", nil))
	if resp.StatusCode != 200 || !bytes.Equal(body, want) || len(resp.TransferEncoding) != 1 || resp.ContentLength != -1 {
		t.Fatalf("got %d, %d bytes (equal %v), Transfer-Encoding %v, Content-Length %d",
			resp.StatusCode, len(body), bytes.Equal(body, want), resp.TransferEncoding, resp.ContentLength)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "text/plain; charset=utf-8" {
		t.Fatalf("sniffed Content-Type %q", ct)
	}
}

// Flush sends what was written before the handler returns: the client
// reads the first part while the handler still waits for it to.
func TestFlushStreams(t *testing.T) {
	readFirst := make(chan struct{})
	srv := start(t, &net.Server{Handler: nethttp.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, "data: first\n\n")
		if err := http.NewResponseController(w).Flush(); err != nil {
			panic(err)
		}
		<-readFirst // only a streamed response lets the client get here
		io.WriteString(w, "data: second\n\n")
	}))})
	resp, err := srv.Do(httptest.NewRequest("GET", "/events", nil))
	must(t, err)
	defer resp.Body.Close()
	first := make([]byte, len("data: first\n\n"))
	if _, err := io.ReadFull(resp.Body, first); err != nil || string(first) != "data: first\n\n" {
		t.Fatalf("first event: %q %v", first, err)
	}
	close(readFirst)
	rest, err := io.ReadAll(resp.Body)
	if err != nil || string(rest) != "data: second\n\n" || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("rest: %q %v %v", rest, err, resp.Header)
	}
}

// A handler that writes faster than its client reads is held back: with
// the client reading nothing, the handler stops once the connection's
// output passes MaxOutboundBytes, instead of buffering its whole body. In
// a synctest bubble, synctest.Wait returns once every goroutine (the
// loops, the handler) is blocked: then the handler has written all it can.
func TestSlowClientHoldsTheWriterBack(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const total, limit = 8 << 20, 256 << 10
		var written atomic.Int64
		srv, err := webtest.Start(&net.Server{Loops: 1, MaxOutboundBytes: limit, Handler: nethttp.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			chunk := make([]byte, 16<<10)
			for written.Load() < total {
				if _, err := w.Write(chunk); err != nil {
					return
				}
				written.Add(int64(len(chunk)))
			}
		}))})
		must(t, err)
		defer srv.Close()
		resp, err := srv.Do(httptest.NewRequest("GET", "/", nil))
		must(t, err)
		defer resp.Body.Close()
		synctest.Wait() // the client reads nothing; the handler blocks
		if n := written.Load(); n >= total || n > 2*limit {
			t.Fatalf("the handler wrote %d bytes while the client read none (limit %d)", n, limit)
		}
		n, err := io.Copy(io.Discard, resp.Body)
		if err != nil || n != total {
			t.Fatalf("read %d bytes, %v; want %d", n, err, total)
		}
	})
}

// A client that leaves mid-stream makes the handler's writes fail, so that
// it stops.
func TestWritesFailWhenTheClientLeaves(t *testing.T) {
	failed := make(chan error, 1)
	srv := start(t, &net.Server{MaxOutboundBytes: 64 << 10, Handler: nethttp.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		chunk := make([]byte, 16<<10)
		for {
			if _, err := w.Write(chunk); err != nil {
				failed <- err
				return
			}
		}
	}))})
	resp, err := srv.Do(httptest.NewRequest("GET", "/", nil))
	must(t, err)
	if _, err := io.ReadFull(resp.Body, make([]byte, 100<<10)); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close() // the client leaves
	if err := <-failed; err == nil {
		t.Fatal("no error")
	}
}

// A panic after the head went out aborts the response: the client sees a
// cut connection, never a short body it could take for a whole one.
func TestPanicMidStreamAborts(t *testing.T) {
	srv := start(t, &net.Server{Handler: nethttp.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "partial")
		http.NewResponseController(w).Flush()
		panic("boom")
	}))})
	resp, err := srv.Do(httptest.NewRequest("GET", "/", nil))
	must(t, err)
	defer resp.Body.Close()
	if b, err := io.ReadAll(resp.Body); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("read %q, %v; want io.ErrUnexpectedEOF", b, err)
	}
}

// HEAD gets the Content-Length a GET would, as from a net/http server.
func TestHeadKeepsTheHandlersContentLength(t *testing.T) {
	dir := t.TempDir()
	must(t, os.WriteFile(filepath.Join(dir, "f.txt"), []byte(strings.Repeat("x", 100<<10)), 0o644))
	r := router.New()
	r.GET("/*path", nethttp.Handler(http.FileServer(http.Dir(dir))))
	srv := start(t, &net.Server{Handler: r.Serve})
	for _, method := range []string{"HEAD", "GET"} {
		resp, body := get(t, srv, httptest.NewRequest(method, "/f.txt", nil))
		wantBody := 100 << 10
		if method == "HEAD" {
			wantBody = 0
		}
		if resp.StatusCode != 200 || resp.ContentLength != 100<<10 || len(body) != wantBody {
			t.Fatalf("%s: %d, Content-Length %d, %d body bytes", method, resp.StatusCode, resp.ContentLength, len(body))
		}
	}
}
