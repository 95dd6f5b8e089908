package middleware

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"io/fs"
	"mime"
	"net/http"
	"net/url"
	"os"
	"path"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/weftgo/weft/net"
	"github.com/weftgo/weft/net/httpfile"
	"github.com/weftgo/weft/runtime"
)

// StaticConfig configures Static. Set FS or Dir; every other field has a
// documented default.
type StaticConfig struct {
	// FS is the file tree to serve, such as an embed.FS (fs.Sub it to the
	// folder to serve). With os.DirFS, symbolic links are followed even
	// out of the directory: prefer Dir for a directory on disk.
	FS fs.FS

	// Dir is a directory on disk to serve, opened once with os.OpenRoot:
	// no path, symbolic link or ".." inside it can reach a file outside
	// it. Static panics if it cannot be opened. The directory's file
	// descriptor stays open for the life of the process.
	Dir string

	// Param is the name of the route's catch-all parameter that holds the
	// file's path: "path" for r.GET("/static/*path", Static(cfg)).
	// If the route has no parameter of that name, the whole request path
	// is the file's path (a Static handler serving a whole server).
	// Default "path".
	Param string

	// Index is the file served for a request for a directory (its path
	// ending in '/'). Default "index.html". A directory without it is
	// 404: Static never lists directories.
	Index string

	// Dotfiles, when true, serves files and directories whose name
	// starts with '.'. Default false: they are 404 (.git, .env), as
	// Express's serve-static does.
	Dotfiles bool

	// MaxFileSize is the largest response body Static reads into memory
	// and sends from a buffer; a larger file (or range) is streamed with
	// Ctx.SendReader, read off the loop 64 KiB at a time, so any size is
	// served in bounded memory. Default 64 MiB.
	MaxFileSize int64

	// CacheControl, if set, is sent as the Cache-Control of every file
	// (for instance "public, max-age=3600"). Default: none.
	CacheControl string

	// CacheBytes, if positive, keeps up to that many bytes of small files
	// (each at most CacheFileMax) in memory once read, and serves them on
	// the loop with no file I/O at all. Cached files are assumed not to
	// change while the server runs: use it for an embed.FS or a build
	// output directory. Nothing is evicted; files beyond the budget are
	// read from the FS each time. Default 0: no cache.
	CacheBytes int64
	// CacheFileMax is the largest file the cache keeps. Default 64 KiB.
	CacheFileMax int64
}

// Static returns a handler that serves the files of cfg.FS or cfg.Dir
// for GET and HEAD; mount it under a catch-all route:
//
//	r.GET("/static/*path", middleware.Static(middleware.StaticConfig{Dir: "public"}))
//
// It sets Content-Type (from the extension, else sniffed from the first
// bytes by http.DetectContentType), ETag (size and modification time, or a
// hash of the content when the FS has no times, as embed.FS),
// Last-Modified, Accept-Ranges and Cache-Control (if configured), and
// answers:
//
//   - 304 to If-None-Match or If-Modified-Since that still hold, 412 to
//     If-Match or If-Unmodified-Since that fail (RFC 9110 §13.2.2 order);
//   - 206 with Content-Range to a single byte range (If-Range honoured),
//     416 to an unsatisfiable one; a request for several ranges gets the
//     whole file (200), which RFC 9110 §14.2 allows, rather than
//     multipart/byteranges;
//   - 301 to a directory without its trailing slash (a relative Location,
//     so it cannot redirect off-site), its Index file with it;
//   - 400 to a path with "..", NUL, a backslash or a bad percent-escape
//     (after decoding: "%2e%2e" and "%5c" count), 404 to a missing file,
//     a dotfile, or a symbolic link out of Dir, 405 with Allow to
//     methods other than GET and HEAD. Files over MaxFileSize are
//     streamed, whatever their size.
//
// Files are opened and read off the loop with runtime.Blocking (file I/O
// blocks), except cached ones. A HEAD request reads the file as GET does,
// since the server computes Content-Length from the body.
//
// Static panics on an invalid config. The handler runs on the loop and is
// safe for concurrent use by every loop.
func Static(cfg StaticConfig) net.Handler {
	s := newStatic(cfg)
	return s.serve
}

// static is Static's state: configuration, read-only once made, and the
// cache and ETag memo, safe for concurrent use.
type static struct {
	fsys         fs.FS
	param        string
	index        string
	dotfiles     bool
	maxSize      int64
	cacheControl string
	cacheMax     int64
	cacheFileMax int64

	cacheUsed atomic.Int64
	cache     sync.Map // clean request name (+"/" for a directory) -> *staticFile
	hashes    sync.Map // name -> hashETag, for FSs without modification times
}

func newStatic(cfg StaticConfig) *static {
	s := &static{
		fsys:         cfg.FS,
		param:        cfg.Param,
		index:        cfg.Index,
		dotfiles:     cfg.Dotfiles,
		maxSize:      cfg.MaxFileSize,
		cacheControl: cfg.CacheControl,
		cacheMax:     cfg.CacheBytes,
		cacheFileMax: cfg.CacheFileMax,
	}
	switch {
	case cfg.FS != nil && cfg.Dir != "":
		panic("middleware.Static: StaticConfig.FS and StaticConfig.Dir are both set; set one")
	case cfg.Dir != "":
		root, err := os.OpenRoot(cfg.Dir)
		if err != nil {
			panic(fmt.Sprintf("middleware.Static: StaticConfig.Dir: %v", err))
		}
		s.fsys = root.FS()
	case cfg.FS == nil:
		panic("middleware.Static: StaticConfig.FS or StaticConfig.Dir must be set")
	}
	if s.param == "" {
		s.param = "path"
	}
	if s.index == "" {
		s.index = "index.html"
	}
	if strings.ContainsAny(s.index, "/\\\x00") || s.index == "." || s.index == ".." {
		panic(fmt.Sprintf("middleware.Static: StaticConfig.Index is %q, want a file name", s.index))
	}
	if s.maxSize < 0 || s.cacheMax < 0 || s.cacheFileMax < 0 {
		panic(fmt.Sprintf("middleware.Static: StaticConfig.MaxFileSize (%d), CacheBytes (%d) and CacheFileMax (%d) must not be negative",
			s.maxSize, s.cacheMax, s.cacheFileMax))
	}
	if s.maxSize == 0 {
		s.maxSize = 64 << 20
	}
	if s.cacheFileMax == 0 {
		s.cacheFileMax = 64 << 10
	}
	return s
}

// staticRequest is what the off-loop part needs of the request: values,
// never the Ctx.
type staticRequest struct {
	name  string // clean, slash-separated, relative to the root ("." for it)
	dir   bool   // the path ended in '/' (or was empty)
	base  string // the last segment as sent, for a redirect
	query string
	cond  httpfile.Request
}

// staticFile is a file as read, or as the cache holds it.
type staticFile struct {
	data    []byte // whole file, or the range asked for
	size    int64  // the whole file's size
	etag    string
	modTime time.Time
	lastMod string // modTime as an HTTP date; "" without one
	ctype   string
}

// staticAnswer is the outcome of the off-loop part, applied on the loop.
type staticAnswer struct {
	status       int
	location     string // for a redirect
	file         *staticFile
	contentRange string
	body         []byte
	stream       io.ReadCloser // a file too large to read whole, from the range's start
	length       int64         // bytes of stream to send
}

func (s *static) serve(c *net.Ctx) net.Result {
	method := c.Method()
	if method != "GET" && method != "HEAD" {
		c.SetHeader("Allow", "GET, HEAD")
		return c.Text(net.StatusMethodNotAllowed, net.StatusText(net.StatusMethodNotAllowed))
	}
	raw := c.Path()
	if hasParam(c, s.param) {
		raw = c.Params().Get(s.param)
	}
	req, ok := s.parsePath(raw)
	if !ok {
		return c.Text(net.StatusBadRequest, net.StatusText(net.StatusBadRequest))
	}
	if req.name == "" {
		return c.Text(net.StatusNotFound, net.StatusText(net.StatusNotFound))
	}
	req.query = c.RawQuery()
	req.cond = httpfile.Request{
		Get:      method == "GET",
		IfMatch:  c.Header("If-Match"),
		IfNone:   c.Header("If-None-Match"),
		IfModSnc: c.Header("If-Modified-Since"),
		IfUnmod:  c.Header("If-Unmodified-Since"),
		Range:    c.Header("Range"),
		IfRange:  c.Header("If-Range"),
	}

	if s.cacheMax > 0 {
		if f, ok := s.cache.Load(req.cacheKey()); ok {
			return s.respond(c, s.answer(&req, f.(*staticFile)))
		}
	}
	return s.serveOffLoop(c, req)
}

// serveOffLoop opens and reads the file on a Blocking goroutine and
// responds back on the loop. req is a copy, so that only this path
// allocates it.
func (s *static) serveOffLoop(c *net.Ctx, req staticRequest) net.Result {
	ans := runtime.Blocking(c, func(context.Context) (staticAnswer, error) {
		return s.open(&req), nil
	})
	return runtime.Then(c, ans, func(a staticAnswer) net.Result {
		return s.respond(c, a)
	})
}

func hasParam(c *net.Ctx, name string) bool {
	for _, n := range c.Params().Names {
		if n == name {
			return true
		}
	}
	return false
}

func (r *staticRequest) cacheKey() string {
	if r.dir {
		return r.name + "/"
	}
	return r.name
}

// parsePath decodes and checks a request path. ok is false for a path that
// is malformed or tries to leave the root; name is "" for one that names a
// dotfile (when those are hidden).
func (s *static) parsePath(raw string) (staticRequest, bool) {
	var req staticRequest
	req.dir = raw == "" || strings.HasSuffix(raw, "/")
	trimmed := strings.TrimSuffix(raw, "/")
	req.base = trimmed[strings.LastIndexByte(trimmed, '/')+1:]
	p := raw
	if strings.IndexByte(p, '%') >= 0 {
		var err error
		if p, err = url.PathUnescape(p); err != nil {
			return req, false
		}
	}
	if strings.ContainsAny(p, "\\\x00") || !utf8.ValidString(p) {
		return req, false
	}
	for seg := range strings.SplitSeq(p, "/") {
		if seg == ".." {
			return req, false
		}
		if !s.dotfiles && len(seg) > 1 && seg[0] == '.' {
			return req, true // name "": 404
		}
	}
	name := p
	if !fs.ValidPath(name) { // "", "a/", "/a", "a//b", "./a": clean it (allocates)
		name = strings.TrimPrefix(path.Clean("/"+p), "/")
		if name == "" {
			name = "."
		}
		if !fs.ValidPath(name) {
			return req, false
		}
	}
	req.name = name
	return req, true
}

// open finds, checks and reads the file for req. It runs off the loop.
func (s *static) open(req *staticRequest) staticAnswer {
	name := req.name
	f, info, err := s.openFile(name)
	if err != nil {
		return errorAnswer(err)
	}
	if info.IsDir() {
		f.Close()
		if !req.dir {
			return staticAnswer{status: net.StatusMovedPermanently, location: "./" + req.base + "/" + querySuffix(req.query)}
		}
		name = path.Join(name, s.index)
		if f, info, err = s.openFile(name); err != nil {
			return errorAnswer(err)
		}
		if info.IsDir() {
			f.Close()
			return staticAnswer{status: net.StatusNotFound}
		}
	} else if req.dir {
		f.Close()
		return staticAnswer{status: net.StatusNotFound}
	}
	kept := false // f goes on to be streamed
	defer func() {
		if !kept {
			f.Close()
		}
	}()
	if !info.Mode().IsRegular() {
		return staticAnswer{status: net.StatusNotFound}
	}

	file := &staticFile{size: info.Size(), modTime: info.ModTime()}
	if !file.modTime.IsZero() {
		file.lastMod = file.modTime.UTC().Format(http.TimeFormat)
		file.etag = `"` + strconv.FormatInt(file.size, 16) + "-" + strconv.FormatInt(file.modTime.UnixNano(), 16) + `"`
	} else if file.etag, err = s.hashETag(name, f, file.size); err != nil {
		return errorAnswer(err)
	}
	if a, done := preconditions(req, file); done {
		return a
	}
	start, length, status := chooseRange(req, file)
	if status != net.StatusOK && status != net.StatusPartialContent {
		return refusal(status, file)
	}
	if length > s.maxSize {
		// Too large to read whole: streamed, one chunk at a time.
		kept = true
		return s.streamAnswer(name, f, file, start, length, status)
	}
	if file.data, err = readRange(f, start, length); err != nil {
		return errorAnswer(err)
	}
	file.ctype = mime.TypeByExtension(path.Ext(name))
	if file.ctype == "" {
		head := file.data
		if start != 0 {
			head = make([]byte, min(512, file.size))
			n, _ := readAt(f, head, 0)
			head = head[:n]
		}
		file.ctype = http.DetectContentType(head)
	}
	a := staticAnswer{status: status, file: file, body: file.data}
	if status == net.StatusPartialContent {
		a.contentRange = httpfile.ContentRange(start, length, file.size)
	} else if s.cacheMax > 0 && file.size <= s.cacheFileMax {
		s.store(req.cacheKey(), file)
	}
	return a
}

// streamAnswer prepares f (which it keeps open, or closes on failure) to
// be streamed from start for length bytes.
func (s *static) streamAnswer(name string, f fs.File, file *staticFile, start, length int64, status int) (a staticAnswer) {
	keep := false
	defer func() {
		if !keep {
			f.Close()
		}
	}()
	var body io.Reader = f
	file.ctype = mime.TypeByExtension(path.Ext(name))
	if file.ctype == "" {
		head := make([]byte, 512)
		n, err := io.ReadFull(f, head)
		if err != nil && err != io.ErrUnexpectedEOF {
			return errorAnswer(err)
		}
		head = head[:n]
		file.ctype = http.DetectContentType(head)
		if start < int64(n) {
			// The range starts inside the sniffed bytes: they are
			// the body's first, and f is past them.
			body = io.MultiReader(bytes.NewReader(head[start:]), f)
		} else if sk, ok := f.(io.Seeker); ok {
			if _, err := sk.Seek(start, io.SeekStart); err != nil {
				return errorAnswer(err)
			}
		} else if _, err := io.CopyN(io.Discard, f, start-int64(n)); err != nil {
			return errorAnswer(err)
		}
	} else if start != 0 {
		if sk, ok := f.(io.Seeker); ok {
			if _, err := sk.Seek(start, io.SeekStart); err != nil {
				return errorAnswer(err)
			}
		} else if _, err := io.CopyN(io.Discard, f, start); err != nil {
			return errorAnswer(err)
		}
	}
	keep = true
	a = staticAnswer{status: status, file: file, stream: readCloser{io.LimitReader(body, length), f}, length: length}
	if status == net.StatusPartialContent {
		a.contentRange = httpfile.ContentRange(start, length, file.size)
	}
	return a
}

// readCloser reads from one reader and closes another (the file under a
// LimitReader).
type readCloser struct {
	io.Reader
	io.Closer
}

// preconditions evaluates the conditional headers (RFC 9110 §13.2.2) and
// reports whether they decide the answer.
func preconditions(req *staticRequest, file *staticFile) (staticAnswer, bool) {
	switch httpfile.Preconditions(&req.cond, &httpfile.File{Size: file.size, ModTime: file.modTime, ETag: file.etag}) {
	case net.StatusPreconditionFailed:
		return staticAnswer{status: net.StatusPreconditionFailed}, true
	case net.StatusNotModified:
		return staticAnswer{status: net.StatusNotModified, file: file}, true
	}
	return staticAnswer{}, false
}

// chooseRange decides what part of the file to send: the whole (200), one
// range (206) or none (416).
func chooseRange(req *staticRequest, file *staticFile) (start, length int64, status int) {
	return httpfile.ChooseRange(&req.cond, &httpfile.File{Size: file.size, ModTime: file.modTime, ETag: file.etag})
}

func (s *static) openFile(name string) (fs.File, fs.FileInfo, error) {
	f, err := s.fsys.Open(name)
	if err != nil {
		return nil, nil, err
	}
	info, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return f, info, nil
}

func (s *static) store(key string, f *staticFile) {
	if s.cacheUsed.Add(f.size) > s.cacheMax {
		s.cacheUsed.Add(-f.size)
		return
	}
	if _, loaded := s.cache.LoadOrStore(key, f); loaded {
		s.cacheUsed.Add(-f.size)
	}
}

// answer evaluates a request against a cached file, on the loop.
func (s *static) answer(req *staticRequest, file *staticFile) staticAnswer {
	if a, done := preconditions(req, file); done {
		return a
	}
	start, length, status := chooseRange(req, file)
	switch status {
	case net.StatusOK:
		return staticAnswer{status: status, file: file, body: file.data}
	case net.StatusPartialContent:
		return staticAnswer{status: status, file: file, body: file.data[start : start+length],
			contentRange: httpfile.ContentRange(start, length, file.size)}
	}
	return refusal(status, file)
}

// refusal is the answer to a range that cannot be satisfied (416, with
// the size in Content-Range).
func refusal(status int, file *staticFile) staticAnswer {
	a := staticAnswer{status: status, file: file}
	if status == net.StatusRangeNotSatisfiable {
		a.contentRange = httpfile.ContentRange(0, 0, file.size)
	}
	return a
}

// hashETag returns a strong ETag from the content, for FSs without
// modification times; it is computed once per file and size.
func (s *static) hashETag(name string, f fs.File, size int64) (string, error) {
	type memo struct {
		size int64
		etag string
	}
	if m, ok := s.hashes.Load(name); ok && m.(memo).size == size {
		return m.(memo).etag, nil
	}
	h := fnv.New64a()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	if sk, ok := f.(io.Seeker); !ok {
		return "", errors.New("weft/middleware: Static: file cannot seek back after hashing")
	} else if _, err := sk.Seek(0, io.SeekStart); err != nil {
		return "", err
	}
	etag := `"` + strconv.FormatUint(h.Sum64(), 16) + `"`
	s.hashes.Store(name, memo{size, etag})
	return etag, nil
}

// respond builds the response of a, on the loop.
func (s *static) respond(c *net.Ctx, a staticAnswer) net.Result {
	if a.status == net.StatusMovedPermanently {
		return c.Redirect(a.status, a.location)
	}
	if f := a.file; f != nil {
		c.SetHeader("ETag", f.etag)
		if f.lastMod != "" {
			c.SetHeader("Last-Modified", f.lastMod)
		}
		if s.cacheControl != "" {
			c.SetHeader("Cache-Control", s.cacheControl)
		}
		c.SetHeader("Accept-Ranges", "bytes")
	}
	if a.contentRange != "" {
		c.SetHeader("Content-Range", a.contentRange)
	}
	switch {
	case a.stream != nil:
		return c.SendReader(a.status, a.file.ctype, a.stream, a.length)
	case a.status == net.StatusOK, a.status == net.StatusPartialContent:
		return c.Send(a.status, a.file.ctype, a.body)
	case a.status == net.StatusNotModified:
		return c.NoContent(a.status)
	}
	return c.Text(a.status, net.StatusText(a.status))
}

// errorAnswer maps an FS error to a status: 404 for anything that means
// "no such file here" (including a path escaping an os.Root, or a symlink
// loop), 403 for permissions, 500 otherwise.
func errorAnswer(err error) staticAnswer {
	var errno syscall.Errno
	switch {
	case errors.Is(err, fs.ErrNotExist), errors.Is(err, fs.ErrInvalid),
		errors.Is(err, syscall.ENOTDIR), errors.Is(err, syscall.ELOOP), errors.Is(err, syscall.ENAMETOOLONG):
		return staticAnswer{status: net.StatusNotFound}
	case errors.Is(err, fs.ErrPermission):
		return staticAnswer{status: net.StatusForbidden}
	case !errors.As(err, &errno):
		// Not an operating-system error: os.Root refusing a path that
		// escapes it ("path escapes from parent").
		return staticAnswer{status: net.StatusNotFound}
	}
	return staticAnswer{status: net.StatusInternalServerError}
}

func querySuffix(q string) string {
	if q == "" {
		return ""
	}
	return "?" + q
}

// readRange reads length bytes of f from start.
func readRange(f fs.File, start, length int64) ([]byte, error) {
	buf := make([]byte, length)
	if start != 0 {
		if sk, ok := f.(io.Seeker); ok {
			if _, err := sk.Seek(start, io.SeekStart); err != nil {
				return nil, err
			}
		} else if _, err := io.CopyN(io.Discard, f, start); err != nil {
			return nil, err
		}
	}
	if _, err := io.ReadFull(f, buf); err != nil {
		return nil, err // the file shrank while being read
	}
	return buf, nil
}

func readAt(f fs.File, p []byte, off int64) (int, error) {
	if ra, ok := f.(io.ReaderAt); ok {
		return ra.ReadAt(p, off)
	}
	return 0, errors.ErrUnsupported
}
