package net_test

import (
	"bufio"
	"context"
	"errors"
	"io"
	stdnet "net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/weftgo/weft/net"
	"github.com/weftgo/weft/runtime"
)

// pipeCloser is an io.Pipe's reading end that says when it is closed.
type pipeCloser struct {
	*io.PipeReader
	once   sync.Once
	closed chan struct{}
}

func (p *pipeCloser) Close() error {
	p.once.Do(func() { close(p.closed) })
	return p.PipeReader.Close()
}

// TestReview5SendReaderBlockedReadIsClosedWhenTheClientLeaves: SendReader
// documents that r is closed "however it ends (... the client leaving while
// a read is in flight)". A reader whose Read blocks (an upstream that
// stalls: a pipe, a socket) while the client leaves must be closed then,
// which is what unblocks its Read; otherwise the Blocking goroutine, the
// reader and the request's Ctx stay for ever. Today the close is attached
// to the read's future (readerPump.next ... Finally), which never settles
// while Read blocks.
func TestReview5SendReaderBlockedReadIsClosedWhenTheClientLeaves(t *testing.T) {
	pr, pw := io.Pipe()
	r := &pipeCloser{PipeReader: pr, closed: make(chan struct{})}
	addr := startServer(t, &net.Server{Handler: func(c *net.Ctx) net.Result {
		return c.SendReader(200, "text/plain", r, -1)
	}})
	t.Cleanup(func() { pw.CloseWithError(errors.New("test over")) }) // runs before the server's Shutdown
	conn, err := stdnet.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	io.WriteString(conn, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	go pw.Write([]byte("first chunk\n")) // then the upstream stalls
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(resp.Body).ReadString('\n')
	if err != nil || line != "first chunk\n" {
		t.Fatalf("first chunk %q, %v", line, err)
	}
	conn.Close() // the client leaves while the second Read blocks
	select {
	case <-r.closed:
	case <-time.After(10 * time.Second):
		t.Fatal("the reader was not closed 10 s after the client left while its Read blocked: its goroutine and the request leak until the upstream speaks")
	}
}

// TestReview5AbortDoesNotCutAnEarlierAnswer: a stream's Abort closes the
// connection "when this response's turn comes: the ones before it are
// written first" (Stream.Abort). Written to gnet is not sent: gnet's close
// writes what the socket takes at once and drops the rest, so a large,
// complete answer pipelined ahead of the aborted stream arrives cut. The
// noAnswer path (a half-closed client's failure) already closes only once
// the answers before it are sent; Abort must too.
func TestReview5AbortDoesNotCutAnEarlierAnswer(t *testing.T) {
	big := strings.Repeat("0123456789abcdef", 1<<21) // 32 MiB: far more than the socket buffers take
	promises := make(chan runtime.Promise[struct{}], 1)
	addr := startServer(t, &net.Server{Loops: 1, Handler: func(c *net.Ctx) net.Result {
		if c.Path() == "/big" {
			return c.Text(200, big)
		}
		s := c.Stream(200)
		s.Write(make([]byte, 32<<10)) // past the gather size: its head goes out with the first pass
		p := runtime.NewPromise[struct{}](c.Loop())
		promises <- p
		return runtime.Then(c, p.Future(), func(struct{}) net.Result {
			return s.Abort(errors.New("upstream failed"))
		})
	}})
	conn, err := stdnet.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.(*stdnet.TCPConn).SetReadBuffer(64 << 10) // a client that reads later than the server writes
	io.WriteString(conn, "GET /big HTTP/1.1\r\nHost: x\r\n\r\nGET /abort HTTP/1.1\r\nHost: x\r\n\r\n")
	p := <-promises
	// The pass that dispatched /abort wrote /big and the stream's head
	// into gnet before this task can run on the loop.
	p.Resolve(struct{}{})
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(resp.Body)
	if err != nil || len(got) != len(big) {
		t.Fatalf("the complete answer ahead of the aborted stream arrived with %d of its %d bytes (%v)", len(got), len(big), err)
	}
}

// TestReview5SendReaderLongerThanItsSize: SendReader's size is the body's
// length, and the pump stops reading once size bytes are written
// (readerPump.wrote). Whether a reader longer than size is answered then
// depends on how its reads fall: reads that land on size send size bytes
// (200), but one read that straddles it makes the Write fail with
// ErrStreamLength and the response is replaced by a 500 (or, past the
// head, aborted). A strings.Reader or a file, which return all they can,
// always straddle. The body must not depend on the reader's read sizes:
// the first size bytes, as io.CopyN / net/http would send.
func TestReview5SendReaderLongerThanItsSize(t *testing.T) {
	addr := startServer(t, &net.Server{Handler: func(c *net.Ctx) net.Result {
		return c.SendReader(200, "text/plain", strings.NewReader(strings.Repeat("x", 100)), 50)
	}})
	res, err := http.Get("http://" + addr + "/")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if res.StatusCode != 200 || err != nil || len(body) != 50 {
		t.Fatalf("a 100-byte reader sent with size 50: status %d, %d bytes, %v; want 200 and its first 50 bytes", res.StatusCode, len(body), err)
	}
}

// TestReview5ShutdownEndsAStreamHeldByBackPressure: a stream whose client
// does not read waits on its write's future; a Shutdown whose deadline
// passes must still end it (the write fails) and return.
func TestReview5ShutdownEndsAStreamHeldByBackPressure(t *testing.T) {
	failed := make(chan error, 1)
	held := make(chan struct{})
	srv := &net.Server{Addr: "127.0.0.1:0", Loops: 1, Handler: func(c *net.Ctx) net.Result {
		s := c.Stream(200)
		chunk := make([]byte, 64<<10)
		var next func() net.Result
		next = func() net.Result {
			for {
				f := s.Write(chunk)
				if !f.Ready() {
					select {
					case <-held:
					default:
						close(held)
					}
					return runtime.Then(c, f, func(struct{}) net.Result { return next() }).Catch(c, func(err error) net.Result {
						failed <- err
						return net.Fail(err)
					})
				}
				if _, err := f.Get(); err != nil {
					failed <- err
					return net.Fail(err)
				}
			}
		}
		return next()
	}}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	conn, err := stdnet.Dial("tcp", srv.ListenAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.(*stdnet.TCPConn).SetReadBuffer(16 << 10)
	io.WriteString(conn, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	<-held
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- srv.Shutdown(ctx) }()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("Shutdown reported a clean drain while a stream was held")
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Shutdown did not return 30 s after its deadline")
	}
	select {
	case <-failed:
	case <-time.After(10 * time.Second):
		t.Fatal("the held write never failed")
	}
}

// TestReview5ChunkedEndSplitWhilePaused: a chunked streamed body whose
// handler holds its first chunk (reading pauses) and whose last chunk and
// trailer arrive in pieces meanwhile, with a request pipelined behind: the
// handler then gets the whole body, and the next request is served.
func TestReview5ChunkedEndSplitWhilePaused(t *testing.T) {
	holding := make(chan struct{})
	release := make(chan struct{})
	addr := startServer(t, &net.Server{Loops: 1, StreamBody: func(c *net.Ctx) int64 {
		if c.Path() == "/up" {
			return 1 << 30
		}
		return 0
	}, Handler: func(c *net.Ctx) net.Result {
		if c.Path() != "/up" {
			return c.Text(200, "next")
		}
		total, held := 0, false
		var next func([]byte) net.Result
		next = func(b []byte) net.Result {
			total += len(b)
			if total > 0 && !held {
				held = true
				close(holding)
				wait := runtime.Blocking(c, func(context.Context) (struct{}, error) { <-release; return struct{}{}, nil })
				return runtime.Then(c, wait, func(struct{}) net.Result { return runtime.Then(c, c.BodyChunk(), next) })
			}
			return runtime.Then(c, c.BodyChunk(), next)
		}
		return runtime.Then(c, c.BodyChunk(), next).Catch(c, func(err error) net.Result {
			if err != io.EOF {
				return net.Fail(err)
			}
			return c.Text(200, "got "+strconv.Itoa(total))
		})
	}})
	rc := dial(t, addr)
	_ = rc.c.(*stdnet.TCPConn).SetNoDelay(true)
	const size = 1 << 20
	rc.send("POST /up HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" + strconv.FormatInt(size, 16) + ";x=y\r\n")
	go func() {
		_, _ = rc.c.Write(make([]byte, size))
		for _, p := range []string{"\r", "\n0", ";end\r", "\nX-Sum: 1\r\n", "\r", "\nGET /next HTTP/1.1\r\nHost: x\r\n\r\n"} {
			_, _ = io.WriteString(rc.c, p)
		}
		close(release)
	}()
	<-holding
	resp, body := rc.read("POST")
	if resp.StatusCode != 200 || body != "got "+strconv.Itoa(size) {
		t.Fatalf("upload: %d %q", resp.StatusCode, body)
	}
	if resp, body := rc.read("GET"); resp.StatusCode != 200 || body != "next" {
		t.Fatalf("next: %d %q", resp.StatusCode, body)
	}
}

// TestReview5WriteTimeoutSparesASteadyReader: WriteTimeout "closes one
// whose client stops reading" (a stream's output without progress). A
// client that reads steadily, but slower than the producer writes, keeps
// gnet's buffer refilled to the mark: the check (noteOutputOnLoop) counts
// progress only when it sees less output waiting than at its last reset,
// which a refilled buffer never shows, so such a reader is cut after
// WriteTimeout. The reader here takes 16 KiB every 10 ms or so (far
// slower than the server writes, even under -race) for 20 times
// WriteTimeout's 500 ms (a lower bound, not a ceiling), and says the
// longest gap between its reads when it is cut.
func TestReview5WriteTimeoutSparesASteadyReader(t *testing.T) {
	srv := &net.Server{WriteTimeout: 500 * time.Millisecond, Handler: func(c *net.Ctx) net.Result {
		s := c.Stream(200)
		chunk := make([]byte, 4<<10)
		var next func() net.Result
		next = func() net.Result {
			for {
				f := s.Write(chunk)
				if !f.Ready() {
					return runtime.Then(c, f, func(struct{}) net.Result { return next() })
				}
				if _, err := f.Get(); err != nil {
					return net.Fail(err)
				}
			}
		}
		return next()
	}}
	net.SetTick(srv, 5*time.Millisecond)
	addr := startServer(t, srv)
	conn, err := stdnet.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.(*stdnet.TCPConn).SetReadBuffer(32 << 10)
	io.WriteString(conn, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	buf := make([]byte, 16<<10)
	start := time.Now()
	last, maxGap := start, time.Duration(0)
	total := 0
	for time.Since(start) < 10*time.Second {
		n, err := io.ReadFull(conn, buf)
		total += n
		if err != nil {
			t.Fatalf("a client reading steadily (%d bytes in %v, never more than %v between reads) was cut: %v",
				total, time.Since(start).Round(time.Millisecond), maxGap.Round(time.Millisecond), err)
		}
		maxGap = max(maxGap, time.Since(last))
		last = time.Now()
		time.Sleep(10 * time.Millisecond)
	}
}

// TestReview5SendFileIfNoneMatchOnOtherMethods: RFC 9110 §13.1.2: when
// If-None-Match matches, the server answers 304 "if the request method is
// GET or HEAD", and 412 (Precondition Failed) "for all other request
// methods"; If-Modified-Since applies to GET and HEAD only (§13.1.3).
// SendFile (routable under any method) answers a POST or PUT whose
// If-None-Match matches with 304, which tells a client its conditional
// write was not modified rather than refused.
func TestReview5SendFileIfNoneMatchOnOtherMethods(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f.txt")
	if err := os.WriteFile(path, []byte("content"), 0o644); err != nil {
		t.Fatal(err)
	}
	addr := startServer(t, &net.Server{Handler: func(c *net.Ctx) net.Result { return c.SendFile(path) }})
	res, err := http.Get("http://" + addr + "/")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	etag := res.Header.Get("ETag")
	req, _ := http.NewRequest("POST", "http://"+addr+"/", nil)
	req.Header.Set("If-None-Match", etag)
	res, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 412 {
		t.Fatalf("POST with a matching If-None-Match: %d, want 412", res.StatusCode)
	}
}

// TestReview5ShutdownEndsAnEventStreamStartedDuringTheDrain: Shutdown ends
// Server-Sent Events streams by cancelling their contexts
// (TestShutdownEndsEventStreams), but only those open when it starts
// (endEventStreams runs once, from beginDrain). A request already in
// flight whose handler starts its SSE a moment later (after an auth check,
// a lookup), or one read during the drain's grace, is never ended: the
// drain waits for it until the Shutdown's deadline.
func TestReview5ShutdownEndsAnEventStreamStartedDuringTheDrain(t *testing.T) {
	gates := make(chan runtime.Promise[struct{}], 1)
	srv := &net.Server{Addr: "127.0.0.1:0", Loops: 1, Handler: func(c *net.Ctx) net.Result {
		gate := runtime.NewPromise[struct{}](c.Loop())
		gates <- gate
		return runtime.Then(c, gate.Future(), func(struct{}) net.Result {
			sse := c.SSE()
			var tick func(struct{}) net.Result
			tick = func(struct{}) net.Result {
				return runtime.Then(c, sse.Send(net.Event{Data: "x"}), func(struct{}) net.Result {
					return runtime.Then(c, runtime.After(c, 5*time.Millisecond), tick)
				})
			}
			return tick(struct{}{})
		})
	}}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	addr := srv.ListenAddr().String()
	conn, err := stdnet.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	go io.Copy(io.Discard, conn)
	io.WriteString(conn, "GET /events HTTP/1.1\r\nHost: x\r\n\r\n")
	gate := <-gates // the request is in flight
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- srv.Shutdown(ctx) }()
	// The listener closes once the drain has begun (and endEventStreams
	// was posted): wait for that, then let the handler start its stream.
	for {
		c, err := stdnet.Dial("tcp", addr)
		if err != nil {
			break
		}
		c.Close()
		select {
		case err := <-done:
			t.Fatalf("Shutdown returned %v before the listener closed", err)
		default:
		}
	}
	gate.Resolve(struct{}{})
	if err := <-done; err != nil {
		t.Fatalf("Shutdown: %v; want the event stream started during the drain ended by it", err)
	}
}
