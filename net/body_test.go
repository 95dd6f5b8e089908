package net_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	stdnet "net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/weftgo/weft/net"
	"github.com/weftgo/weft/runtime"
)

// sha256Handler answers the hex SHA-256 of the streamed body, read off the
// loop through BodyReader.
func sha256Handler(c *net.Ctx) net.Result {
	r := c.BodyReader()
	sum := runtime.Blocking(c, func(context.Context) (string, error) {
		h := sha256.New()
		if _, err := io.Copy(h, r); err != nil {
			return "", err
		}
		return hex.EncodeToString(h.Sum(nil)), nil
	})
	return runtime.Then(c, sum, func(s string) net.Result { return c.Text(200, s) })
}

// drainOnLoop reads c's streamed body chunk by chunk on the loop, and then
// answers with done, given the bytes read and the error that ended the
// body (io.EOF at its end).
func drainOnLoop(c *net.Ctx, done func(n int, err error) net.Result) net.Result {
	n := 0
	var next func([]byte) net.Result
	next = func(b []byte) net.Result {
		n += len(b)
		return runtime.Then(c, c.BodyChunk(), next)
	}
	return next(nil).Catch(c, func(err error) net.Result { return done(n, err) })
}

// pattern is n bytes of a repeating pattern, and its SHA-256.
func pattern(n int) (string, string) {
	b := []byte(strings.Repeat("0123456789abcdefghijklmnopqrstuvwxyz", n/36+1)[:n])
	sum := sha256.Sum256(b)
	return string(b), hex.EncodeToString(sum[:])
}

func TestStreamedRequestBody(t *testing.T) {
	const size = 24 << 20 // past MaxBodyBytes (4 MiB) and MaxInboundBytes
	body, want := pattern(size)
	addr := startServer(t, &net.Server{
		StreamBody: func(c *net.Ctx) int64 {
			if c.Path() == "/sha256" {
				return 1 << 30
			}
			return 0
		},
		Handler: func(c *net.Ctx) net.Result {
			if c.Path() == "/sha256" {
				return sha256Handler(c)
			}
			return c.Text(200, "plain "+strconv.Itoa(len(c.Body())))
		},
	})
	t.Run("Content-Length", func(t *testing.T) {
		res, err := http.Post("http://"+addr+"/sha256", "application/octet-stream", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if string(got) != want {
			t.Fatalf("sha256 %q; want %q", got, want)
		}
	})
	t.Run("chunked", func(t *testing.T) {
		pr, pw := io.Pipe()
		go func() {
			for off := 0; off < len(body); off += 100_000 {
				pw.Write([]byte(body[off:min(off+100_000, len(body))]))
			}
			pw.Close()
		}()
		res, err := http.Post("http://"+addr+"/sha256", "application/octet-stream", pr)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if string(got) != want {
			t.Fatalf("sha256 %q; want %q", got, want)
		}
	})
	t.Run("pipelined behind a streamed body", func(t *testing.T) {
		small, smallSum := pattern(100_000)
		conn, err := stdnet.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		_ = conn.SetDeadline(time.Now().Add(20 * time.Second))
		go io.WriteString(conn, "POST /sha256 HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n"+small+
			"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc")
		br := bufio.NewReader(conn)
		for _, want := range []string{smallSum, "plain 3"} {
			res, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatal(err)
			}
			got, _ := io.ReadAll(res.Body)
			if string(got) != want {
				t.Fatalf("%q; want %q", got, want)
			}
		}
	})
}

func TestStreamedBodyLimits(t *testing.T) {
	addr := startServer(t, &net.Server{
		StreamBody: func(*net.Ctx) int64 { return 1000 },
		Handler:    sha256Handler,
	})
	for _, tt := range []struct {
		name, req string
	}{
		{"Content-Length over", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1001\r\n\r\n"},
		{"chunked over", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3e8\r\n" + strings.Repeat("a", 1000) + "\r\n1\r\na\r\n0\r\n\r\n"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			conn, err := stdnet.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
			io.WriteString(conn, tt.req)
			res, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err != nil {
				t.Fatal(err)
			}
			if res.StatusCode != 413 || !res.Close {
				t.Fatalf("%d, close %v; want 413 and the connection closed", res.StatusCode, res.Close)
			}
		})
	}
}

// TestStreamedBodyUnreadClosesTheConnection: a handler that answers
// without reading its streamed body gets its answer sent with
// Connection: close (the rest of the body cannot be told from the next
// request).
func TestStreamedBodyUnreadClosesTheConnection(t *testing.T) {
	addr := startServer(t, &net.Server{
		StreamBody: func(*net.Ctx) int64 { return 1 << 30 },
		Handler:    func(c *net.Ctx) net.Result { return c.Text(200, "not reading") },
	})
	conn, err := stdnet.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	io.WriteString(conn, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\nabc")
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Close {
		t.Fatal("answered without Connection: close with the body unread")
	}
}

// TestStreamedBodyUnreadButSmallKeepsTheConnection: a handler that answers
// without reading a streamed body whose rest is at most 256 KiB (as
// net/http's maxPostHandlerReadBytes) keeps its connection: the server drops
// the rest after the answer and serves the request behind it. It used to
// close the connection whatever the size.
func TestStreamedBodyUnreadButSmallKeepsTheConnection(t *testing.T) {
	addr := startServer(t, &net.Server{
		StreamBody: func(c *net.Ctx) int64 {
			if c.Method() == "POST" {
				return 1 << 30
			}
			return 0
		},
		Handler: func(c *net.Ctx) net.Result { return c.Text(200, "not reading "+c.Method()) },
	})
	body := strings.Repeat("q", 200<<10)
	var chunked strings.Builder
	for i := 0; i < len(body); i += 4000 {
		p := body[i:min(i+4000, len(body))]
		fmt.Fprintf(&chunked, "%x\r\n%s\r\n", len(p), p)
	}
	chunked.WriteString("0\r\n\r\n")
	for _, tc := range []struct{ name, req string }{
		{"Content-Length", fmt.Sprintf("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s", len(body), body)},
		{"chunked", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked.String()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rc := dial(t, addr)
			go func() { _, _ = io.WriteString(rc.c, tc.req+"GET /next HTTP/1.1\r\nHost: x\r\n\r\n") }()
			res, got := rc.read("POST")
			if res.Close || got != "not reading POST" {
				t.Fatalf("first answer: %q, Connection: close %v; want the connection kept", got, res.Close)
			}
			if _, got := rc.read("GET"); got != "not reading GET" {
				t.Fatalf("second answer: %q", got)
			}
		})
	}
}

// TestStreamedBodyOnTheLoopWithAClientThatLeaves: BodyChunk on the loop
// gets the chunks, and fails with ErrClientGone when the client leaves
// mid-body.
func TestStreamedBodyOnTheLoopWithAClientThatLeaves(t *testing.T) {
	gotErr := make(chan error, 1)
	addr := startServer(t, &net.Server{
		StreamBody: func(*net.Ctx) int64 { return 1 << 30 },
		Handler: func(c *net.Ctx) net.Result {
			return drainOnLoop(c, func(_ int, err error) net.Result {
				gotErr <- err
				return net.Fail(err)
			})
		},
	})
	conn, err := stdnet.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(conn, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n"+strings.Repeat("z", 300_000))
	conn.Close()
	select {
	case err := <-gotErr:
		if !errors.Is(err, net.ErrClientGone) {
			t.Fatalf("BodyChunk failed with %v; want ErrClientGone", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("BodyChunk never failed after the client left")
	}
}

// TestMultipartFormOverAStreamedBody: a form with a file larger than
// maxMemory, streamed: the field is read, the file spilled to disk whole.
func TestMultipartFormOverAStreamedBody(t *testing.T) {
	type result struct {
		field   string
		size    int64
		onDisk  bool
		problem error
	}
	got := make(chan result, 1)
	addr := startServer(t, &net.Server{
		StreamBody: func(*net.Ctx) int64 { return 64 << 20 },
		Handler: func(c *net.Ctx) net.Result {
			return runtime.Then(c, c.MultipartForm(1<<20), func(f *multipart.Form) net.Result {
				defer f.RemoveAll()
				fh := f.File["upload"][0]
				file, err := fh.Open()
				if err != nil {
					got <- result{problem: err}
					return c.Text(500, "")
				}
				_, onDisk := file.(*os.File)
				file.Close()
				got <- result{field: f.Value["name"][0], size: fh.Size, onDisk: onDisk}
				return c.Text(200, "ok")
			})
		},
	})
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	mw.WriteField("name", "weft")
	fw, _ := mw.CreateFormFile("upload", "big.bin")
	fw.Write(bytes.Repeat([]byte("m"), 3<<20))
	mw.Close()
	res, err := http.Post("http://"+addr+"/", mw.FormDataContentType(), &buf)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	r := <-got
	if r.problem != nil || r.field != "weft" || r.size != 3<<20 || !r.onDisk {
		t.Fatalf("%+v; want the field, a 3 MiB file on disk", r)
	}
	res, err = http.Post("http://"+addr+"/", "text/plain", strings.NewReader("x"))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 415 {
		t.Fatalf("not multipart: %d; want 415", res.StatusCode)
	}
}
