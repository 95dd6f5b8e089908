package middleware

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zlib"
	"github.com/klauspost/compress/zstd"

	"github.com/weftgo/weft/net"
	"github.com/weftgo/weft/offload"
	"github.com/weftgo/weft/runtime"
)

// CompressConfig configures Compress. The zero value is ready to use: every
// field has a documented default.
type CompressConfig struct {
	// Encodings lists the content codings offered, most preferred first,
	// among "zstd", "gzip" and "deflate" (zlib, as HTTP's "deflate"
	// means). The client's q-values decide; on a tie the earlier one
	// here wins. Default: zstd, gzip, deflate.
	Encodings []string

	// Level is the gzip and deflate level, 1 (fastest) to 9 (smallest).
	// Default 5, klauspost/compress's default: within 5% of level 9's
	// size at about twice its speed. zstd always uses its default level
	// (zstd.SpeedDefault, about zstd -3).
	Level int

	// MinSize is the smallest body worth compressing; smaller ones are
	// sent as they are. Default 1 KiB (below that the codec's framing
	// eats most of the gain). Negative: compress every non-empty body.
	MinSize int

	// Types lists the media types to compress. An entry is an exact type
	// ("application/json"), a whole top-level type ("text/*"), or a
	// structured-syntax suffix ("+json", matching
	// "application/ld+json"). Parameters and case are ignored. Default:
	// text/*, application/json, +json, application/x-ndjson,
	// application/javascript, application/x-javascript,
	// application/ecmascript, application/xml, +xml, image/svg+xml,
	// application/wasm, application/yaml, application/x-yaml,
	// application/toml, font/ttf, font/otf, application/vnd.ms-fontobject.
	Types []string

	// OffloadAbove is the body size from which compression runs off the
	// loop: on Pool if set, else on a goroutine of its own
	// (runtime.Blocking). Smaller bodies are compressed on the loop.
	// Default 16 KiB: gzip at level 5 costs about 4 µs per KiB here, so
	// 16 KiB holds the loop some 60 µs, ten times an offload round trip
	// (see docs/middleware.md). Negative: always on the loop.
	OffloadAbove int

	// Pool runs the compression of large bodies. Without it they run on
	// runtime.Blocking goroutines: the loop stays free, but nothing
	// bounds how many compress at once. A full pool queue is no error:
	// the body is then sent uncompressed.
	Pool *offload.Pool
}

// defaultCompressTypes are the media types Compress compresses by default:
// text, and the structured formats that are text underneath.
func defaultCompressTypes() []string {
	return []string{
		"text/*",
		"application/json", "+json", "application/x-ndjson",
		"application/javascript", "application/x-javascript", "application/ecmascript",
		"application/xml", "+xml",
		"image/svg+xml",
		"application/wasm",
		"application/x-yaml", "application/yaml", "application/toml",
		"font/ttf", "font/otf", "application/vnd.ms-fontobject",
	}
}

// Compress returns middleware that compresses response bodies with zstd,
// gzip or deflate, as the request's Accept-Encoding allows (RFC 9110
// §12.5.3, q-values included), using github.com/klauspost/compress.
//
// A response is compressed when its status allows a body (and is not 206),
// it has no Content-Encoding yet, its Content-Type is one of Types, its
// Cache-Control does not say no-transform, and its body is at least MinSize.
// Such a response gets "Vary: Accept-Encoding" whether or not this request
// accepts a coding. When it is compressed, Content-Encoding is set, a strong
// ETag becomes weak (W/"..."), Accept-Ranges is removed (ranges would apply
// to the uncompressed bytes), and the server computes Content-Length from
// the compressed body. A HEAD request gets the same headers as a GET: its
// body is compressed too, then not sent.
//
// Without an Accept-Encoding header, or with one that accepts none of
// Encodings, the body is sent as it is (identity), even if the header
// refuses identity: a 406 helps no client.
//
// Bodies of at least OffloadAbove bytes are compressed off the loop (see
// CompressConfig.OffloadAbove); the rest on the loop, with pooled encoders
// that allocate nothing per request once warm. Error responses made by the
// server's error handler are not compressed: Compress sees only what the
// handler built.
//
// Compress panics on an invalid config. The middleware runs on the loop
// and is safe for concurrent use by every loop.
func Compress(cfg CompressConfig) net.Middleware {
	return newCompressor(cfg).middleware
}

// middleware is Compress's net.Middleware.
func (m *compressor) middleware(next net.Handler) net.Handler {
	return func(c *net.Ctx) net.Result {
		c.OnStream(m.streamHook) // streamed bodies are encoded as they go
		res := next(c)
		if res.Ready() {
			if _, err := res.Get(); err != nil {
				return res
			}
			return m.compressOnLoop(c)
		}
		return runtime.Then(c, res, func(struct{}) net.Result {
			return m.compressOnLoop(c)
		})
	}
}

// coding is a content coding Compress can produce.
type coding uint8

const (
	identity coding = iota
	codingZstd
	codingGzip
	codingDeflate
	numCodings
)

var codingNames = [numCodings]string{"identity", "zstd", "gzip", "deflate"}

func (cd coding) String() string { return codingNames[cd] }

// compressor is Compress's state, shared by every loop. Its pools are safe
// for concurrent use; everything else is read-only after construction.
type compressor struct {
	offer        []coding // preference order
	minSize      int
	offloadAbove int // < 0: never
	types        mediaTypes
	pool         *offload.Pool
	encoders     [numCodings]sync.Pool // of encoder
	copies       sync.Pool             // of *[]byte: bodies copied for off-loop jobs
	streamers    [numCodings]sync.Pool // of *streamingEncoder, for streamed bodies
	streamHook   func(*net.Ctx, io.Writer) net.StreamEncoder
}

func newCompressor(cfg CompressConfig) *compressor {
	m := &compressor{minSize: cfg.MinSize, offloadAbove: cfg.OffloadAbove, pool: cfg.Pool}
	level := cfg.Level
	switch {
	case level == 0:
		level = 5
	case level < 1 || level > 9:
		panic(fmt.Sprintf("middleware.Compress: CompressConfig.Level is %d, want 1 to 9 (0: the default, 5)", cfg.Level))
	}
	if m.minSize == 0 {
		m.minSize = 1 << 10
	}
	m.minSize = max(m.minSize, 1)
	if m.offloadAbove == 0 {
		m.offloadAbove = 16 << 10
	}
	encs := cfg.Encodings
	if encs == nil {
		encs = []string{"zstd", "gzip", "deflate"}
	}
	if len(encs) == 0 {
		panic("middleware.Compress: CompressConfig.Encodings is empty; leave it nil for the default (zstd, gzip, deflate)")
	}
	for _, name := range encs {
		cd := codingByName(name)
		if cd == identity || name != cd.String() {
			panic(fmt.Sprintf("middleware.Compress: CompressConfig.Encodings has %q; want zstd, gzip or deflate", name))
		}
		if slices.Contains(m.offer, cd) {
			panic(fmt.Sprintf("middleware.Compress: CompressConfig.Encodings lists %q twice", name))
		}
		m.offer = append(m.offer, cd)
	}
	types := cfg.Types
	if types == nil {
		types = defaultCompressTypes()
	}
	var err error
	if m.types, err = parseMediaTypes(types); err != nil {
		panic("middleware.Compress: CompressConfig.Types: " + err.Error())
	}
	m.encoders[codingGzip].New = func() any {
		w, _ := gzip.NewWriterLevel(nil, level) // level is valid
		return &streamEncoder{w: w}
	}
	m.encoders[codingDeflate].New = func() any {
		w, _ := zlib.NewWriterLevel(nil, level)
		return &streamEncoder{w: w}
	}
	m.encoders[codingZstd].New = func() any {
		// One encoder per pooled object, never shared: a shared
		// Encoder's EncodeAll waits for a free internal encoder, which
		// would block a loop behind off-loop jobs.
		enc, err := zstd.NewWriter(nil, zstd.WithEncoderConcurrency(1), zstd.WithLowerEncoderMem(true))
		if err != nil {
			panic(err) // only for invalid options, which are constant here
		}
		return &zstdEncoder{enc: enc}
	}
	for cd := codingZstd; cd < numCodings; cd++ {
		m.streamers[cd].New = func() any {
			e := &streamingEncoder{pool: &m.streamers[cd]}
			switch cd {
			case codingGzip:
				e.w, _ = gzip.NewWriterLevel(io.Discard, level)
			case codingDeflate:
				e.w, _ = zlib.NewWriterLevel(io.Discard, level)
			default:
				e.w, _ = zstd.NewWriter(io.Discard, zstd.WithEncoderConcurrency(1), zstd.WithLowerEncoderMem(true))
			}
			return e
		}
	}
	m.streamHook = m.onStream
	return m
}

// onStream is Compress's net.OnStream hook: it encodes a streamed body
// chunk by chunk, on the loop, when the response qualifies (its size is
// unknown, so MinSize does not apply).
func (m *compressor) onStream(c *net.Ctx, w io.Writer) net.StreamEncoder {
	if !m.eligible(c, m.minSize) {
		return nil
	}
	if c.ResponseHeader("Vary") != "*" {
		addVary(c, "Accept-Encoding")
	}
	cd := m.negotiate(c.Header("Accept-Encoding"))
	if cd == identity {
		return nil
	}
	m.setEncodedOnLoop(c, cd, nil)
	e := m.streamers[cd].Get().(*streamingEncoder)
	e.w.Reset(w)
	e.open = true
	return e
}

// streamingEncoder is a pooled codec encoding one streamed body. Loop-only
// between Get and Close.
type streamingEncoder struct {
	w interface {
		io.WriteCloser
		Flush() error
		Reset(io.Writer)
	}
	pool *sync.Pool
	open bool // handed out by onStream, not yet closed
}

func (e *streamingEncoder) Write(p []byte) (int, error) { return e.w.Write(p) }
func (e *streamingEncoder) Flush() error                { return e.w.Flush() }

// Close ends the coding and puts the codec back in its pool. Closing it
// again does nothing: a second Put would hand one codec to two streams.
func (e *streamingEncoder) Close() error {
	if !e.open {
		return nil
	}
	e.open = false
	err := e.w.Close()
	e.w.Reset(io.Discard) // forget the stream
	e.pool.Put(e)
	return err
}

// codingByName maps a content-coding token (case-insensitive) to a coding;
// "x-gzip" is gzip (RFC 9110 §8.4.1.3). Unknown names are identity.
func codingByName(name string) coding {
	for cd := codingZstd; cd < numCodings; cd++ {
		if strings.EqualFold(name, codingNames[cd]) {
			return cd
		}
	}
	if strings.EqualFold(name, "x-gzip") {
		return codingGzip
	}
	return identity
}

// compressOnLoop compresses the response c's handler built, if it should.
func (m *compressor) compressOnLoop(c *net.Ctx) net.Result {
	body := c.ResponseBody()
	if !m.eligible(c, len(body)) {
		return net.Done()
	}
	if c.ResponseHeader("Vary") != "*" {
		addVary(c, "Accept-Encoding")
	}
	cd := m.negotiate(c.Header("Accept-Encoding"))
	if cd == identity {
		return net.Done()
	}
	if m.offloadAbove >= 0 && len(body) >= m.offloadAbove {
		return m.compressOffLoop(c, cd, body)
	}
	e := m.encoders[cd].Get().(encoder)
	out := e.encode(body)
	m.setEncodedOnLoop(c, cd, nil)
	_, _ = c.Write(out) // copies into the Ctx's own buffer; never fails before the response is final
	e.release()
	m.encoders[cd].Put(e)
	return net.Done()
}

// eligible reports whether c's response may be compressed.
func (m *compressor) eligible(c *net.Ctx, size int) bool {
	status := c.StatusCode()
	return size >= m.minSize &&
		status >= 200 && status != net.StatusNoContent && status != net.StatusPartialContent &&
		status != net.StatusNotModified &&
		c.ResponseHeader("Content-Encoding") == "" &&
		m.types.match(c.ResponseHeader("Content-Type")) &&
		!hasToken(c.ResponseHeader("Cache-Control"), "no-transform")
}

// compressOffLoop compresses body on the pool (or a Blocking goroutine) and
// sets the result on the loop. The body is copied first: it may be the
// Ctx's own buffer, which an error handler answering a timeout would
// overwrite while the job reads it.
func (m *compressor) compressOffLoop(c *net.Ctx, cd coding, body []byte) net.Result {
	src, _ := m.copies.Get().(*[]byte)
	if src == nil {
		src = new([]byte)
	}
	*src = append((*src)[:0], body...)
	job := func(context.Context) ([]byte, error) {
		e := m.encoders[cd].Get().(encoder)
		out := slices.Clone(e.encode(*src))
		e.release()
		m.encoders[cd].Put(e)
		m.putCopy(src)
		return out, nil
	}
	var f runtime.Future[[]byte]
	if m.pool != nil {
		f = offload.Run(c, m.pool, job)
	} else {
		f = runtime.Blocking(c, job)
	}
	return runtime.Then(c, f, func(out []byte) net.Result {
		m.setEncodedOnLoop(c, cd, out)
		return net.Done()
	}).Catch(c, func(err error) net.Result {
		if errors.Is(err, offload.ErrOverloaded) || errors.Is(err, offload.ErrClosed) {
			// The job never ran: keep the loop's promise and send
			// the body as it is.
			m.putCopy(src)
			return net.Done()
		}
		return net.Fail(err)
	})
}

// maxKeptBuffer bounds the buffers the pools keep, so one huge response does
// not pin its memory for good.
const maxKeptBuffer = 256 << 10

func (m *compressor) putCopy(b *[]byte) {
	if cap(*b) <= maxKeptBuffer {
		*b = (*b)[:0]
		m.copies.Put(b)
	}
}

// setEncodedOnLoop marks c's response as encoded with cd and sets its body
// to out.
func (m *compressor) setEncodedOnLoop(c *net.Ctx, cd coding, out []byte) {
	c.SetHeader("Content-Encoding", cd.String())
	if etag := c.ResponseHeader("ETag"); etag != "" && !strings.HasPrefix(etag, "W/") {
		// The compressed bytes differ from those the strong tag names;
		// a weak tag still validates If-None-Match (RFC 9110 §8.8.1).
		c.SetHeader("ETag", "W/"+etag)
	}
	c.DelHeader("Accept-Ranges")
	c.SetResponseBody(out)
}

// negotiate picks the coding for an Accept-Encoding field value: the
// offered coding with the highest q-value, ties going to the offer order;
// identity if none is acceptable. It allocates nothing.
func (m *compressor) negotiate(accept string) coding {
	if accept == "" {
		return identity
	}
	var q [numCodings]int // thousandths; -1: not listed
	for i := range q {
		q[i] = -1
	}
	star := -1
	for elem := range strings.SplitSeq(accept, ",") {
		name, params, _ := strings.Cut(elem, ";")
		name = strings.TrimSpace(name)
		w, ok := qValue(params)
		if !ok || name == "" {
			continue // malformed: ignore the element
		}
		if name == "*" {
			star = w
			continue
		}
		if cd := codingByName(name); cd != identity {
			q[cd] = max(q[cd], w)
		}
	}
	best, bestQ := identity, 0
	for _, cd := range m.offer {
		w := q[cd]
		if w < 0 {
			w = star
		}
		if w > bestQ {
			best, bestQ = cd, w
		}
	}
	return best
}

// qValue parses the parameters of an Accept-Encoding element and returns
// its weight in thousandths (1000 if there is no q). ok is false for a
// malformed weight (RFC 9110 §12.4.2: qvalue = 0[.ddd] / 1[.000]).
func qValue(params string) (int, bool) {
	for p := range strings.SplitSeq(params, ";") {
		k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
		if !strings.EqualFold(strings.TrimSpace(k), "q") {
			continue
		}
		v = strings.TrimSpace(v)
		if v == "" || (v[0] != '0' && v[0] != '1') || len(v) > 5 || (len(v) > 1 && v[1] != '.') {
			return 0, false
		}
		w := int(v[0]-'0') * 1000
		scale := 100
		for i := 2; i < len(v); i++ {
			if v[i] < '0' || v[i] > '9' {
				return 0, false
			}
			w += int(v[i]-'0') * scale
			scale /= 10
		}
		if w > 1000 {
			return 0, false
		}
		return w, true
	}
	return 1000, true
}

// encoder is a pooled codec with its output buffer. Confine to one
// goroutine between Get and Put.
type encoder interface {
	// encode compresses src whole and returns the output, valid until
	// release.
	encode(src []byte) []byte
	// release drops an oversized output buffer before the encoder goes
	// back to its pool.
	release()
}

// sliceWriter is an io.Writer appending to a reused slice.
type sliceWriter struct{ b []byte }

func (w *sliceWriter) Write(p []byte) (int, error) {
	w.b = append(w.b, p...)
	return len(p), nil
}

func (w *sliceWriter) release() {
	if cap(w.b) > maxKeptBuffer {
		w.b = nil
	}
}

// streamEncoder is gzip or zlib: a writer reset onto a reused output
// buffer for each body.
type streamEncoder struct {
	w interface {
		io.WriteCloser
		Reset(io.Writer)
	}
	out sliceWriter
}

func (e *streamEncoder) encode(src []byte) []byte {
	e.out.b = e.out.b[:0]
	e.w.Reset(&e.out)
	_, _ = e.w.Write(src) // a sliceWriter never fails
	_ = e.w.Close()
	return e.out.b
}

func (e *streamEncoder) release() { e.out.release() }

type zstdEncoder struct {
	enc *zstd.Encoder
	out []byte
}

func (e *zstdEncoder) encode(src []byte) []byte {
	e.out = e.enc.EncodeAll(src, e.out[:0])
	return e.out
}

func (e *zstdEncoder) release() {
	if cap(e.out) > maxKeptBuffer {
		e.out = nil
	}
}

// mediaTypes matches a Content-Type against a list of media types.
type mediaTypes struct {
	exact, wholeType, suffix []string // "application/json"; "text/"; "+json"
}

func parseMediaTypes(list []string) (mediaTypes, error) {
	var t mediaTypes
	for _, s := range list {
		s = strings.ToLower(strings.TrimSpace(s))
		switch {
		case strings.HasPrefix(s, "+") && len(s) > 1 && !strings.Contains(s, "/"):
			t.suffix = append(t.suffix, s)
		case strings.HasSuffix(s, "/*") && len(s) > 2 && strings.Count(s, "/") == 1:
			t.wholeType = append(t.wholeType, s[:len(s)-1])
		case strings.Count(s, "/") == 1 && !strings.HasPrefix(s, "/") && !strings.HasSuffix(s, "/") && !strings.ContainsAny(s, "*; "):
			t.exact = append(t.exact, s)
		default:
			return t, fmt.Errorf("%q is not a media type (\"type/subtype\", \"type/*\" or \"+suffix\")", s)
		}
	}
	return t, nil
}

// match reports whether the media type of the Content-Type value ct is
// listed. It allocates nothing.
func (t *mediaTypes) match(ct string) bool {
	mt, _, _ := strings.Cut(ct, ";")
	mt = strings.TrimSpace(mt)
	if mt == "" {
		return false
	}
	for _, e := range t.exact {
		if strings.EqualFold(mt, e) {
			return true
		}
	}
	for _, w := range t.wholeType {
		if len(mt) > len(w) && strings.EqualFold(mt[:len(w)], w) {
			return true
		}
	}
	for _, s := range t.suffix {
		if len(mt) > len(s) && strings.EqualFold(mt[len(mt)-len(s):], s) {
			return true
		}
	}
	return false
}
