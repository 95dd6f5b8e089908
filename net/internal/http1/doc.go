// Package http1 is weft's HTTP/1.1 request parser: pure functions over
// []byte that find and validate a request head (ParseHead) and a chunked
// body (ChunkScanner, DecodeChunked). It does no I/O, starts no goroutines,
// copies nothing and allocates nothing, on success and on error.
//
// # Strictness
//
// The parser follows RFC 9112 and RFC 9110 and is stricter than net/http and
// Node on purpose: anything that could desynchronize framing between two
// parsers is a 400 and a close. So: CRLF only (a bare LF or CR is an error,
// though RFC 9112 §2.2 would allow a bare LF); exactly one SP between the
// parts of the request line; only HTTP/1.0 and HTTP/1.1 (505 otherwise);
// no obs-fold; no whitespace before a field's colon; exactly one Host in
// HTTP/1.1; one Content-Length of plain digits, never with
// Transfer-Encoding; Transfer-Encoding only "chunked", once and last (501
// for other codings); strict chunk sizes and extensions; framing fields
// neither announced for nor sent in trailers. Every rule carries its RFC
// section in a comment where it is checked, and each returns its own *Error
// sentinel, with the status to answer (400, 413, 414, 417, 431, 501 or
// 505). What net/http accepts and this package rejects is listed, by error,
// in the differential test (stricterThanNetHTTP).
//
// # Zero allocation
//
// Results are Spans, offsets relative to the start of the request, so the
// server may parse in a buffer it does not own (gnet's inbound buffer) and
// resolve the spans later in its own copy of the request's bytes. Errors are
// preallocated package-level values. Request.Headers is appended to, so
// give it a capacity of Limits.MaxHeaders. A test fails on any allocation.
//
// # Use
//
// For each request, call ParseHead over the bytes received so far, from the
// request's first byte. Zero with a nil error means "incomplete": call again
// when more bytes arrive (with the same start; the retry is cheap when no
// line ended in the meantime). Limits are enforced on incomplete input, so
// a client cannot make the server hold more than MaxHeaderBytes for a head.
//
//	var r http1.Request
//	r.Headers = make([]http1.Header, 0, lim.MaxHeaders)
//	r.Reset()
//	n, err := http1.ParseHead(in, &r, &lim)
//	switch {
//	case err != nil: // answer err.(*http1.Error).Status, then close
//	case n == 0:     // wait for more bytes
//	}
//	// the body starts at in[r.HeadLen]:
//	//   r.Chunked:            scan it with a ChunkScanner
//	//   r.ContentLength >= 0: that many bytes
//	//   otherwise:            no body (a request has none by default)
//
// For a chunked body, call Scan over the bytes from the body's first byte
// until it returns end > 0; it resumes where it stopped, never rescanning.
// The request then occupies in[:r.HeadLen+end], and anything after it is the
// next pipelined request. Copy those bytes, then decode the copy in place:
//
//	var cs http1.ChunkScanner
//	end, err := cs.Scan(in[r.HeadLen:], maxBody, &lim)
//	// ... once end > 0, with body := copy of in[r.HeadLen:r.HeadLen+end]:
//	data, trailers, err := http1.DecodeChunked(body, trailers[:0])
//
// # Concurrency
//
// Pure functions; a Request or ChunkScanner is confined to one goroutine.
// Package-level values (the error sentinels, the byte-class table) are
// read-only.
package http1
