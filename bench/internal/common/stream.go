package common

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"strconv"
	"time"
)

// The streaming endpoints of issue 8, the same on every peer that serves
// them:
//
//	GET  /bytes/:n           exactly n bytes, byte i being 'a'+i%26, with
//	                         Content-Length, written as it goes
//	POST /sha256             the hex SHA-256 of the request body, read as a
//	                         stream (Content-Length or chunked, up to 16 GiB)
//	GET  /sse?n=N&every=MS   N events "id: i" / "data: <Unix ns when written>",
//	                         MS ms apart, then the end of the response

// MaxUpload is the largest body POST /sha256 takes.
const MaxUpload = 16 << 30

// patternPeriod is a multiple of 26 near 64 KiB, so that any offset into the
// pattern is a slice of one buffer.
const patternPeriod = 26 * 2520

// pattern holds patternPeriod+patternChunk bytes of 'a'..'z' repeated: a
// write of up to patternChunk bytes starting at byte i of the body is
// pattern[i%26 : i%26+len].
var pattern = func() []byte {
	b := make([]byte, patternPeriod+patternChunk)
	for i := range b {
		b[i] = 'a' + byte(i%26)
	}
	return b
}()

// patternChunk is the size of each write of GET /bytes/:n.
const patternChunk = 64 << 10

// PatternAt returns bytes off..off+n of a /bytes/:n body, n at most
// 64 KiB. The slice is shared: do not modify it.
func PatternAt(off int64, n int) []byte {
	n = min(n, patternChunk)
	start := off % 26
	return pattern[start : start+int64(n)]
}

// WritePattern writes n bytes of the /bytes/:n body to w, in chunks of
// 64 KiB, and returns the first write error.
func WritePattern(w io.Writer, n int64) error {
	var off int64
	for off < n {
		k := min(n-off, patternChunk)
		start := off % 26
		if _, err := w.Write(pattern[start : start+k]); err != nil {
			return err
		}
		off += k
	}
	return nil
}

// PatternReader returns an io.Reader of the first n bytes of the /bytes/:n
// body (the upload clients send the same bytes).
func PatternReader(n int64) io.Reader { return &patternReader{left: n} }

type patternReader struct{ off, left int64 }

func (r *patternReader) Read(p []byte) (int, error) {
	if r.left == 0 {
		return 0, io.EOF
	}
	k := min(int64(len(p)), r.left, patternChunk)
	start := r.off % 26
	copy(p, pattern[start:start+k])
	r.off += k
	r.left -= k
	return int(k), nil
}

// SSEEvent formats one /sse event: "id: i\ndata: <ns>\n\n".
func SSEEvent(dst []byte, id int, unixNano int64) []byte {
	dst = append(dst, "id: "...)
	dst = strconv.AppendInt(dst, int64(id), 10)
	dst = append(dst, "\ndata: "...)
	dst = strconv.AppendInt(dst, unixNano, 10)
	return append(dst, "\n\n"...)
}

// addStreamRoutes adds /bytes/{n}, /sha256 and /sse to mux.
func addStreamRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /bytes/{n}", func(w http.ResponseWriter, r *http.Request) {
		n, err := strconv.ParseInt(r.PathValue("n"), 10, 64)
		if err != nil || n < 0 {
			http.Error(w, "n must be a byte count", http.StatusBadRequest)
			return
		}
		h := w.Header()
		h["Content-Type"] = []string{"application/octet-stream"}
		h["Content-Length"] = []string{strconv.FormatInt(n, 10)}
		WritePattern(w, n) // a write error means the client left
	})
	mux.HandleFunc("POST /sha256", func(w http.ResponseWriter, r *http.Request) {
		sum := sha256.New()
		if _, err := io.Copy(sum, http.MaxBytesReader(w, r.Body, MaxUpload)); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.Header()["Content-Type"] = []string{"text/plain"}
		io.WriteString(w, hex.EncodeToString(sum.Sum(nil)))
	})
	mux.HandleFunc("GET /sse", func(w http.ResponseWriter, r *http.Request) {
		n, err1 := strconv.Atoi(r.URL.Query().Get("n"))
		every, err2 := strconv.Atoi(r.URL.Query().Get("every"))
		if err1 != nil || err2 != nil || n < 0 || every < 0 {
			http.Error(w, "n and every must be non-negative integers", http.StatusBadRequest)
			return
		}
		h := w.Header()
		h["Content-Type"] = []string{"text/event-stream"}
		h["Cache-Control"] = []string{"no-cache"}
		rc := http.NewResponseController(w)
		var buf []byte
		tick := time.NewTicker(time.Duration(max(every, 1)) * time.Millisecond)
		defer tick.Stop()
		for i := range n {
			if i > 0 {
				select {
				case <-tick.C:
				case <-r.Context().Done():
					return
				}
			}
			buf = SSEEvent(buf[:0], i, time.Now().UnixNano())
			if _, err := w.Write(buf); err != nil {
				return
			}
			if err := rc.Flush(); err != nil {
				return
			}
		}
	})
}
