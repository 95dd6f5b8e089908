package http1

// parseField parses one field line starting at b[p] (not an empty line):
//
//	field-line = field-name ":" OWS field-value OWS CRLF (RFC 9112 §5)
//
// It returns the field with its value trimmed and the index after the CRLF,
// or errNeedMore when b ends first.
func parseField(b []byte, p int) (Header, int, error) {
	switch b[p] {
	case ' ', '\t':
		// obs-fold, or whitespace before the first field line: reject
		// (RFC 9112 §5.2, §2.2).
		return Header{}, 0, ErrObsFold
	case '\n':
		return Header{}, 0, ErrLineEnding
	}
	// field-name = token (RFC 9110 §5.1)
	i := p
	for i < len(b) && isToken(b[i]) {
		i++
	}
	if i == len(b) {
		return Header{}, 0, errNeedMore
	}
	if b[i] != ':' || i == p {
		if isWS(b[i]) && i > p {
			// RFC 9112 §5.1: "No whitespace is allowed between the
			// field name and colon ... MUST respond with 400".
			return Header{}, 0, ErrWhitespaceBeforeColon
		}
		return Header{}, 0, lineError(b[i], ErrBadHeader)
	}
	name := span(p, i)
	i = skipWS(b, i+1)
	vs := i
	// field-value = *field-content; CTLs other than HTAB are forbidden
	// (RFC 9110 §5.5), so the scan stops at CR, LF, NUL, ...
	if i = scanValue(b, i); i == len(b) {
		return Header{}, 0, errNeedMore
	}
	if b[i] != '\r' {
		return Header{}, 0, lineError(b[i], ErrBadHeader)
	}
	if i+1 >= len(b) {
		return Header{}, 0, errNeedMore
	}
	if b[i+1] != '\n' {
		return Header{}, 0, ErrLineEnding
	}
	ve := i
	for ve > vs && isWS(b[ve-1]) {
		ve--
	}
	return Header{name, span(vs, ve)}, i + 2, nil
}

// fieldState collects what the head's field lines say about framing and
// connection handling while they are parsed.
type fieldState struct {
	host, contentLength, transferEncoding bool
	close, keepAlive                      bool
}

// Field names the parser acts on, lowercase, with the length they are
// dispatched on.
const (
	nameHost             = "host"
	nameExpect           = "expect"
	nameTrailer          = "trailer"
	nameConnection       = "connection"
	nameContentLength    = "content-length"
	nameTransferEncoding = "transfer-encoding"
)

// note applies the rules for the field h, just appended to r.Headers.
func (st *fieldState) note(b []byte, h Header, r *Request) error {
	name := h.Name.Bytes(b)
	vs, ve := int(h.Value.Start), int(h.Value.End)
	switch len(name) {
	case len(nameHost):
		if equalLower(name, nameHost) {
			return st.noteHost(b, vs, ve, r)
		}
	case len(nameExpect):
		if equalLower(name, nameExpect) {
			return noteExpect(b, vs, ve, r)
		}
	case len(nameTrailer):
		if equalLower(name, nameTrailer) {
			return noteTrailer(b, vs, ve)
		}
	case len(nameConnection):
		if equalLower(name, nameConnection) {
			st.noteConnection(b, vs, ve)
		}
	case len(nameContentLength):
		if equalLower(name, nameContentLength) {
			return st.noteContentLength(b, vs, ve, r)
		}
	case len(nameTransferEncoding):
		if equalLower(name, nameTransferEncoding) {
			return st.noteTransferEncoding(b, vs, ve, r)
		}
	}
	return nil
}

// finish applies the rules that need the whole head.
func (st *fieldState) finish(r *Request) error {
	// RFC 9112 §3.2: "A server MUST respond with a 400 (Bad Request) status
	// code to any HTTP/1.1 request message that lacks a Host header field".
	if r.Minor == 1 && !st.host {
		return ErrMissingHost
	}
	// RFC 9112 §9.3: "close" ends the connection; otherwise HTTP/1.1
	// persists, and HTTP/1.0 persists only with the "keep-alive" option.
	r.KeepAlive = !st.close && (r.Minor == 1 || st.keepAlive)
	return nil
}

// noteHost: RFC 9112 §3.2: a server MUST answer 400 to a request "that
// contains more than one Host header field line or a Host header field with
// an invalid field value". Host = uri-host [ ":" port ]; an empty value is
// allowed (a target without authority). For absolute-form and
// authority-form the target's authority is the host (§3.2.2), but the field
// must still be valid.
func (st *fieldState) noteHost(b []byte, vs, ve int, r *Request) error {
	if st.host {
		return ErrDuplicateHost
	}
	st.host = true
	if vs != ve && !validHostPort(b, vs, ve, false) {
		return ErrBadHost
	}
	if r.Form == FormOrigin || r.Form == FormAsterisk {
		r.Host = span(vs, ve)
	}
	return nil
}

// noteContentLength: Content-Length = 1*DIGIT (RFC 9112 §6.2, RFC 9110 §8.6).
// A second field line is rejected even with the same value, and so is a
// list ("1,1"): stricter than the MAY of RFC 9112 §6.3 item 5, since any
// disagreement about a length is a smuggling vector.
func (st *fieldState) noteContentLength(b []byte, vs, ve int, r *Request) error {
	if st.contentLength {
		return ErrDuplicateContentLength
	}
	st.contentLength = true
	// RFC 9112 §6.3 item 3: with Transfer-Encoding it "ought to be handled
	// as an error"; we reject it.
	if st.transferEncoding {
		return ErrContentLengthAndTE
	}
	if vs == ve {
		return ErrBadContentLength
	}
	const maxInt64 = 1<<63 - 1
	var n int64
	for i := vs; i < ve; i++ {
		c := b[i]
		if !isDigit(c) {
			return ErrBadContentLength
		}
		d := int64(c - '0')
		if n > (maxInt64-d)/10 {
			return ErrBadContentLength
		}
		n = n*10 + d
	}
	r.ContentLength = n
	return nil
}

// noteTransferEncoding: Transfer-Encoding = #transfer-coding (RFC 9112 §6.1),
// possibly over several field lines, read in order as one list.
//   - chunked must be the final coding and appear once, else 400 (§6.3 item
//     4, §7: "MUST NOT apply chunked more than once");
//   - any other coding is not implemented: 501 (§6.1);
//   - with Content-Length: 400 (§6.3 item 3);
//   - in HTTP/1.0: "MUST treat the message as if the framing is faulty"
//     (§6.1): 400;
//   - an empty list element is rejected (a lenient reader might skip it, a
//     strict one fail: disagreement is what smuggling feeds on).
func (st *fieldState) noteTransferEncoding(b []byte, vs, ve int, r *Request) error {
	if r.Minor == 0 {
		return ErrBadTransferEncoding
	}
	st.transferEncoding = true
	if st.contentLength {
		return ErrContentLengthAndTE
	}
	for i := vs; i >= 0; {
		var s, e int
		s, e, i = nextElement(b, i, ve)
		k := s
		for k < e && isToken(b[k]) {
			k++
		}
		if k == s {
			return ErrBadTransferEncoding
		}
		if !equalLower(b[s:k], "chunked") {
			if r.Chunked {
				return ErrBadTransferEncoding // chunked is not last
			}
			return ErrUnsupportedTransferEncoding
		}
		if r.Chunked || k != e {
			return ErrBadTransferEncoding // twice, or with parameters
		}
		r.Chunked = true
	}
	return nil
}

// noteConnection: Connection = #connection-option (RFC 9110 §7.6.1), matched
// case-insensitively; unknown options are ignored.
func (st *fieldState) noteConnection(b []byte, vs, ve int) {
	for i := vs; i >= 0; {
		var s, e int
		s, e, i = nextElement(b, i, ve)
		switch {
		case equalLower(b[s:e], "close"):
			st.close = true
		case equalLower(b[s:e], "keep-alive"):
			st.keepAlive = true
		}
	}
}

// noteExpect: RFC 9110 §10.1.1: the only expectation is 100-continue (case-
// insensitive); "A server that receives an Expect field value containing a
// member other than 100-continue MAY respond with a 417"; we do. A server
// "MUST ignore" 100-continue in an HTTP/1.0 request. An empty value expects
// nothing.
func noteExpect(b []byte, vs, ve int, r *Request) error {
	if vs == ve {
		return nil
	}
	if !equalLower(b[vs:ve], "100-continue") {
		return ErrExpectation
	}
	r.ExpectContinue = r.Minor == 1
	return nil
}

// noteTrailer: a Trailer field announcing a field that must not be a trailer
// (RFC 9110 §6.5.1: framing and routing fields) is rejected, as net/http
// does for Content-Length, Transfer-Encoding and Trailer.
func noteTrailer(b []byte, vs, ve int) error {
	for i := vs; i >= 0; {
		var s, e int
		s, e, i = nextElement(b, i, ve)
		if forbiddenTrailer(b[s:e]) {
			return ErrBadTrailer
		}
	}
	return nil
}

// forbiddenTrailer reports whether a field of this name must not appear in,
// or be announced for, a trailer section (RFC 9110 §6.5.1).
func forbiddenTrailer(name []byte) bool {
	return equalLower(name, nameContentLength) || equalLower(name, nameTransferEncoding) ||
		equalLower(name, nameTrailer) || equalLower(name, nameHost)
}
