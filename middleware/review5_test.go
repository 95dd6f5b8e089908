package middleware_test

import (
	"bufio"
	stdgzip "compress/gzip"
	"compress/zlib"
	"context"
	"errors"
	"io"
	"io/fs"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/klauspost/compress/zstd"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/weftgo/weft/middleware"
	"github.com/weftgo/weft/net"
	"github.com/weftgo/weft/runtime"
)

// TestReview5CompressedStreamFlushReachesTheClient: Stream.Flush "also
// flushes a content coding", so what was written before a Flush must be
// decodable by the client before the handler writes more, for every coding
// Compress offers (TestCompressStreamsStreamedBodies checks gzip only).
func TestReview5CompressedStreamFlushReachesTheClient(t *testing.T) {
	for _, enc := range []string{"zstd", "deflate", "gzip"} {
		t.Run(enc, func(t *testing.T) {
			next := make(chan struct{})
			var once sync.Once
			release := func() { once.Do(func() { close(next) }) }
			t.Cleanup(release)
			h := net.Chain(func(c *net.Ctx) net.Result {
				c.SetContentType("text/plain")
				s := c.Stream(200)
				s.WriteString(strings.Repeat("first line ", 50) + "\n")
				s.Flush()
				wait := runtime.Blocking(c, func(context.Context) (struct{}, error) { <-next; return struct{}{}, nil })
				return runtime.Then(c, wait, func(struct{}) net.Result {
					s.WriteString("second\n")
					return s.End()
				})
			}, middleware.Compress(middleware.CompressConfig{}))
			_, addr := startServer(t, h, 1)
			req, _ := http.NewRequest("GET", "http://"+addr+"/", nil)
			req.Header.Set("Accept-Encoding", enc)
			res, err := http.DefaultTransport.RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			if got := res.Header.Get("Content-Encoding"); got != enc {
				t.Fatalf("Content-Encoding %q", got)
			}
			var r io.Reader
			switch enc {
			case "zstd":
				d, err := zstd.NewReader(res.Body)
				if err != nil {
					t.Fatal(err)
				}
				defer d.Close()
				r = d
			case "deflate":
				if r, err = zlib.NewReader(res.Body); err != nil {
					t.Fatal(err)
				}
			default:
				if r, err = stdgzip.NewReader(res.Body); err != nil {
					t.Fatal(err)
				}
			}
			line := make(chan string, 1)
			go func() {
				l, _ := bufio.NewReader(r).ReadString('\n')
				line <- l
			}()
			select {
			case l := <-line:
				if !strings.HasPrefix(l, "first line") {
					t.Fatalf("first line %q", l)
				}
			case <-time.After(10 * time.Second):
				t.Fatalf("what was written before Flush was not decodable 10 s later (%s): the flush did not reach the client", enc)
			}
			release()
		})
	}
}

// TestReview5CompressedStreamHeadMatchesGet: Compress promises "A HEAD
// request gets the same headers as a GET" (TestCompressHeadMatchesGet
// checks built bodies). For a streamed body the hook is skipped on HEAD
// (net: Stream installs no encoder for a HEAD), so a HEAD says identity
// (and the declared Content-Length) where the GET says Content-Encoding:
// gzip, chunked: a cache that revalidates with HEAD sees another
// representation.
func TestReview5CompressedStreamHeadMatchesGet(t *testing.T) {
	body := strings.Repeat("weft streams ", 400)
	tc := testConn(t, net.Chain(func(c *net.Ctx) net.Result {
		c.SetContentType("text/plain")
		c.SetContentLength(int64(len(body)))
		s := c.Stream(200)
		s.WriteString(body)
		return s.End()
	}, middleware.Compress(middleware.CompressConfig{})))
	getResp, _ := serveTC(t, tc, get("/", "Accept-Encoding: gzip"))
	headResp, headBody := serveTC(t, tc, request("HEAD", "/", "Accept-Encoding: gzip"))
	if headBody != "" {
		t.Fatalf("HEAD sent %d body bytes", len(headBody))
	}
	for _, h := range []string{"Content-Encoding", "Content-Length", "Transfer-Encoding", "Vary", "ETag"} {
		g, hd := strings.Join(getResp.Header.Values(h), ","), strings.Join(headResp.Header.Values(h), ",")
		if h == "Transfer-Encoding" {
			g, hd = strings.Join(getResp.TransferEncoding, ","), strings.Join(headResp.TransferEncoding, ",")
		}
		if h == "Content-Length" {
			g, hd = strconv.FormatInt(getResp.ContentLength, 10), strconv.FormatInt(headResp.ContentLength, 10)
		}
		if g != hd {
			t.Errorf("%s: GET %q, HEAD %q", h, g, hd)
		}
	}
}

// TestReview5AccessLogSaysAStreamWasAborted: "A streamed response that
// fails midway aborts the connection ...; the access log says so" (issue
// 8 §2), and Ctx.Aborted exists "for access logs". A handler that aborts
// its stream (Stream.Abort) and returns Done, or whose client was cut, is
// logged by Logger as a plain success: status 200, no error, nothing
// saying the client got a cut body.
func TestReview5AccessLogSaysAStreamWasAborted(t *testing.T) {
	core, logs := observer.New(zapcore.InfoLevel)
	h := net.Chain(func(c *net.Ctx) net.Result {
		s := c.Stream(200)
		s.Write(make([]byte, 32<<10)) // the head and these go out
		s.Abort(errors.New("upstream failed"))
		return net.Done()
	}, middleware.Logger(middleware.LoggerConfig{Logger: zap.New(core)}))
	_, addr := startServer(t, h, 1)
	res, err := http.Get("http://" + addr + "/")
	if err == nil {
		_, err = io.ReadAll(res.Body)
		res.Body.Close()
	}
	if err == nil {
		t.Fatal("the aborted stream was received whole")
	}
	// Logger writes its line when the Result settles, here before the
	// handler's call returns, so before any byte reached the client.
	if logs.Len() != 1 {
		t.Fatalf("%d access lines", logs.Len())
	}
	f := logs.All()[0].ContextMap()
	if _, hasErr := f["error"]; !hasErr && f["aborted"] != true {
		t.Fatalf("access line %v: nothing says the response was aborted", f)
	}
}

// noSeekFS hides io.Seeker (and io.ReaderAt) from its files, as zip.Reader's
// compressed entries and many network or archive FSs have none.
type noSeekFS struct{ fs.FS }

type noSeekFile struct{ f fs.File }

func (f noSeekFile) Read(p []byte) (int, error) { return f.f.Read(p) }
func (f noSeekFile) Stat() (fs.FileInfo, error) { return f.f.Stat() }
func (f noSeekFile) Close() error               { return f.f.Close() }
func (n noSeekFS) Open(name string) (fs.File, error) {
	f, err := n.FS.Open(name)
	if err != nil {
		return nil, err
	}
	return noSeekFile{f}, nil
}

// TestReview5StaticStreamedRangeWithoutSeek: Static streams a file over
// MaxFileSize; with no type by extension it first reads 512 bytes to sniff
// one, then skips to the range's start. On a file that cannot seek it
// skips start-512 bytes more (io.CopyN with a negative count does
// nothing), so a range starting inside the sniffed head is answered with
// the bytes from offset 512: a 206 whose body is another part of the file
// than its Content-Range says (middleware/static.go, streamAnswer).
func TestReview5StaticStreamedRangeWithoutSeek(t *testing.T) {
	data := make([]byte, 4096)
	for i := range data {
		data[i] = byte('a' + i%26)
	}
	data[0] = 0 // binary: the sniffer has to read it
	fsys := noSeekFS{fstest.MapFS{"blob": {Data: data, ModTime: time.Unix(1_700_000_000, 0)}}}
	tc := testConn(t, middleware.Static(middleware.StaticConfig{FS: fsys, MaxFileSize: 100}))
	resp, body := serveTC(t, tc, get("/blob", "Range: bytes=10-409")) // longer than MaxFileSize: streamed
	if resp.StatusCode != 206 || resp.Header.Get("Content-Range") != "bytes 10-409/4096" {
		t.Fatalf("status %d, Content-Range %q", resp.StatusCode, resp.Header.Get("Content-Range"))
	}
	if body != string(data[10:410]) {
		t.Fatalf("206 for bytes 10-409 carried %q..., want %q...", body[:min(len(body), 20)], data[10:30])
	}
}
