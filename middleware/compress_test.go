package middleware_test

import (
	"bufio"
	"bytes"
	stdgzip "compress/gzip"
	"compress/zlib"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"

	"github.com/weftgo/weft/middleware"
	"github.com/weftgo/weft/net"
	"github.com/weftgo/weft/offload"
	"github.com/weftgo/weft/runtime"
)

// jsonBody returns n bytes of JSON-looking text that compresses about 5:1.
func jsonBody(n int) []byte {
	var b bytes.Buffer
	b.WriteByte('[')
	for i := 0; b.Len() < n; i++ {
		fmt.Fprintf(&b, `{"id":%d,"name":"user %d","email":"u%d@example.com"},`, i, i, i*7919%10007)
	}
	return b.Bytes()[:n]
}

// decode undoes a content coding.
func decode(t testing.TB, enc string, b []byte) []byte {
	t.Helper()
	var r io.Reader
	var err error
	switch enc {
	case "gzip":
		r, err = stdgzip.NewReader(bytes.NewReader(b))
	case "deflate":
		r, err = zlib.NewReader(bytes.NewReader(b))
	case "zstd":
		var d *zstd.Decoder
		d, err = zstd.NewReader(bytes.NewReader(b))
		if err == nil {
			defer d.Close()
			r = d
		}
	case "":
		return b
	default:
		t.Fatalf("unexpected Content-Encoding %q", enc)
	}
	if err != nil {
		t.Fatalf("%s reader: %v", enc, err)
	}
	out, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("decoding %s: %v", enc, err)
	}
	return out
}

// sendHandler answers with body as contentType, plus the given response
// headers ("Name: value").
func sendHandler(status int, contentType string, body []byte, headers ...string) net.Handler {
	return func(c *net.Ctx) net.Result {
		for _, h := range headers {
			name, value, _ := strings.Cut(h, ": ")
			c.SetHeader(name, value)
		}
		return c.Send(status, contentType, body)
	}
}

func TestCompressNegotiation(t *testing.T) {
	body := jsonBody(4 << 10)
	tests := []struct {
		name, accept, want string
	}{
		{"no header", "", ""},
		{"gzip", "gzip", "gzip"},
		{"browser list prefers zstd", "gzip, deflate, br, zstd", "zstd"},
		{"q decides", "gzip;q=1, zstd;q=0.5", "gzip"},
		{"tie goes to server order", "gzip, zstd;q=1.0", "zstd"},
		{"deflate above gzip", "deflate;q=0.9, gzip;q=0.8", "deflate"},
		{"star", "*", "zstd"},
		{"star refused, gzip listed", "*;q=0, gzip", "gzip"},
		{"zstd refused, star", "zstd;q=0, *", "gzip"},
		{"identity only", "identity", ""},
		{"unknown coding", "br", ""},
		{"q=0 refuses", "gzip;q=0", ""},
		{"case-insensitive", "GZIP;Q=0.5", "gzip"},
		{"x-gzip", "x-gzip", "gzip"},
		{"malformed q ignored", "gzip;q=1.5", ""},
		{"malformed q ignored, others kept", "zstd;q=abc, deflate", "deflate"},
		{"smallest q counts", "gzip;q=0.001", "gzip"},
		{"identity refused still gets identity", "identity;q=0, br", ""},
		{"spaces", " gzip ; q=0.7 ,  deflate ; q=0.8 ", "deflate"},
		{"empty elements", ",,gzip,,", "gzip"},
	}
	tc := testConn(t, net.Chain(sendHandler(200, "application/json", body), middleware.Compress(middleware.CompressConfig{})))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var hdr []string
			if tt.accept != "" {
				hdr = append(hdr, "Accept-Encoding: "+tt.accept)
			}
			resp, got := serveTC(t, tc, get("/", hdr...))
			if enc := resp.Header.Get("Content-Encoding"); enc != tt.want {
				t.Fatalf("Content-Encoding %q, want %q", enc, tt.want)
			}
			if v := resp.Header.Get("Vary"); v != "Accept-Encoding" {
				t.Errorf("Vary %q, want Accept-Encoding", v)
			}
			if cl := resp.Header.Get("Content-Length"); cl != strconv.Itoa(len(got)) {
				t.Errorf("Content-Length %s for %d body bytes", cl, len(got))
			}
			if !bytes.Equal(decode(t, tt.want, []byte(got)), body) {
				t.Fatal("decoded body differs from the original")
			}
		})
	}
}

func TestCompressSkips(t *testing.T) {
	body := jsonBody(4 << 10)
	tests := []struct {
		name string
		h    net.Handler
		body []byte
	}{
		{"small body", sendHandler(200, "application/json", body[:1000]), body[:1000]},
		{"image", sendHandler(200, "image/png", body), body},
		{"no content type", sendHandler(200, "", body), body},
		{"already encoded", sendHandler(200, "application/json", body, "Content-Encoding: br"), body},
		{"partial content", sendHandler(206, "text/plain", body, "Content-Range: bytes 0-4095/9000"), body},
		{"no-transform", sendHandler(200, "text/html", body, "Cache-Control: public, no-transform"), body},
		{"empty body", sendHandler(200, "text/plain", nil), nil},
		{"no content", sendHandler(204, "text/plain", nil), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tc := testConn(t, net.Chain(tt.h, middleware.Compress(middleware.CompressConfig{})))
			resp, got := serveTC(t, tc, get("/", "Accept-Encoding: gzip, zstd"))
			if enc := resp.Header.Get("Content-Encoding"); enc != "" && enc != "br" {
				t.Fatalf("Content-Encoding %q, want none added", enc)
			}
			if v := resp.Header.Get("Vary"); v != "" {
				t.Errorf("Vary %q on a response that is never compressed", v)
			}
			if got != string(tt.body) {
				t.Errorf("body changed: %d bytes, want %d", len(got), len(tt.body))
			}
		})
	}
}

func TestCompressHeaders(t *testing.T) {
	body := []byte(strings.Repeat("hello, weft! ", 200))
	tests := []struct {
		name     string
		headers  []string
		wantETag string
		wantVary []string
	}{
		{"strong etag weakened", []string{`ETag: "abc"`}, `W/"abc"`, []string{"Accept-Encoding"}},
		{"weak etag kept", []string{`ETag: W/"abc"`}, `W/"abc"`, []string{"Accept-Encoding"}},
		{"vary extended", []string{"Vary: Origin"}, "", []string{"Origin", "Accept-Encoding"}},
		{"vary already there", []string{"Vary: origin, accept-encoding"}, "", []string{"origin, accept-encoding"}},
		{"vary star", []string{"Vary: *"}, "", []string{"*"}},
		{"accept-ranges removed", []string{"Accept-Ranges: bytes"}, "", []string{"Accept-Encoding"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tc := testConn(t, net.Chain(sendHandler(200, "text/plain; charset=utf-8", body, tt.headers...),
				middleware.Compress(middleware.CompressConfig{})))
			resp, _ := serveTC(t, tc, get("/", "Accept-Encoding: gzip"))
			if enc := resp.Header.Get("Content-Encoding"); enc != "gzip" {
				t.Fatalf("Content-Encoding %q", enc)
			}
			if got := resp.Header.Get("ETag"); got != tt.wantETag {
				t.Errorf("ETag %q, want %q", got, tt.wantETag)
			}
			if got := resp.Header.Values("Vary"); strings.Join(got, "|") != strings.Join(tt.wantVary, "|") {
				t.Errorf("Vary %q, want %q", got, tt.wantVary)
			}
			if got := resp.Header.Get("Accept-Ranges"); got != "" {
				t.Errorf("Accept-Ranges %q on a compressed response", got)
			}
		})
	}
}

func TestCompressHeadMatchesGet(t *testing.T) {
	body := jsonBody(8 << 10)
	tc := testConn(t, net.Chain(sendHandler(200, "application/json", body), middleware.Compress(middleware.CompressConfig{})))
	getResp, getBody := serveTC(t, tc, get("/", "Accept-Encoding: gzip"))
	headResp, headBody := serveTC(t, tc, request("HEAD", "/", "Accept-Encoding: gzip"))
	if headBody != "" {
		t.Fatalf("HEAD sent %d body bytes", len(headBody))
	}
	for _, h := range []string{"Content-Encoding", "Content-Length", "Vary", "Content-Type"} {
		if g, hd := getResp.Header.Get(h), headResp.Header.Get(h); g != hd {
			t.Errorf("%s: GET %q, HEAD %q", h, g, hd)
		}
	}
	if getResp.Header.Get("Content-Length") != strconv.Itoa(len(getBody)) {
		t.Errorf("GET Content-Length %s, body %d", getResp.Header.Get("Content-Length"), len(getBody))
	}
}

func TestCompressAsyncAndErrors(t *testing.T) {
	body := jsonBody(4 << 10)
	async := func(c *net.Ctx) net.Result {
		return runtime.Then(c, runtime.After(c, time.Millisecond), func(struct{}) net.Result {
			return c.Send(200, "application/json", body)
		})
	}
	fail := func(c *net.Ctx) net.Result {
		c.SetContentType("application/json")
		_, _ = c.Write(body)
		return net.Fail(net.NewError(418, "teapot"))
	}
	t.Run("async handler", func(t *testing.T) {
		tc := testConn(t, net.Chain(async, middleware.Compress(middleware.CompressConfig{})))
		resp, got := serveTC(t, tc, get("/", "Accept-Encoding: deflate"))
		if resp.Header.Get("Content-Encoding") != "deflate" || !bytes.Equal(decode(t, "deflate", []byte(got)), body) {
			t.Fatalf("Content-Encoding %q", resp.Header.Get("Content-Encoding"))
		}
	})
	t.Run("failed result left to the error handler", func(t *testing.T) {
		tc := testConn(t, net.Chain(fail, middleware.Compress(middleware.CompressConfig{})))
		resp, got := serveTC(t, tc, get("/", "Accept-Encoding: gzip"))
		if resp.StatusCode != 418 || resp.Header.Get("Content-Encoding") != "" || got != "teapot" {
			t.Fatalf("%d %q %q", resp.StatusCode, resp.Header.Get("Content-Encoding"), got)
		}
	})
}

// timings reads the off-loop time of each request once its Result settles.
func timings(into *net.Timings) net.Middleware {
	return func(next net.Handler) net.Handler {
		return func(c *net.Ctx) net.Result {
			return next(c).Finally(c, func(struct{}, error) { *into = c.Timings() })
		}
	}
}

func TestCompressLargeBodiesOffTheLoop(t *testing.T) {
	body := jsonBody(64 << 10)
	pool, err := offload.New(offload.Config{Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pool.Close(context.Background()) })
	tests := []struct {
		name    string
		cfg     middleware.CompressConfig
		size    int
		offload bool // on the pool, else Blocking
		off     bool // off the loop at all
	}{
		{"pool", middleware.CompressConfig{Pool: pool}, 64 << 10, true, true},
		{"blocking without a pool", middleware.CompressConfig{}, 64 << 10, false, true},
		{"below the threshold", middleware.CompressConfig{Pool: pool}, 16<<10 - 1, false, false},
		{"at the threshold", middleware.CompressConfig{Pool: pool}, 16 << 10, true, true},
		{"custom threshold", middleware.CompressConfig{Pool: pool, OffloadAbove: 4 << 10}, 4 << 10, true, true},
		{"never", middleware.CompressConfig{Pool: pool, OffloadAbove: -1}, 64 << 10, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, enc := range []string{"gzip", "zstd", "deflate"} {
				var tm net.Timings
				tc := testConn(t, net.Chain(sendHandler(200, "application/json", body[:tt.size]),
					timings(&tm), middleware.Compress(tt.cfg)))
				resp, got := serveTC(t, tc, get("/", "Accept-Encoding: "+enc))
				if resp.Header.Get("Content-Encoding") != enc {
					t.Fatalf("Content-Encoding %q, want %s", resp.Header.Get("Content-Encoding"), enc)
				}
				if !bytes.Equal(decode(t, enc, []byte(got)), body[:tt.size]) {
					t.Fatal("decoded body differs")
				}
				if (tm.OffloadRan > 0) != tt.offload || (tm.OffloadRan+tm.BlockingRan > 0) != tt.off {
					t.Fatalf("%s: timings %+v: want offload %v, off the loop %v", enc, tm, tt.offload, tt.off)
				}
			}
		})
	}
}

func TestCompressFullPoolSendsIdentity(t *testing.T) {
	body := jsonBody(64 << 10)
	pool, err := offload.New(offload.Config{Workers: 1, MaxQueue: 1})
	if err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	block := func(ctx context.Context) (int, error) { <-release; return 0, nil }
	scope := runtime.Detached(context.Background())
	running := offload.Run(scope, pool, block)
	for pool.Stats().Running == 0 {
		time.Sleep(time.Millisecond)
	}
	queued := offload.Run(scope, pool, block)
	t.Cleanup(func() {
		close(release)
		_, _ = running.Wait(context.Background())
		_, _ = queued.Wait(context.Background())
		_ = pool.Close(context.Background())
	})

	tc := testConn(t, net.Chain(sendHandler(200, "application/json", body), middleware.Compress(middleware.CompressConfig{Pool: pool})))
	resp, got := serveTC(t, tc, get("/", "Accept-Encoding: gzip"))
	if resp.StatusCode != 200 || resp.Header.Get("Content-Encoding") != "" || got != string(body) {
		t.Fatalf("status %d, Content-Encoding %q, %d bytes: want 200 and the body as it is", resp.StatusCode, resp.Header.Get("Content-Encoding"), len(got))
	}
}

func TestCompressOverNetwork(t *testing.T) {
	small := []byte("tiny")
	page := []byte(strings.Repeat("<p>weft serves this page compressed.</p>\n", 100))
	big := jsonBody(100 << 10)
	pool, err := offload.New(offload.Config{Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	mw := middleware.Compress(middleware.CompressConfig{Pool: pool})
	h := mw(func(c *net.Ctx) net.Result {
		switch c.Path() {
		case "/small":
			return c.Send(200, "text/plain", small)
		case "/page":
			return c.Send(200, "text/html; charset=utf-8", page)
		default:
			return c.Send(200, "application/json", big)
		}
	})
	s := &net.Server{Addr: "127.0.0.1:0", Handler: h, Loops: 2, OnShutdown: []func(context.Context) error{pool.Close}}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Shutdown(context.Background()) })
	addr := s.ListenAddr().String()
	client := httpClient(t)

	// net/http's client asks for gzip and decodes it, dropping the
	// Content-Encoding and Content-Length headers (resp.Uncompressed).
	for path, want := range map[string][]byte{"/small": small, "/page": page, "/big": big} {
		t.Run("net/http client "+path, func(t *testing.T) {
			resp, err := client.Get("http://" + addr + path)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			got, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("body differs: %d bytes, want %d", len(got), len(want))
			}
			if resp.Uncompressed != (path != "/small") {
				t.Errorf("Uncompressed %v", resp.Uncompressed)
			}
		})
	}
	t.Run("raw HEAD", func(t *testing.T) {
		resp, body := rawRequest(t, addr, "HEAD", request("HEAD", "/big", "Accept-Encoding: zstd"))
		getResp, getBody := rawRequest(t, addr, "GET", request("GET", "/big", "Accept-Encoding: zstd"))
		if body != "" || resp.Header.Get("Content-Encoding") != "zstd" ||
			resp.Header.Get("Content-Length") != getResp.Header.Get("Content-Length") ||
			getResp.Header.Get("Content-Length") != strconv.Itoa(len(getBody)) {
			t.Fatalf("HEAD %v / GET %v (%d bytes)", resp.Header, getResp.Header, len(getBody))
		}
		if !bytes.Equal(decode(t, "zstd", []byte(getBody)), big) {
			t.Fatal("zstd body differs")
		}
	})
	t.Run("raw pipelined", func(t *testing.T) {
		req := request("GET", "/page", "Accept-Encoding: gzip") + request("GET", "/big", "Accept-Encoding: deflate")
		c := dialRaw(t, addr)
		c.send(req)
		for _, want := range []struct {
			enc  string
			body []byte
		}{{"gzip", page}, {"deflate", big}} {
			resp, body := c.read("GET")
			if resp.Header.Get("Content-Encoding") != want.enc || !bytes.Equal(decode(t, want.enc, []byte(body)), want.body) {
				t.Fatalf("Content-Encoding %q", resp.Header.Get("Content-Encoding"))
			}
		}
	})
}

func TestCompressConfigPanics(t *testing.T) {
	tests := []struct {
		name  string
		cfg   middleware.CompressConfig
		field string
	}{
		{"level too high", middleware.CompressConfig{Level: 10}, "Level"},
		{"level negative", middleware.CompressConfig{Level: -1}, "Level"},
		{"unknown encoding", middleware.CompressConfig{Encodings: []string{"br"}}, "Encodings"},
		{"empty encodings", middleware.CompressConfig{Encodings: []string{}}, "Encodings"},
		{"duplicate encoding", middleware.CompressConfig{Encodings: []string{"gzip", "gzip"}}, "Encodings"},
		{"bad type", middleware.CompressConfig{Types: []string{"json"}}, "Types"},
		{"bad wildcard", middleware.CompressConfig{Types: []string{"*/json"}}, "Types"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			expectPanic(t, "CompressConfig."+tt.field, func() { middleware.Compress(tt.cfg) })
		})
	}
}

func TestCompressCustomTypesAndLevel(t *testing.T) {
	body := jsonBody(4 << 10)
	mw := middleware.Compress(middleware.CompressConfig{Types: []string{"+csv", "application/x-thing"}, Level: 9, Encodings: []string{"gzip"}, MinSize: -1})
	for _, tt := range []struct {
		ct   string
		size int
		want string
	}{
		{"text/vnd.a+csv", 4 << 10, "gzip"},
		{"APPLICATION/X-THING; q=1", 4 << 10, "gzip"},
		{"text/plain", 4 << 10, ""},
		{"text/vnd.a+csv", 1, "gzip"},
	} {
		tc := testConn(t, net.Chain(sendHandler(200, tt.ct, body[:tt.size]), mw))
		resp, got := serveTC(t, tc, get("/", "Accept-Encoding: gzip, zstd"))
		if enc := resp.Header.Get("Content-Encoding"); enc != tt.want {
			t.Fatalf("%s: Content-Encoding %q, want %q", tt.ct, enc, tt.want)
		}
		if !bytes.Equal(decode(t, tt.want, []byte(got)), body[:tt.size]) {
			t.Fatalf("%s: body differs", tt.ct)
		}
	}
}

func TestCompressAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops items at random under -race")
	}
	body := jsonBody(4 << 10)
	tc := testConn(t, net.Chain(sendHandler(200, "application/json", body), middleware.Compress(middleware.CompressConfig{})))
	for _, enc := range []string{"gzip", "deflate", "zstd"} {
		req := []byte(get("/", "Accept-Encoding: "+enc))
		if _, err := tc.Serve(req, time.Second); err != nil { // warm the pools
			t.Fatal(err)
		}
		allocs := testing.AllocsPerRun(100, func() {
			if _, err := tc.Serve(req, time.Second); err != nil {
				t.Fatal(err)
			}
		})
		// sync.Pool may drop an encoder at a GC; on average nothing else
		// allocates.
		if allocs > 0.5 {
			t.Errorf("%s: %.1f allocations per request, want 0", enc, allocs)
		}
	}
}

func ExampleCompress() {
	h := net.Chain(func(c *net.Ctx) net.Result {
		return c.Text(200, strings.Repeat("weft compresses text. ", 100))
	}, middleware.Compress(middleware.CompressConfig{}))

	tc, _ := net.NewTestConn(&net.Server{Handler: h})
	defer tc.Close()
	out, _ := tc.Serve([]byte("GET / HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\n\r\n"), time.Second)
	resp, _ := http.ReadResponse(bufioReader(out), nil)
	fmt.Println(resp.Header.Get("Content-Encoding"), resp.Header.Get("Vary"), resp.ContentLength < 2200)
	// Output: gzip Accept-Encoding true
}

func BenchmarkCompress(b *testing.B) {
	small := []byte(`{"ok":true}`)
	body := jsonBody(4 << 10)
	for _, bm := range []struct {
		name   string
		body   []byte
		mw     []net.Middleware
		accept string
	}{
		{"bare/4KiB", body, nil, "gzip"},
		{"gzip/4KiB", body, []net.Middleware{middleware.Compress(middleware.CompressConfig{Encodings: []string{"gzip"}})}, "gzip"},
		{"zstd/4KiB", body, []net.Middleware{middleware.Compress(middleware.CompressConfig{})}, "zstd"},
		{"deflate/4KiB", body, []net.Middleware{middleware.Compress(middleware.CompressConfig{})}, "deflate"},
		{"bare/small", small, nil, "gzip"},
		{"passthrough/small", small, []net.Middleware{middleware.Compress(middleware.CompressConfig{})}, "gzip"},
		{"passthrough/identity", body, []net.Middleware{middleware.Compress(middleware.CompressConfig{})}, "identity"},
	} {
		b.Run(bm.name, func(b *testing.B) {
			tc := testConn(b, net.Chain(sendHandler(200, "application/json", bm.body), bm.mw...))
			req := []byte(get("/", "Accept-Encoding: "+bm.accept))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := tc.Serve(req, time.Second); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestCompressStreamsStreamedBodies: a streamed response is compressed as
// it goes (each SSE event is flushed through the coder, so it can be
// decoded before the stream ends), not buffered whole.
func TestCompressStreamsStreamedBodies(t *testing.T) {
	next := make(chan struct{})
	h := net.Chain(func(c *net.Ctx) net.Result {
		sse := c.SSE()
		var send func(i int) net.Result
		send = func(i int) net.Result {
			if i == 3 {
				return sse.Stream().End()
			}
			f := sse.Send(net.Event{Data: strings.Repeat("event ", 100) + strconv.Itoa(i)})
			ok := runtime.Blocking(c, func(context.Context) (struct{}, error) { <-next; return struct{}{}, nil })
			return runtime.Then(c, runtime.All(c, f, ok), func([]struct{}) net.Result { return send(i + 1) })
		}
		return send(0)
	}, middleware.Compress(middleware.CompressConfig{Types: []string{"text/*"}}))
	srv := &net.Server{Addr: "127.0.0.1:0", Loops: 1, Handler: h}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown(context.Background())
	req, _ := http.NewRequest("GET", "http://"+srv.ListenAddr().String()+"/", nil)
	req.Header.Set("Accept-Encoding", "gzip")
	res, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.Header.Get("Content-Encoding") != "gzip" || res.ContentLength != -1 {
		t.Fatalf("headers %v, length %d", res.Header, res.ContentLength)
	}
	zr, err := stdgzip.NewReader(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(zr)
	for i := range 3 {
		line, err := br.ReadString('\n')
		if err != nil || !strings.HasSuffix(line, strconv.Itoa(i)+"\n") {
			t.Fatalf("event %d: %q, %v", i, line, err)
		}
		if blank, _ := br.ReadString('\n'); blank != "\n" {
			t.Fatalf("event %d not ended: %q", i, blank)
		}
		next <- struct{}{} // the next event is sent only now: this one was flushed
	}
	if rest, err := io.ReadAll(br); err != nil || len(rest) != 0 {
		t.Fatalf("after the events: %q, %v", rest, err)
	}
}
