package http1

import "bytes"

// maxChunkLine bounds a chunk-size line: size, extensions and CRLF.
// (net/http rejects 4096 bytes before the CRLF, so we never accept a line it
// would reject.)
const maxChunkLine = 4 << 10

// Overhead allowance, as in net/http: each chunk may carry 16 bytes of
// chunk-size line plus twice its data size; beyond that, excess accumulates
// and may reach chunkSlack before the body is refused. It stops a client from
// sending megabytes of extensions to deliver a few bytes of data.
const (
	chunkLineAllowance = 16
	chunkSlack         = 16 << 10
)

// scanner states, in the order they occur for each chunk.
const (
	scanSize    uint8 = iota // reading a chunk-size line
	scanData                 // skipping chunk data
	scanDataEnd              // expecting the CRLF after chunk data
	scanTrailer              // reading trailer field lines
	scanDone                 // the final CRLF has been read
)

// ChunkScanner finds the end of a chunked request body (RFC 9112 §7.1)
// incrementally: each call to Scan continues where the previous one stopped,
// so a body that arrives in pieces is read once, not rescanned from its
// start. The zero value is ready to use; Reset readies it for another body.
//
// It validates the whole body (sizes, extensions, the CRLF after each
// chunk's data, the trailer section) and enforces the body limit from the
// chunk-size line, before the data arrives, but it does not move any bytes:
// DecodeChunked does that once the body is complete.
//
// Confine to one goroutine.
type ChunkScanner struct {
	pos          int    // bytes of the body consumed so far
	scanned      int    // the current line holds no LF before this index
	left         uint64 // data bytes left in the current chunk
	bodyLen      int64  // decoded size so far
	excess       int64  // accumulated overhead, see chunkSlack
	trailerStart int    // index of the trailer section
	trailers     int    // trailer field lines so far
	state        uint8
}

// Reset readies s for a new body.
func (s *ChunkScanner) Reset() { *s = ChunkScanner{} }

// BodyLen returns the decoded size of the chunks scanned so far; once Scan
// has returned end > 0, the size of the whole body.
func (s *ChunkScanner) BodyLen() int64 { return s.bodyLen }

// Scan continues scanning a chunked body. buf must start at the first byte
// of the body (right after the head) and must begin with the bytes given to
// the previous calls; it may hold more bytes after the body (pipelining).
//
//   - end > 0, err == nil: the whole body (chunks, last-chunk, trailer
//     section, final CRLF) is buf[:end]; BodyLen is its decoded size. Further
//     calls return the same end.
//   - end == 0, err == nil: more bytes are needed.
//   - err != nil: an *Error: 400 for malformed framing, 413 (ErrBodyTooLarge)
//     as soon as a chunk-size line announces more than maxBody decoded bytes
//     in total, 431 when the trailer section exceeds lim (nil lim: defaults).
//     Answer it and close the connection.
//
// A negative maxBody means no limit beyond int64. After an error the
// scanner's state is unspecified: Reset it before scanning another body.
// Scan does not allocate.
func (s *ChunkScanner) Scan(buf []byte, maxBody int64, lim *Limits) (end int, err error) {
	if maxBody < 0 {
		maxBody = 1<<63 - 1
	}
	for {
		switch s.state {
		case scanSize:
			lf, err := s.findLF(buf, s.pos+maxChunkLine, ErrBadChunk)
			if lf < 0 {
				return 0, err
			}
			size, err := chunkSizeLine(buf, s.pos, lf)
			if err != nil {
				return 0, err
			}
			if size > uint64(maxBody-s.bodyLen) {
				return 0, ErrBodyTooLarge
			}
			if err := s.chargeOverhead(lf+1-s.pos, size); err != nil {
				return 0, err
			}
			s.bodyLen += int64(size)
			s.pos = lf + 1
			if size == 0 {
				s.state, s.trailerStart, s.scanned = scanTrailer, s.pos, s.pos
			} else {
				s.state, s.left = scanData, size
			}
		case scanData:
			avail := uint64(max(len(buf)-s.pos, 0))
			if avail < s.left {
				s.pos += int(avail)
				s.left -= avail
				return 0, nil
			}
			s.pos += int(s.left)
			s.left = 0
			s.state = scanDataEnd
		case scanDataEnd:
			// RFC 9112 §7.1: chunk = chunk-size [ chunk-ext ] CRLF
			// chunk-data CRLF. Exactly CRLF; anything else means the
			// size lied.
			if s.pos >= len(buf) {
				return 0, nil
			}
			if buf[s.pos] != '\r' {
				return 0, ErrBadChunk
			}
			if s.pos+1 >= len(buf) {
				return 0, nil
			}
			if buf[s.pos+1] != '\n' {
				return 0, ErrBadChunk
			}
			s.pos += 2
			s.state, s.scanned = scanSize, s.pos
		case scanTrailer:
			// RFC 9112 §7.1.2: trailer-section = *( field-line CRLF ),
			// then the final CRLF; bounded like a head.
			_, maxBytes, maxFields := lim.resolve()
			lf, err := s.findLF(buf, s.trailerStart+maxBytes, ErrHeaderTooLarge)
			if lf < 0 {
				return 0, err
			}
			if buf[s.pos] == '\r' {
				if lf != s.pos+1 {
					return 0, ErrLineEnding
				}
				s.pos = lf + 1
				s.state = scanDone
				return s.pos, nil
			}
			_, next, err := trailerField(buf[:lf+1], s.pos)
			if err != nil {
				return 0, err
			}
			if s.trailers++; s.trailers > maxFields {
				return 0, ErrTooManyHeaders
			}
			s.pos, s.scanned = next, next
		default: // scanDone
			return s.pos, nil
		}
	}
}

// findLF returns the index of the LF ending the line that starts at s.pos,
// looking no further than limit (exclusive). It returns -1 with nil when
// more bytes are needed, or with tooLong when the line reaches limit without
// an LF. It remembers how far it looked, so each byte is searched once.
func (s *ChunkScanner) findLF(buf []byte, limit int, tooLong *Error) (int, error) {
	end := min(len(buf), limit)
	if s.scanned < end {
		if i := bytes.IndexByte(buf[s.scanned:end], '\n'); i >= 0 {
			return s.scanned + i, nil
		}
		s.scanned = end
	}
	if end == limit {
		return -1, tooLong
	}
	return -1, nil
}

// chargeOverhead applies the overhead allowance to a chunk whose size line
// (CRLF included) is lineLen bytes long: the same count as net/http's, which
// takes the line without its CRLF plus the CRLF after the data.
func (s *ChunkScanner) chargeOverhead(lineLen int, size uint64) error {
	credit := int64(1 << 62)
	if size < 1<<60 {
		credit = chunkLineAllowance + 2*int64(size)
	}
	s.excess = max(s.excess+int64(lineLen)-credit, 0)
	if s.excess > chunkSlack {
		return ErrChunkOverhead
	}
	return nil
}

// chunkSizeLine parses the chunk-size line b[p:lf+1], LF included. A CR
// anywhere but before the LF is a bare CR (RFC 9112 §2.2, §7.1).
func chunkSizeLine(b []byte, p, lf int) (uint64, error) {
	if lf == p || b[lf-1] != '\r' || bytes.IndexByte(b[p:lf-1], '\r') >= 0 {
		return 0, ErrLineEnding
	}
	return parseChunkSize(b[p : lf-1])
}

// maxChunkSizeDigits bounds chunk-size: 16 hex digits fill a uint64, so the
// value cannot overflow (net/http allows the same number).
const maxChunkSizeDigits = 16

// parseChunkSize parses a chunk-size line without its CRLF (RFC 9112 §7.1):
//
//	chunk-size [ chunk-ext ]
//	chunk-size = 1*HEXDIG
//
// No sign, no "0x", no whitespace before the size.
func parseChunkSize(line []byte) (uint64, error) {
	var size uint64
	i := 0
	for i < len(line) && isHex(line[i]) {
		if i == maxChunkSizeDigits {
			return 0, ErrBadChunk
		}
		size = size<<4 | unhex(line[i])
		i++
	}
	if i == 0 {
		return 0, ErrBadChunk
	}
	if i == len(line) {
		return size, nil
	}
	j := skipWS(line, i)
	if j == len(line) {
		return 0, ErrBadChunkExtension // BWS not followed by ";"
	}
	if line[j] != ';' {
		return 0, ErrBadChunk
	}
	if !validChunkExt(line[j:]) {
		return 0, ErrBadChunkExtension
	}
	return size, nil
}

// validChunkExt reports whether ext is a chunk-ext (RFC 9112 §7.1.1):
//
//	chunk-ext     = *( BWS ";" BWS chunk-ext-name [ BWS "=" BWS chunk-ext-val ] )
//	chunk-ext-name = token
//	chunk-ext-val  = token / quoted-string
func validChunkExt(ext []byte) bool {
	i := 0
	for i < len(ext) {
		i = skipWS(ext, i)
		if i == len(ext) || ext[i] != ';' {
			return false
		}
		i = skipWS(ext, i+1)
		n := i
		for i < len(ext) && isToken(ext[i]) {
			i++
		}
		if i == n {
			return false
		}
		if k := skipWS(ext, i); k < len(ext) && ext[k] == '=' {
			i = skipWS(ext, k+1)
			if i < len(ext) && ext[i] == '"' {
				if i = quotedStringEnd(ext, i); i < 0 {
					return false
				}
				continue
			}
			v := i
			for i < len(ext) && isToken(ext[i]) {
				i++
			}
			if i == v {
				return false
			}
		}
	}
	return true
}

// quotedStringEnd returns the index after the quoted-string starting at
// b[i] == '"', or -1 if it is malformed (RFC 9110 §5.6.4):
//
//	quoted-string = DQUOTE *( qdtext / quoted-pair ) DQUOTE
//	quoted-pair   = "\" ( HTAB / SP / VCHAR / obs-text )
func quotedStringEnd(b []byte, i int) int {
	for i++; i < len(b); i++ {
		switch c := b[i]; {
		case c == '"':
			return i + 1
		case c == '\\':
			if i++; i == len(b) || class[b[i]]&cValue == 0 {
				return -1
			}
		case class[c]&cQDText == 0:
			return -1
		}
	}
	return -1
}

// trailerField parses the trailer field line at b[p] (complete in b) and
// rejects the fields that must not be trailers (RFC 9110 §6.5.1).
func trailerField(b []byte, p int) (Header, int, error) {
	h, next, err := parseField(b, p)
	if err == errNeedMore {
		err = ErrBadChunk
	}
	if err != nil {
		return Header{}, 0, err
	}
	if forbiddenTrailer(h.Name.Bytes(b)) {
		return Header{}, 0, ErrBadTrailer
	}
	return h, next, nil
}

// DecodeChunked decodes, in place, a complete chunked body that Scan has
// validated: data is buf[:end], now a private copy owned by the caller. It
// moves the chunk data to the front of data and returns it as body (a prefix
// of data), and appends the trailer fields to trailers, their spans relative
// to data (the trailer bytes lie after the body and are not overwritten).
//
// It allocates nothing when trailers has room. Given bytes Scan did not
// accept, it returns an *Error rather than panicking.
func DecodeChunked(data []byte, trailers []Header) (body []byte, outTrailers []Header, err error) {
	r, w := 0, 0
	for {
		lf := bytes.IndexByte(data[r:], '\n')
		if lf < 0 {
			return nil, trailers, ErrBadChunk
		}
		lf += r
		size, err := chunkSizeLine(data, r, lf)
		if err != nil {
			return nil, trailers, err
		}
		r = lf + 1
		if size == 0 {
			break
		}
		if size > uint64(len(data)-r) || len(data)-r-int(size) < 2 {
			return nil, trailers, ErrBadChunk
		}
		w += copy(data[w:], data[r:r+int(size)])
		r += int(size)
		if data[r] != '\r' || data[r+1] != '\n' {
			return nil, trailers, ErrBadChunk
		}
		r += 2
	}
	for {
		if r+1 < len(data) && data[r] == '\r' && data[r+1] == '\n' {
			r += 2
			break
		}
		if r >= len(data) {
			return nil, trailers, ErrBadChunk
		}
		h, next, err := trailerField(data, r)
		if err != nil {
			return nil, trailers, err
		}
		trailers = append(trailers, h)
		r = next
	}
	if r != len(data) {
		return nil, trailers, ErrBadChunk
	}
	return data[:w], trailers, nil
}
