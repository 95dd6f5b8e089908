package net

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	stdnet "net"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/weftgo/weft/runtime"
)

// TestStreamedBodyNoContinueAfterStreamHead: a handler that starts its
// streamed answer (its head goes out) and only then asks for a streamed
// body that expects 100-continue must not get "100 Continue" written after
// that head: an interim response after the final one lands in the middle
// of the answer's body (RFC 9110 §15.2: 1xx only before the final
// response).
func TestStreamedBodyNoContinueAfterStreamHead(t *testing.T) {
	addr, _ := startInternal(t, &Server{
		StreamBody: func(c *Ctx) int64 { return 1 << 20 },
		Handler: func(c *Ctx) Result {
			s := c.Stream(200)
			s.WriteString("start;")
			s.Flush()
			return runtime.Then(c, c.BodyChunk(), func(b []byte) Result {
				s.WriteString("got " + string(b))
				return s.End()
			})
		},
	})
	conn := dial(t, addr) // closed at cleanup; its deadline is a hang guard
	if _, err := io.WriteString(conn, "POST /up HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(conn)
	var got strings.Builder
	for { // up to the end of the first head, interim or final
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("%q, %v", got.String(), err)
		}
		got.WriteString(line)
		if line == "\r\n" {
			break
		}
	}
	if _, err := io.WriteString(conn, "hello"); err != nil {
		t.Fatal(err)
	}
	rest, _ := io.ReadAll(br) // the answer closes the connection: its body was unread
	all := got.String() + string(rest)
	final := strings.Index(all, "HTTP/1.1 200")
	if i := strings.LastIndex(all, "100 Continue"); i > final {
		t.Fatalf("100 Continue after the final head:\n%q", all)
	}
	if !strings.Contains(all, "got hello") {
		t.Fatalf("no echo of the body:\n%q", all)
	}
}

// TestStreamedBodyNoRequestRunsAfterClosingHead: a streamed answer whose
// head goes out before its streamed body has all arrived says
// Connection: close (the rest of the body cannot be told from what follows
// without reading it). The requests pipelined behind that body must then
// not be run: their answers are never sent, and a client retries them on a
// new connection, so a handler with effects would run twice.
func TestStreamedBodyNoRequestRunsAfterClosingHead(t *testing.T) {
	var sideRuns atomic.Int32
	addr, _ := startInternal(t, &Server{
		StreamBody: func(c *Ctx) int64 {
			if c.Path() == "/echo" {
				return 1 << 20
			}
			return 0
		},
		Handler: func(c *Ctx) Result {
			if c.Path() == "/side" {
				sideRuns.Add(1)
				return c.Text(200, "side")
			}
			s := c.Stream(200)
			s.Flush()
			var next func([]byte) Result
			next = func(b []byte) Result {
				s.Write(b)
				return runtime.Then(c, c.BodyChunk(), next)
			}
			return next(nil).Catch(c, func(error) Result { return s.End() })
		},
	})
	conn := dial(t, addr) // closed at cleanup; its deadline is a hang guard
	if _, err := io.WriteString(conn, "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(conn)
	var head strings.Builder
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("%q, %v", head.String(), err)
		}
		head.WriteString(line)
		if line == "\r\n" {
			break
		}
	}
	if !strings.Contains(head.String(), "Connection: close") {
		t.Fatalf("head %q: want Connection: close (its body had not arrived)", head.String())
	}
	if _, err := io.WriteString(conn, "hello"+"GET /side HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	rest, _ := io.ReadAll(br) // up to the close
	if !strings.Contains(string(rest), "hello") || strings.Contains(string(rest), "side") {
		t.Fatalf("after the head: %q; want the echo and nothing else", rest)
	}
	if n := sideRuns.Load(); n != 0 {
		t.Fatalf("the request pipelined behind a closing answer ran %d times, unanswered", n)
	}
}

// TestBodyReaderAfterItsRequestTakesNothingFromTheNext: a BodyReader
// read after its request was answered (its Ctx recycled, and reused by
// the next request on the loop) must fail with the context's error and
// take nothing: its Read asked the loop for a chunk of whatever request
// the Ctx now served, stealing that request's body.
func TestBodyReaderAfterItsRequestTakesNothingFromTheNext(t *testing.T) {
	readers := make(chan io.Reader, 1)
	ctxs := make(chan *Ctx, 2)
	var release runtime.Promise[struct{}]
	released := make(chan struct{})
	addr, l := startInternal(t, &Server{
		StreamBody: func(c *Ctx) int64 { return 1 << 20 },
		Handler: func(c *Ctx) Result {
			ctxs <- c
			if c.Path() == "/a" {
				readers <- c.BodyReader()
				return c.Text(200, "a")
			}
			release = runtime.NewPromise[struct{}](c.Loop())
			close(released)
			return runtime.Then(c, release.Future(), func(struct{}) Result {
				return runtime.Then(c, c.BodyChunk(), func(b []byte) Result { return c.Text(200, "got "+string(b)) }).
					Catch(c, func(err error) Result { return c.Text(200, "err "+err.Error()) })
			})
		},
	})
	conn := dial(t, addr) // closed at cleanup; its deadline is a hang guard
	br := bufio.NewReader(conn)
	if _, err := io.WriteString(conn, "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\naaaaa"); err != nil {
		t.Fatal(err)
	}
	if body, err := readAnswer(br); err != nil || body != "a" {
		t.Fatalf("first answer %q, %v", body, err)
	}
	if _, err := io.WriteString(conn, "POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nbbbbb"); err != nil {
		t.Fatal(err)
	}
	<-released
	if a, b := <-ctxs, <-ctxs; a != b {
		t.Skip("the second request did not reuse the first one's Ctx")
	}
	// Off the loop, as a goroutine of the first handler's would.
	if n, err := (<-readers).Read(make([]byte, 16)); n != 0 || err == nil {
		t.Fatalf("Read after its request was answered: %d, %v", n, err)
	}
	// Behind the Read's request to the loop (tasks run in order).
	_ = l.Post(runtime.TaskFunc(func() { release.Resolve(struct{}{}) }))
	if body, err := readAnswer(br); err != nil || body != "got bbbbb" {
		t.Fatalf("second answer %q, %v; want its own body", body, err)
	}
}

// TestURLEncodedFormTwiceOnAStreamedBody: URLEncodedForm called again on
// a streamed body (a middleware read the form, then its handler), or after
// the body was read some other way, must not report an empty form: the
// body's bytes are gone, so it fails instead, while a body read whole
// gives the same form again.
func TestURLEncodedFormTwiceOnAStreamedBody(t *testing.T) {
	addr, _ := startInternal(t, &Server{
		StreamBody: func(c *Ctx) int64 {
			if c.Path() == "/streamed" {
				return 1 << 20
			}
			return 0
		},
		Handler: func(c *Ctx) Result {
			return runtime.Then(c, c.URLEncodedForm(0), func(first url.Values) Result {
				f := c.URLEncodedForm(0)
				return runtime.Then(c, f, func(again url.Values) Result {
					return c.Text(200, first.Get("a")+","+again.Get("a"))
				}).Catch(c, func(err error) Result { return c.Text(200, first.Get("a")+",err") })
			})
		},
	})
	conn := dial(t, addr) // closed at cleanup; its deadline is a hang guard
	br := bufio.NewReader(conn)
	for path, want := range map[string]string{"/whole": "1,1", "/streamed": "1,err"} {
		if _, err := io.WriteString(conn, "POST "+path+" HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 3\r\n\r\na=1"); err != nil {
			t.Fatal(err)
		}
		if body, err := readAnswer(br); err != nil || body != want {
			t.Fatalf("%s: %q, %v; want %q", path, body, err, want)
		}
	}
}

// TestStreamedBodyClientResetsMidBody: a client that resets its
// connection (RST, not FIN) mid-body, while the body is read straight from
// the socket, fails the handler's reader as a client gone, cancels the
// request's context, and leaves the loop with no connection.
func TestStreamedBodyClientResetsMidBody(t *testing.T) {
	type outcome struct {
		err    error
		ctxErr error
	}
	got := make(chan outcome, 1)
	reading := make(chan struct{})
	addr, l := startInternal(t, &Server{
		StreamBody: func(c *Ctx) int64 { return 1 << 30 },
		Handler: func(c *Ctx) Result {
			ctx := c.Context()
			r := c.BodyReader()
			res := runtime.Blocking(c, func(context.Context) (struct{}, error) {
				first := make([]byte, 1)
				_, err := io.ReadFull(r, first)
				close(reading)
				if err == nil {
					_, err = io.Copy(io.Discard, r)
				}
				<-ctx.Done()
				got <- outcome{err, ctx.Err()}
				return struct{}{}, err
			})
			return runtime.Then(c, res, func(struct{}) Result { return c.Text(200, "all") })
		},
	})
	conn, err := stdnet.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	tc := conn.(*stdnet.TCPConn)
	if _, err := io.WriteString(conn, "POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: 100000000\r\n\r\n"+strings.Repeat("a", 300_000)); err != nil {
		t.Fatal(err)
	}
	<-reading
	_ = tc.SetLinger(0)
	_ = tc.Close() // RST
	o := <-got
	if !errors.Is(o.err, ErrClientGone) && !errors.Is(o.err, context.Canceled) {
		t.Fatalf("the read failed with %v; want the client gone", o.err)
	}
	if o.ctxErr == nil {
		t.Fatal("the request's context is still live")
	}
	for {
		n := make(chan int, 1)
		_ = l.Post(runtime.TaskFunc(func() { n <- len(l.conns) }))
		if <-n == 0 {
			break
		}
		time.Sleep(time.Millisecond)
	}
}

// TestStreamedBodyEndsWithTheNextHead: the body's last bytes and the next
// request's head arrive in one write, after the first ones were read
// straight from the socket: the body gets exactly its bytes and the next
// request is answered.
func TestStreamedBodyEndsWithTheNextHead(t *testing.T) {
	firstSeen := make(chan struct{})
	addr, _ := startInternal(t, &Server{
		StreamBody: func(c *Ctx) int64 {
			if c.Path() == "/up" {
				return 1 << 30
			}
			return 0
		},
		Handler: func(c *Ctx) Result {
			if c.Path() != "/up" {
				return c.Text(200, "next")
			}
			n, as, once := 0, 0, false
			var next func([]byte) Result
			next = func(b []byte) Result {
				n += len(b)
				as += strings.Count(string(b), "a")
				if n > 0 && !once {
					once = true
					close(firstSeen)
				}
				return runtime.Then(c, c.BodyChunk(), next)
			}
			return next(nil).Catch(c, func(err error) Result {
				return c.Text(200, fmt.Sprintf("%d %d %v", n, as, err))
			})
		},
	})
	conn := dial(t, addr) // closed at cleanup; its deadline is a hang guard
	const size = 1 << 20
	if _, err := io.WriteString(conn, fmt.Sprintf("POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n", size)+strings.Repeat("a", size-10)); err != nil {
		t.Fatal(err)
	}
	<-firstSeen
	if _, err := io.WriteString(conn, strings.Repeat("a", 10)+"GET /next HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(conn)
	if body, err := readAnswer(br); err != nil || body != fmt.Sprintf("%d %d EOF", size, size) {
		t.Fatalf("body: %q, %v", body, err)
	}
	if body, err := readAnswer(br); err != nil || body != "next" {
		t.Fatalf("next: %q, %v", body, err)
	}
}

// TestStreamedBodyEchoWithContinue: a handler that answers with its
// streamed body (SendReader over BodyReader) and a client that waits for
// "100 Continue" before sending it: the interim response comes first, and
// the echo after it.
func TestStreamedBodyEchoWithContinue(t *testing.T) {
	addr, _ := startInternal(t, &Server{
		StreamBody: func(c *Ctx) int64 { return 1 << 20 },
		Handler: func(c *Ctx) Result {
			return c.SendReader(200, "text/plain", c.BodyReader(), -1)
		},
	})
	conn := dial(t, addr) // closed at cleanup; its deadline is a hang guard
	if _, err := io.WriteString(conn, "POST /echo HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(conn)
	if line, err := br.ReadString('\n'); err != nil || line != "HTTP/1.1 100 Continue\r\n" {
		t.Fatalf("%q, %v; want the 100 Continue first", line, err)
	}
	if _, err := br.ReadString('\n'); err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(conn, "hello"); err != nil {
		t.Fatal(err)
	}
	if body, err := readAnswer(br); err != nil || body != "hello" {
		t.Fatalf("echo %q, %v", body, err)
	}
}

// TestStreamedBodyPausedThenPipelined: a large body read in small pieces
// off the loop (reading pauses and resumes many times, most of it read
// straight from the socket), sent in one write with the request behind it:
// the body arrives whole and in order, and the next request is answered.
func TestStreamedBodyPausedThenPipelined(t *testing.T) {
	const size = 8 << 20
	body := make([]byte, size)
	for i := range body {
		body[i] = byte(i * 7 / 3)
	}
	want := sha256.Sum256(body)
	addr, l := startInternal(t, &Server{
		StreamBody: func(c *Ctx) int64 {
			if c.Path() == "/up" {
				return 1 << 30
			}
			return 0
		},
		Handler: func(c *Ctx) Result {
			if c.Path() != "/up" {
				return c.Text(200, "next")
			}
			r := c.BodyReader()
			sum := runtime.Blocking(c, func(context.Context) (string, error) {
				d := sha256.New()
				p := make([]byte, 1500)
				for {
					n, err := r.Read(p)
					d.Write(p[:n])
					if err == io.EOF {
						return hex.EncodeToString(d.Sum(nil)), nil
					}
					if err != nil {
						return "", err
					}
				}
			})
			return runtime.Then(c, sum, func(s string) Result { return c.Text(200, s) })
		},
	})
	conn, err := stdnet.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(60 * time.Second)) // a hang guard
	var chunked strings.Builder
	for i, k := 0, 1; i < size; k = k%4000 + 997 {
		k = min(k, size-i)
		fmt.Fprintf(&chunked, "%x\r\n%s\r\n", k, body[i:i+k])
		i += k
	}
	chunked.WriteString("0\r\n\r\n")
	br := bufio.NewReader(conn)
	for _, req := range []string{
		fmt.Sprintf("POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n", size) + string(body),
		"POST /up HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked.String(),
	} {
		go func() { _, _ = io.WriteString(conn, req+"GET /next HTTP/1.1\r\nHost: x\r\n\r\n") }()
		if got, err := readAnswer(br); err != nil || got != hex.EncodeToString(want[:]) {
			t.Fatalf("body: %q, %v", got, err)
		}
		if got, err := readAnswer(br); err != nil || got != "next" {
			t.Fatalf("next: %q, %v", got, err)
		}
	}
	if l.readPauses.Load() == 0 {
		t.Log("reading never paused")
	}
}
