package http1

import "bytes"

// ChunkDecoder decodes a chunked request body (RFC 9112 §7.1) as it
// arrives, for a body that is streamed rather than buffered: each call to
// Next takes the bytes at the front of the unread input and returns the
// body data among them, so the caller can discard what was consumed and
// hand the data on. It validates like ChunkScanner (sizes, extensions, the
// CRLF after each chunk's data, the overhead allowance, the trailer
// section, which it checks and skips) and enforces the body limit from the
// chunk-size line. The zero value is ready; Reset readies it for another
// body. Confine to one goroutine.
type ChunkDecoder struct {
	left     uint64 // data bytes left in the current chunk
	bodyLen  int64  // decoded size so far
	excess   int64  // accumulated overhead, see chunkSlack
	trailer  int    // trailer bytes so far
	trailers int    // trailer field lines so far
	state    uint8  // scanSize ... scanDone, as ChunkScanner's
}

// Reset readies d for a new body.
func (d *ChunkDecoder) Reset() { *d = ChunkDecoder{} }

// Done reports whether the whole body, trailer section included, has been
// consumed.
func (d *ChunkDecoder) Done() bool { return d.state == scanDone }

// Next consumes framing and data from the front of in (the unread input,
// which begins where the previous call's consumed bytes ended) and returns
// how many bytes it consumed and the body data among them (a sub-slice of
// in: data is the last part of in[:consumed]). It stops after one span of
// data, so that the caller can pass it on before taking more. consumed ==
// 0 with a nil error and !Done() means more input is needed. maxBody and
// lim are as for ChunkScanner.Scan; err is an *Error: answer it and close
// the connection.
func (d *ChunkDecoder) Next(in []byte, maxData int, maxBody int64, lim *Limits) (consumed int, data []byte, err error) {
	if maxBody < 0 {
		maxBody = 1<<63 - 1
	}
	p := 0
	for {
		switch d.state {
		case scanSize:
			lf := bytes.IndexByte(in[p:min(len(in), p+maxChunkLine)], '\n')
			if lf < 0 {
				if len(in)-p >= maxChunkLine {
					return p, nil, ErrBadChunk
				}
				return p, nil, nil
			}
			lf += p
			size, err := chunkSizeLine(in, p, lf)
			if err != nil {
				return p, nil, err
			}
			if size > uint64(maxBody-d.bodyLen) {
				return p, nil, ErrBodyTooLarge
			}
			s := ChunkScanner{excess: d.excess}
			if err := s.chargeOverhead(lf+1-p, size); err != nil {
				return p, nil, err
			}
			d.excess = s.excess
			d.bodyLen += int64(size)
			p = lf + 1
			if size == 0 {
				d.state = scanTrailer
			} else {
				d.state, d.left = scanData, size
			}
		case scanData:
			n := min(uint64(len(in)-p), d.left, uint64(max(maxData, 0)))
			if n == 0 {
				return p, nil, nil
			}
			d.left -= n
			if d.left == 0 {
				d.state = scanDataEnd
			}
			return p + int(n), in[p : p+int(n)], nil
		case scanDataEnd:
			if p >= len(in) {
				return p, nil, nil
			}
			if in[p] != '\r' {
				return p, nil, ErrBadChunk
			}
			if p+1 >= len(in) {
				return p, nil, nil
			}
			if in[p+1] != '\n' {
				return p, nil, ErrBadChunk
			}
			p += 2
			d.state = scanSize
		case scanTrailer:
			_, maxBytes, maxFields := lim.resolve()
			lf := bytes.IndexByte(in[p:], '\n')
			if lf < 0 {
				if d.trailer+len(in)-p >= maxBytes {
					return p, nil, ErrHeaderTooLarge
				}
				return p, nil, nil
			}
			lf += p
			if d.trailer+lf+1-p > maxBytes {
				return p, nil, ErrHeaderTooLarge
			}
			if in[p] == '\r' {
				if lf != p+1 {
					return p, nil, ErrLineEnding
				}
				d.state = scanDone
				return lf + 1, nil, nil
			}
			_, next, err := trailerField(in[:lf+1], p)
			if err != nil {
				return p, nil, err
			}
			if d.trailers++; d.trailers > maxFields {
				return p, nil, ErrTooManyHeaders
			}
			d.trailer += next - p
			p = next
		default: // scanDone
			return p, nil, nil
		}
	}
}
