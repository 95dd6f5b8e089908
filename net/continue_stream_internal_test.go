package net

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net/http"
	"testing"

	"github.com/weftgo/weft/runtime"
)

// TestNoContinueAfterTheStreamHead: a handler streaming its answer to a
// request that expects 100-continue (16 KiB or a few bytes before its
// call returns), and asking for the body only once the answer's head is
// out (at the pass after the call), must not send "100 Continue" then: an
// interim response after the final one lands inside the body and breaks
// its framing. (Before the final head it is due: see
// TestStreamedBodyEchoWithContinue.)
func TestNoContinueAfterTheStreamHead(t *testing.T) {
	for _, early := range []bool{true, false} {
		t.Run(fmt.Sprintf("16KiB=%v", early), func(t *testing.T) {
			var proceed runtime.Promise[struct{}] // the loop's
			ready := make(chan struct{})
			first := pattern(streamGather)
			if !early {
				first = first[:10]
			}
			addr, l := startInternal(t, &Server{
				StreamBody: func(c *Ctx) int64 { return 1 << 20 },
				Handler: func(c *Ctx) Result {
					s := c.Stream(StatusOK)
					s.Write(first)
					proceed = runtime.NewPromise[struct{}](c.Loop())
					close(ready)
					return runtime.Then(c, proceed.Future(), func(struct{}) Result {
						return runtime.Then(c, c.BodyChunk(), func(b []byte) Result {
							s.Write(b)
							return s.End()
						})
					})
				},
			})
			conn := dial(t, addr)
			if _, err := io.WriteString(conn, "POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n"); err != nil {
				t.Fatal(err)
			}
			br := bufio.NewReader(conn)
			// "100 Continue" may come first (the connection reads the body
			// on, so the client is told to send it: RFC 9110 §10.1.1);
			// never after the final head.
			res, err := http.ReadResponse(br, nil)
			if err == nil && res.StatusCode == 100 {
				res, err = http.ReadResponse(br, nil)
			}
			if err != nil {
				t.Fatal(err)
			}
			if res.StatusCode != 200 {
				t.Fatalf("status %d first", res.StatusCode)
			}
			<-ready
			onLoop(t, l, func() { proceed.Resolve(struct{}{}) })
			if _, err := io.WriteString(conn, "hello"); err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(res.Body)
			if want := append(bytes.Clone(first), "hello"...); err != nil || !bytes.Equal(got, want) {
				t.Fatalf("body %d bytes (want %d), %v; tail %q", len(got), len(want), err, got[max(0, len(got)-40):])
			}
		})
	}
}

// TestNothingParsedBehindAClosingStreamHead: a stream's head that goes out
// (at the pass after the handler's call) while its streamed request body
// is still unread says Connection: close;
// a request pipelined behind that body must then not be parsed and run
// (its answer would be dropped, and the client, told the connection
// closes, sends it again elsewhere: a POST would run twice).
func TestNothingParsedBehindAClosingStreamHead(t *testing.T) {
	var end runtime.Promise[struct{}] // the loop's
	bodyRead := make(chan struct{})
	seconds := 0 // loop-only
	addr, l := startInternal(t, &Server{
		StreamBody: func(c *Ctx) int64 { return 1 << 20 },
		Handler: func(c *Ctx) Result {
			if c.Path() == "/second" {
				seconds++
				return c.Text(200, "second")
			}
			s := c.Stream(StatusOK)
			s.Write(pattern(streamGather)) // the head goes at the pass, the body unread
			end = runtime.NewPromise[struct{}](c.Loop())
			var read func() Result
			read = func() Result {
				return runtime.Then(c, c.BodyChunk(), func(b []byte) Result {
					s.Write(b)
					return read()
				}).Catch(c, func(err error) Result {
					if err != io.EOF {
						return Fail(err)
					}
					close(bodyRead)
					return runtime.Then(c, end.Future(), func(struct{}) Result { return s.End() })
				})
			}
			return read()
		},
	})
	conn := dial(t, addr)
	if _, err := io.WriteString(conn, "POST /first HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(conn)
	res, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Close {
		t.Fatal("the head went out with the body unread, without Connection: close")
	}
	if _, err := io.WriteString(conn, "hello"+"GET /second HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	<-bodyRead
	n := -1
	for range 3 { // passes marked before each look have run by the next
		onLoop(t, l, func() { n = seconds })
	}
	onLoop(t, l, func() { end.Resolve(struct{}{}) })
	got, err := io.ReadAll(res.Body)
	if want := append(pattern(streamGather), "hello"...); err != nil || !bytes.Equal(got, want) {
		t.Fatalf("first body: %d bytes (want %d), %v", len(got), len(want), err)
	}
	if n != 0 {
		t.Fatalf("the request behind a response that said Connection: close ran (%d times)", n)
	}
}

// TestNothingParsedBehindAnHTTP10Stream: an HTTP/1.0 keep-alive request
// answered by a stream without a length ends with the connection; a
// request pipelined behind it must not run.
func TestNothingParsedBehindAnHTTP10Stream(t *testing.T) {
	seconds := 0 // loop-only
	addr, l := startInternal(t, &Server{Handler: func(c *Ctx) Result {
		if c.Path() == "/second" {
			seconds++
			return c.Text(200, "second")
		}
		s := c.Stream(StatusOK)
		s.WriteString("first")
		return s.End()
	}})
	conn := dial(t, addr)
	if _, err := io.WriteString(conn, "GET /first HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /second HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(conn) // the first answer, then the close
	if err != nil || !bytes.HasSuffix(got, []byte("\r\n\r\nfirst")) {
		t.Fatalf("%q, %v", got, err)
	}
	n := -1
	onLoop(t, l, func() { n = seconds })
	if n != 0 {
		t.Fatalf("the request behind a response ending with the connection ran (%d times)", n)
	}
}

// TestEarlyStreamHeadKeepsAliveWithABufferedBody: a handler on a streamed
// body route that writes 16 KiB before reading a small body that arrived
// with the head keeps the connection (the body is taken in the same
// pass): its head must not say Connection: close for a body the server
// was about to read.
func TestEarlyStreamHeadKeepsAliveWithABufferedBody(t *testing.T) {
	addr, _ := startInternal(t, &Server{
		StreamBody: func(c *Ctx) int64 { return 1 << 20 },
		Handler: func(c *Ctx) Result {
			s := c.Stream(StatusOK)
			s.Write(pattern(streamGather))
			return runtime.Then(c, c.BodyChunk(), func(b []byte) Result {
				s.Write(b)
				return runtime.Then(c, c.BodyChunk(), func([]byte) Result { return s.End() }).
					Catch(c, func(err error) Result {
						if err != io.EOF {
							return Fail(err)
						}
						return s.End()
					})
			})
		},
	})
	conn := dial(t, addr)
	br := bufio.NewReader(conn)
	for i := range 2 {
		if _, err := io.WriteString(conn, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"); err != nil {
			t.Fatal(err)
		}
		res, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("request %d: %v", i+1, err)
		}
		got, err := io.ReadAll(res.Body)
		if want := append(pattern(streamGather), "hello"...); err != nil || !bytes.Equal(got, want) {
			t.Fatalf("request %d: %d bytes (want %d), %v", i+1, len(got), len(want), err)
		}
		if res.Close {
			t.Fatalf("request %d: Connection: close for a body that had arrived whole", i+1)
		}
	}
}
