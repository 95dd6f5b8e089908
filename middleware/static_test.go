package middleware_test

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/weftgo/weft/middleware"
	"github.com/weftgo/weft/net"
	"github.com/weftgo/weft/router"
)

const secret = "TOP SECRET: outside the static root"

var pngHeader = "\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"

// staticTree makes a directory to serve, and a secret file beside it that
// no request may reach. It returns the directory.
func staticTree(t *testing.T) string {
	t.Helper()
	base := t.TempDir()
	root := filepath.Join(base, "public")
	files := map[string]string{
		"index.html":      "<!doctype html><title>home</title>",
		"style.css":       "body { color: teal }",
		"data.json":       `{"hello":"weft"}`,
		"docs/index.html": "<p>docs</p>",
		"empty/.keep":     "",
		".env":            "PASSWORD=hunter2",
		"noext":           "just some text",
		"blob":            "\x00\x01\x02binary",
		"image":           pngHeader,
		"digits.txt":      "0123456789",
		"big.txt":         strings.Repeat("x", 1000),
	}
	for name, content := range files {
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(base, "secret.txt"), []byte(secret), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(base, "secret.txt"), filepath.Join(root, "escape")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("style.css", filepath.Join(root, "inside")); err != nil {
		t.Fatal(err)
	}
	return root
}

// etagOf is the ETag Static gives a file on disk.
func etagOf(t *testing.T, path string) (etag, lastModified string) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return `"` + strconv.FormatInt(fi.Size(), 16) + "-" + strconv.FormatInt(fi.ModTime().UnixNano(), 16) + `"`,
		fi.ModTime().UTC().Format(http.TimeFormat)
}

func staticRouter(cfg middleware.StaticConfig, mw ...net.Middleware) net.Handler {
	r := router.New()
	r.Use(mw...)
	r.GET("/static/*path", middleware.Static(cfg))
	return r.Serve
}

func TestStatic(t *testing.T) {
	root := staticTree(t)
	etag, lastMod := etagOf(t, filepath.Join(root, "digits.txt"))
	fi, _ := os.Stat(filepath.Join(root, "digits.txt"))
	before := fi.ModTime().Add(-time.Hour).UTC().Format(http.TimeFormat)
	after := fi.ModTime().Add(time.Hour).UTC().Format(http.TimeFormat)
	asctime := fi.ModTime().Add(time.Second).UTC().Format(time.ANSIC)

	tests := []struct {
		name    string
		req     string
		status  int
		body    string
		headers map[string]string // "" value: must be absent
	}{
		{"file", get("/static/style.css"), 200, "body { color: teal }",
			map[string]string{"Content-Type": "text/css; charset=utf-8", "Accept-Ranges": "bytes", "Content-Length": "20"}},
		{"validators", get("/static/digits.txt"), 200, "0123456789",
			map[string]string{"ETag": etag, "Last-Modified": lastMod, "Content-Type": "text/plain; charset=utf-8"}},
		{"json", get("/static/data.json"), 200, `{"hello":"weft"}`, map[string]string{"Content-Type": "application/json"}},
		{"index of the root", get("/static/"), 200, "<!doctype html><title>home</title>", map[string]string{"Content-Type": "text/html; charset=utf-8"}},
		{"directory redirect", get("/static/docs"), 301, "", map[string]string{"Location": "./docs/"}},
		{"directory redirect keeps the query", get("/static/docs?v=2"), 301, "", map[string]string{"Location": "./docs/?v=2"}},
		{"directory index", get("/static/docs/"), 200, "<p>docs</p>", nil},
		{"index by name", get("/static/docs/index.html"), 200, "<p>docs</p>", nil},
		{"directory without index", get("/static/empty/"), 404, "Not Found", nil},
		{"missing", get("/static/nope.txt"), 404, "Not Found", nil},
		{"dotfile", get("/static/.env"), 404, "Not Found", nil},
		{"dot directory", get("/static/empty/.keep"), 404, "Not Found", nil},
		{"file with a slash", get("/static/style.css/"), 404, "Not Found", nil},
		{"percent-encoded name", get("/static/st%79le.css"), 200, "body { color: teal }", nil},
		{"bad escape", get("/static/%zz"), 400, "Bad Request", nil},
		{"dot-dot", get("/static/docs/../style.css"), 400, "Bad Request", nil},
		{"encoded dot-dot", get("/static/docs/%2e%2E/style.css"), 400, "Bad Request", nil},
		{"encoded backslash", get("/static/docs%5cindex.html"), 400, "Bad Request", nil},
		{"encoded NUL", get("/static/style.css%00"), 400, "Bad Request", nil},
		{"encoded slash", get("/static/docs%2findex.html"), 200, "<p>docs</p>", nil},
		{"doubled slashes", get("/static//docs//index.html"), 200, "<p>docs</p>", nil},
		{"sniffed text", get("/static/noext"), 200, "just some text", map[string]string{"Content-Type": "text/plain; charset=utf-8"}},
		{"sniffed binary", get("/static/blob"), 200, "\x00\x01\x02binary", map[string]string{"Content-Type": "application/octet-stream"}},
		{"sniffed png", get("/static/image"), 200, pngHeader, map[string]string{"Content-Type": "image/png"}},
		{"symlink inside the root", get("/static/inside"), 200, "body { color: teal }", nil},
		{"symlink out of the root", get("/static/escape"), 404, "Not Found", nil},

		{"range", get("/static/digits.txt", "Range: bytes=2-4"), 206, "234",
			map[string]string{"Content-Range": "bytes 2-4/10", "Content-Length": "3", "ETag": etag}},
		{"range open-ended", get("/static/digits.txt", "Range: bytes=7-"), 206, "789", map[string]string{"Content-Range": "bytes 7-9/10"}},
		{"range suffix", get("/static/digits.txt", "Range: bytes=-3"), 206, "789", map[string]string{"Content-Range": "bytes 7-9/10"}},
		{"range past the end is cut", get("/static/digits.txt", "Range: bytes=8-100"), 206, "89", map[string]string{"Content-Range": "bytes 8-9/10"}},
		{"range suffix longer than the file", get("/static/digits.txt", "Range: bytes=-50"), 206, "0123456789", nil},
		{"range unsatisfiable", get("/static/digits.txt", "Range: bytes=10-"), 416, "Range Not Satisfiable",
			map[string]string{"Content-Range": "bytes */10"}},
		{"range empty suffix", get("/static/digits.txt", "Range: bytes=-0"), 416, "Range Not Satisfiable", nil},
		{"several ranges: whole file", get("/static/digits.txt", "Range: bytes=0-1,4-5"), 200, "0123456789", map[string]string{"Content-Range": ""}},
		{"other unit ignored", get("/static/digits.txt", "Range: items=0-1"), 200, "0123456789", nil},
		{"malformed range ignored", get("/static/digits.txt", "Range: bytes=5-2"), 200, "0123456789", nil},
		{"if-range matches", get("/static/digits.txt", "Range: bytes=0-0", "If-Range: "+etag), 206, "0", nil},
		{"if-range by date", get("/static/digits.txt", "Range: bytes=0-0", "If-Range: "+lastMod), 206, "0", nil},
		{"if-range stale", get("/static/digits.txt", "Range: bytes=0-0", `If-Range: "old"`), 200, "0123456789", nil},
		{"if-range weak never matches", get("/static/digits.txt", "Range: bytes=0-0", "If-Range: W/"+etag), 200, "0123456789", nil},
		{"range ignored on HEAD", request("HEAD", "/static/digits.txt", "Range: bytes=0-0"), 200, "", map[string]string{"Content-Length": "10"}},

		{"if-none-match", get("/static/digits.txt", "If-None-Match: "+etag), 304, "",
			map[string]string{"ETag": etag, "Last-Modified": lastMod, "Content-Length": ""}},
		{"if-none-match weak", get("/static/digits.txt", "If-None-Match: W/"+etag), 304, "", nil},
		{"if-none-match list", get("/static/digits.txt", `If-None-Match: "a", `+etag), 304, "", nil},
		{"if-none-match star", get("/static/digits.txt", "If-None-Match: *"), 304, "", nil},
		{"if-none-match other", get("/static/digits.txt", `If-None-Match: "other"`), 200, "0123456789", nil},
		{"if-modified-since now", get("/static/digits.txt", "If-Modified-Since: "+lastMod), 304, "", nil},
		{"if-modified-since asctime", get("/static/digits.txt", "If-Modified-Since: "+asctime), 304, "", nil},
		{"if-modified-since before", get("/static/digits.txt", "If-Modified-Since: "+before), 200, "0123456789", nil},
		{"if-none-match wins over if-modified-since", get("/static/digits.txt", `If-None-Match: "other"`, "If-Modified-Since: "+after), 200, "0123456789", nil},
		{"if-match", get("/static/digits.txt", "If-Match: "+etag), 200, "0123456789", nil},
		{"if-match fails", get("/static/digits.txt", `If-Match: "other"`), 412, "Precondition Failed", nil},
		{"if-match weak fails", get("/static/digits.txt", "If-Match: W/"+etag), 412, "Precondition Failed", nil},
		{"if-unmodified-since fails", get("/static/digits.txt", "If-Unmodified-Since: "+before), 412, "Precondition Failed", nil},
		{"if-unmodified-since holds", get("/static/digits.txt", "If-Unmodified-Since: "+after), 200, "0123456789", nil},

		{"head", request("HEAD", "/static/style.css"), 200, "", map[string]string{"Content-Length": "20", "Content-Type": "text/css; charset=utf-8"}},
		{"over MaxFileSize: streamed", get("/static/big.txt"), 200, strings.Repeat("x", 1000), map[string]string{"Accept-Ranges": "bytes", "Content-Length": "1000"}},
		{"over MaxFileSize, a range that fits", get("/static/big.txt", "Range: bytes=0-9"), 206, "xxxxxxxxxx", nil},
		{"over MaxFileSize, open range streamed", get("/static/big.txt", "Range: bytes=100-"), 206, strings.Repeat("x", 900),
			map[string]string{"Content-Range": "bytes 100-999/1000", "Content-Length": "900"}},
		{"over MaxFileSize, closed range streamed", get("/static/big.txt", "Range: bytes=0-599"), 206, strings.Repeat("x", 600), nil},
		{"over MaxFileSize, HEAD", request("HEAD", "/static/big.txt"), 200, "", map[string]string{"Content-Length": "1000"}},
	}
	h := staticRouter(middleware.StaticConfig{Dir: root, MaxFileSize: 500, CacheControl: "public, max-age=60"})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := serveTC(t, testConn(t, h), tt.req)
			if resp.StatusCode != tt.status || body != tt.body {
				t.Fatalf("%d %q, want %d %q", resp.StatusCode, body, tt.status, tt.body)
			}
			for name, want := range tt.headers {
				if got := resp.Header.Get(name); got != want {
					t.Errorf("%s: %q, want %q", name, got, want)
				}
			}
			if tt.status == 200 && resp.Header.Get("Cache-Control") != "public, max-age=60" {
				t.Errorf("Cache-Control %q", resp.Header.Get("Cache-Control"))
			}
		})
	}
}

// TestStaticTraversal sends attacks as raw bytes over TCP, since net/http's
// client would clean the paths first. None may reach the secret.
func TestStaticTraversal(t *testing.T) {
	root := staticTree(t)
	attacks := []string{
		"/static/../secret.txt",
		"/static/../../secret.txt",
		"/static/a/../../secret.txt",
		"/static/%2e%2e/secret.txt",
		"/static/%2E%2E/secret.txt",
		"/static/..%2fsecret.txt",
		"/static/%2e%2e%2fsecret.txt",
		"/static/.%2e/secret.txt",
		"/static/..%5csecret.txt",
		"/static/%5c..%5csecret.txt",
		`/static/..\secret.txt`,
		"/static/secret.txt%00.css",
		"/static/%00",
		"/static/%2fetc%2fpasswd",
		"/static//etc/passwd",
		"/static/%252e%252e/secret.txt",
		"/static/%c0%ae%c0%ae/secret.txt",
		"/static/..",
		"/static/docs/..%2f..%2fsecret.txt",
	}
	for _, mount := range []struct {
		name  string
		h     net.Handler
		extra []string
	}{
		// os.DirFS follows symbolic links out of its directory: only Dir
		// (os.Root) stops /static/escape (see TestStaticOSDirFSSymlink).
		{"dir under a route", staticRouter(middleware.StaticConfig{Dir: root}), []string{"/static/escape"}},
		{"os.DirFS under a route", staticRouter(middleware.StaticConfig{FS: os.DirFS(root)}), nil},
		{"dir as the whole server", middleware.Static(middleware.StaticConfig{Dir: root}), []string{"/static/escape"}},
	} {
		t.Run(mount.name, func(t *testing.T) {
			_, addr := startServer(t, mount.h, 1)
			for _, target := range append(attacks, mount.extra...) {
				if strings.HasPrefix(mount.name, "dir as") {
					target = strings.TrimPrefix(target, "/static")
				}
				resp, body := rawRequest(t, addr, "GET", "GET "+target+" HTTP/1.1\r\nHost: x\r\n\r\n")
				if resp.StatusCode != 400 && resp.StatusCode != 404 {
					t.Errorf("%s: status %d, want 400 or 404", target, resp.StatusCode)
				}
				if strings.Contains(body, "SECRET") {
					t.Errorf("%s: served the secret", target)
				}
			}
		})
	}
}

// TestStaticOSDirFSSymlink documents the one thing Dir protects from and
// FS: os.DirFS does not: a symbolic link out of the directory.
func TestStaticOSDirFSSymlink(t *testing.T) {
	root := staticTree(t)
	tc := testConn(t, staticRouter(middleware.StaticConfig{FS: os.DirFS(root)}))
	resp, body := serveTC(t, tc, get("/static/escape"))
	if resp.StatusCode != 200 || body != secret {
		t.Fatalf("os.DirFS: %d %q; if os.DirFS stopped following links, update StaticConfig.FS's doc", resp.StatusCode, body)
	}
}

func TestStaticMethods(t *testing.T) {
	tc := testConn(t, middleware.Static(middleware.StaticConfig{FS: fstest.MapFS{"a.txt": {Data: []byte("a")}}}))
	for _, m := range []string{"POST", "PUT", "DELETE", "OPTIONS"} {
		resp, _ := serveTC(t, tc, request(m, "/a.txt", "Content-Length: 0"))
		if resp.StatusCode != 405 || resp.Header.Get("Allow") != "GET, HEAD" {
			t.Errorf("%s: %d, Allow %q", m, resp.StatusCode, resp.Header.Get("Allow"))
		}
	}
	if resp, body := serveTC(t, tc, get("/a.txt")); resp.StatusCode != 200 || body != "a" {
		t.Errorf("GET: %d %q", resp.StatusCode, body)
	}
}

func TestStaticMapFSHashETagAndCache(t *testing.T) {
	fsys := fstest.MapFS{
		"app.js":     {Data: []byte("console.log('weft')")},
		"index.html": {Data: []byte("<h1>hi</h1>")},
		"large.txt":  {Data: bytes.Repeat([]byte("L"), 2000)},
	}
	var tm net.Timings
	h := staticRouter(middleware.StaticConfig{FS: fsys, CacheBytes: 1 << 20, CacheFileMax: 1000}, timings(&tm))
	tc := testConn(t, h)

	resp, body := serveTC(t, tc, get("/static/app.js"))
	etag := resp.Header.Get("ETag")
	if resp.StatusCode != 200 || body != "console.log('weft')" || !strings.HasPrefix(etag, `"`) || resp.Header.Get("Last-Modified") != "" {
		t.Fatalf("%d %q ETag %q Last-Modified %q", resp.StatusCode, body, etag, resp.Header.Get("Last-Modified"))
	}
	if ct := resp.Header.Get("Content-Type"); ct != "text/javascript; charset=utf-8" {
		t.Errorf("Content-Type %q", ct)
	}
	if tm.BlockingRan == 0 {
		t.Error("first read was not off the loop")
	}

	// The cache now answers, on the loop: a change to the FS is not seen.
	fsys["app.js"] = &fstest.MapFile{Data: []byte("changed")}
	resp, body = serveTC(t, tc, get("/static/app.js"))
	if body != "console.log('weft')" || resp.Header.Get("ETag") != etag || tm.BlockingRan != 0 {
		t.Fatalf("cached: %q ETag %q, blocking %v", body, resp.Header.Get("ETag"), tm.BlockingRan)
	}
	// Conditionals and ranges work from the cache too.
	if resp, _ := serveTC(t, tc, get("/static/app.js", "If-None-Match: "+etag)); resp.StatusCode != 304 || tm.BlockingRan != 0 {
		t.Fatalf("cached If-None-Match: %d", resp.StatusCode)
	}
	if resp, body := serveTC(t, tc, get("/static/app.js", "Range: bytes=0-6")); resp.StatusCode != 206 || body != "console" {
		t.Fatalf("cached range: %d %q", resp.StatusCode, body)
	}
	// A directory's index is cached under the directory.
	serveTC(t, tc, get("/static/"))
	if resp, body := serveTC(t, tc, get("/static/")); body != "<h1>hi</h1>" || tm.BlockingRan != 0 {
		t.Fatalf("cached index: %d %q, blocking %v", resp.StatusCode, body, tm.BlockingRan)
	}
	// Files over CacheFileMax are read each time.
	serveTC(t, tc, get("/static/large.txt"))
	if serveTC(t, tc, get("/static/large.txt")); tm.BlockingRan == 0 {
		t.Fatal("a file over CacheFileMax was cached")
	}

	// Without the cache, the hash follows the content.
	tc2 := testConn(t, staticRouter(middleware.StaticConfig{FS: fsys}))
	resp, body = serveTC(t, tc2, get("/static/app.js"))
	if body != "changed" || resp.Header.Get("ETag") == etag {
		t.Fatalf("uncached: %q ETag %q", body, resp.Header.Get("ETag"))
	}
}

// TestStaticWithCompress checks the pair: a compressed file gets a weak
// ETag, and that weak ETag still revalidates.
func TestStaticWithCompress(t *testing.T) {
	css := strings.Repeat("body { color: teal; margin: 0 auto; }\n", 100)
	fsys := fstest.MapFS{"site.css": {Data: []byte(css), ModTime: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}}
	h := staticRouter(middleware.StaticConfig{FS: fsys}, middleware.Compress(middleware.CompressConfig{}))
	tc := testConn(t, h)
	resp, body := serveTC(t, tc, get("/static/site.css", "Accept-Encoding: gzip"))
	etag := resp.Header.Get("ETag")
	if resp.Header.Get("Content-Encoding") != "gzip" || !strings.HasPrefix(etag, `W/"`) || string(decode(t, "gzip", []byte(body))) != css {
		t.Fatalf("Content-Encoding %q, ETag %q", resp.Header.Get("Content-Encoding"), etag)
	}
	if resp.Header.Get("Accept-Ranges") != "" {
		t.Error("Accept-Ranges on a compressed body")
	}
	resp, _ = serveTC(t, tc, get("/static/site.css", "Accept-Encoding: gzip", "If-None-Match: "+etag))
	if resp.StatusCode != 304 {
		t.Fatalf("revalidation with the weak ETag: %d", resp.StatusCode)
	}
}

func TestStaticConfigPanics(t *testing.T) {
	tests := []struct {
		name  string
		cfg   middleware.StaticConfig
		field string
	}{
		{"nothing to serve", middleware.StaticConfig{}, "StaticConfig.FS"},
		{"both", middleware.StaticConfig{FS: fstest.MapFS{}, Dir: "."}, "StaticConfig.Dir"},
		{"missing dir", middleware.StaticConfig{Dir: "/nonexistent/weft"}, "StaticConfig.Dir"},
		{"index with a slash", middleware.StaticConfig{FS: fstest.MapFS{}, Index: "a/b.html"}, "StaticConfig.Index"},
		{"negative size", middleware.StaticConfig{FS: fstest.MapFS{}, MaxFileSize: -1}, "StaticConfig.MaxFileSize"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			expectPanic(t, tt.field, func() { middleware.Static(tt.cfg) })
		})
	}
}

func ExampleStatic() {
	site := fstest.MapFS{ // an embed.FS in a real program
		"index.html": {Data: []byte("<h1>weft</h1>")},
	}
	r := router.New()
	r.GET("/static/*path", middleware.Static(middleware.StaticConfig{FS: site}))

	tc, _ := net.NewTestConn(&net.Server{Handler: r.Serve})
	defer tc.Close()
	out, _ := tc.Serve([]byte("GET /static/ HTTP/1.1\r\nHost: x\r\n\r\n"), time.Second)
	resp, _ := http.ReadResponse(bufioReader(out), nil)
	fmt.Println(resp.StatusCode, resp.Header.Get("Content-Type"))
	// Output: 200 text/html; charset=utf-8
}

func BenchmarkStatic(b *testing.B) {
	page := bytes.Repeat([]byte("<p>weft</p>\n"), 100)
	fsys := fstest.MapFS{"page.html": {Data: page, ModTime: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}}
	etag := `"4b0-` + strconv.FormatInt(fsys["page.html"].ModTime.UnixNano(), 16) + `"`
	for _, bm := range []struct {
		name string
		h    net.Handler
		req  string
	}{
		{"bare", func(c *net.Ctx) net.Result { return c.Send(200, "text/html; charset=utf-8", page) }, get("/static/page.html")},
		{"cached", middleware.Static(middleware.StaticConfig{FS: fsys, CacheBytes: 1 << 20}), get("/static/page.html")},
		{"cached/304", middleware.Static(middleware.StaticConfig{FS: fsys, CacheBytes: 1 << 20}), get("/static/page.html", "If-None-Match: "+etag)},
		{"blocking", middleware.Static(middleware.StaticConfig{FS: fsys}), get("/static/page.html")},
	} {
		b.Run(bm.name, func(b *testing.B) {
			r := router.New()
			r.GET("/static/*path", bm.h)
			tc := testConn(b, r.Serve)
			req := []byte(bm.req)
			if _, err := tc.Serve([]byte(get("/static/page.html")), time.Second); err != nil { // fills the cache
				b.Fatal(err)
			}
			out, err := tc.Serve(req, time.Second)
			if err != nil || (!bytes.HasPrefix(out, []byte("HTTP/1.1 200")) && !bytes.HasPrefix(out, []byte("HTTP/1.1 304"))) {
				b.Fatalf("%v: %.40q", err, out)
			}
			if strings.Contains(bm.name, "304") != bytes.HasPrefix(out, []byte("HTTP/1.1 304")) {
				b.Fatalf("unexpected %.40q", out)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := tc.Serve(req, time.Second); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
