package http1

import "bytes"

// limits is Limits with the defaults resolved.
type limits struct{ line, head, headers int }

// ParseHead parses the request head at the start of buf into r.
//
//   - n > 0, err == nil: the head is complete and valid; n == r.HeadLen and
//     the body (if any) starts at buf[n].
//   - n == 0, err == nil: the head is incomplete; call again once more bytes
//     have arrived. The limits have been checked against what is there.
//   - err != nil: the request is invalid; err is one of this package's
//     *Error sentinels carrying the status to answer. Answer it and close
//     the connection.
//
// ParseHead does not allocate (given cap(r.Headers) >= MaxHeaders) and does
// not retain buf. After an incomplete result r remembers how far it got (by
// offset: the lines already parsed, and the length seen), so that the retry
// goes on from there instead of parsing the head again: the work is linear
// in the head's length however it is split. So between an incomplete result
// and its retry, buf must start with the same bytes (more may follow; it
// may be another buffer holding them) and lim must not change; to parse an
// unrelated request with r after an incomplete one, call r.Reset first. On
// any result other than success the fields of r are unspecified.
//
// Errors are reported in byte order: the first problem in buf wins, and a
// limit counts as a problem at the byte that crosses it. So parsing a prefix
// of buf gives either "incomplete" or the same error as buf.
func ParseHead(buf []byte, r *Request, lim *Limits) (n int, err error) {
	var l limits
	l.line, l.head, l.headers = lim.resolve()
	if r.resume(buf) {
		return 0, nil
	}
	if r.partPos == 0 || len(buf) < r.partLen {
		scanned := r.Scanned
		*r = Request{Headers: r.Headers[:0], ContentLength: -1, Scanned: scanned}
	}
	b := buf
	if len(b) > l.head {
		b = b[:l.head]
	}
	n, err = parseHead(b, r, l)
	switch {
	case err == nil:
		r.partLen, r.partPos = 0, 0
		return n, nil
	case err != errNeedMore:
		return 0, err
	case len(buf) > l.head:
		return 0, ErrHeaderTooLarge
	}
	r.partLen = len(buf)
	return 0, nil
}

// resume reports whether buf, the retry of an incomplete parse of r, is
// certainly still incomplete and valid as far as a parse could tell: the
// parse stopped inside a field line, and every new byte is one that line
// may hold where it is (token characters before the colon, field-value
// characters after it), and buf is not long enough to cross a limit. So
// resuming never defers an error: any byte a parse would reject makes it
// parse (from the start of that line). This keeps a long field line
// arriving in small pieces linear.
func (r *Request) resume(buf []byte) bool {
	if r.partField == partNone || r.partLen == 0 || len(buf) < r.partLen || len(buf) > r.partLimit {
		return false
	}
	state := r.partField
	for _, c := range buf[r.partLen:] {
		switch {
		case state == partName && isToken(c):
		case state == partName && c == ':':
			state = partValue
		case state == partValue && (c >= 0x20 && c != 0x7f || c == '\t'):
		default:
			return false
		}
	}
	r.Scanned += len(buf) - r.partLen
	r.partLen, r.partField = len(buf), state
	return true
}

// Where an incomplete parse stopped inside a field line (see resume).
const (
	partNone  uint8 = iota // elsewhere: the retry parses
	partName               // in the field name
	partValue              // after the colon
)

// parseHead parses a head in b, already cut to l.head bytes, going on from
// r.partPos if an earlier call parsed the request line and some fields. It
// returns errNeedMore when b ends first, with r.partPos and r.partState
// saying where to go on.
func parseHead(b []byte, r *Request, l limits) (int, error) {
	var st fieldState
	p := r.partPos
	if p > 0 {
		st = r.partState
		r.Scanned += len(b) - p
	} else {
		r.Scanned += len(b)
		var err error
		if p, err = parseStartLine(b, r, l); err != nil {
			return 0, err
		}
		r.partLimit = l.head
	}

	// RFC 9112 §5: *( field-line CRLF ) CRLF.
	for {
		r.partPos, r.partState, r.partField = p, st, partNone
		if p >= len(b) {
			return 0, errNeedMore
		}
		if b[p] == '\r' {
			if p+1 >= len(b) {
				return 0, errNeedMore
			}
			if b[p+1] != '\n' {
				return 0, ErrLineEnding
			}
			p += 2
			break
		}
		h, next, err := parseField(b, p)
		if err == errNeedMore && b[len(b)-1] != '\r' {
			// Inside the line: a retry may skip bytes that fit it.
			r.partField = partName
			if bytes.IndexByte(b[p:], ':') >= 0 {
				r.partField = partValue
			}
		}
		if err != nil {
			return 0, err
		}
		// The value might go on in an obs-fold line: look at the next line
		// before acting on this one, so that a fold is reported as a fold
		// (RFC 9112 §5.2) and not as, say, an empty Content-Length.
		if next >= len(b) {
			return 0, errNeedMore
		}
		if isWS(b[next]) {
			return 0, ErrObsFold
		}
		if len(r.Headers) >= l.headers {
			return 0, ErrTooManyHeaders
		}
		r.Headers = append(r.Headers, h)
		if err := st.note(b, h, r); err != nil {
			return 0, err
		}
		p = next
	}
	if err := st.finish(r); err != nil {
		return 0, err
	}
	r.HeadLen = p
	return p, nil
}

// parseStartLine skips the empty lines allowed before the request line and
// parses it; it returns the index after its CRLF.
func parseStartLine(b []byte, r *Request, l limits) (int, error) {
	p := 0
	r.partLimit = min(l.line, l.head)
	// RFC 9112 §2.2: "a server that is expecting to receive and parse a
	// request-line SHOULD ignore at least one empty line (CRLF) received
	// prior to the request-line". Only CRLF, and only a few.
	for n := 0; p < len(b) && b[p] == '\r'; n++ {
		if n == maxEmptyLines {
			return 0, ErrBadRequestLine
		}
		if p+1 >= len(b) {
			return 0, errNeedMore
		}
		if b[p+1] != '\n' {
			return 0, ErrLineEnding
		}
		p += 2
	}
	r.partLimit = min(p+l.line, l.head)
	return parseRequestLine(b, p, l.line, r)
}

// parseRequestLine parses "method SP request-target SP HTTP-version CRLF"
// (RFC 9112 §3) starting at b[p] and returns the index after its CRLF.
// Exactly one SP separates the parts; no other whitespace is allowed.
func parseRequestLine(b []byte, p, maxLine int, r *Request) (int, error) {
	// The line's content and its CR must lie in b[p : p+maxLine+1]; if that
	// window is full and holds no end, the line is too long (414).
	w := b
	if p+maxLine+1 < len(w) {
		w = w[:p+maxLine+1]
	}
	windowFull := len(w) == p+maxLine+1
	runOut := func() error {
		if windowFull {
			return ErrURITooLong
		}
		return errNeedMore
	}

	// method = token (RFC 9112 §3.1, RFC 9110 §9.1).
	i := p
	for i < len(w) && isToken(w[i]) {
		i++
	}
	if i == len(w) {
		return 0, runOut()
	}
	if w[i] != ' ' || i == p {
		return 0, lineError(w[i], ErrBadRequestLine)
	}
	r.Method = span(p, i)
	i++

	// request-target (RFC 9112 §3.2): visible ASCII; '%' must start a
	// pct-encoded triplet (RFC 3986 §2.1); no fragment.
	ts, query := i, -1
	for {
		if i = scanTarget(w, i); i == len(w) {
			break
		}
		c := w[i]
		if c == '?' {
			if query < 0 {
				query = i
			}
			i++
			continue
		}
		if c == '%' {
			if i+2 >= len(w) {
				return 0, runOut()
			}
			if !isHex(w[i+1]) || !isHex(w[i+2]) {
				return 0, ErrBadTarget
			}
			i += 3
			continue
		}
		break
	}
	if i == len(w) {
		return 0, runOut()
	}
	if w[i] != ' ' {
		return 0, lineError(w[i], targetError(w[i]))
	}
	if i == ts {
		return 0, ErrBadTarget // two SPs: an empty target
	}
	te := i
	i++

	// HTTP-version = "HTTP/" DIGIT "." DIGIT (RFC 9112 §2.3), then CRLF.
	// The name is case-sensitive; only 1.0 and 1.1 are served (505).
	const pattern = "HTTP/1.1\r"
	if i+len(pattern) <= len(w) && i+len(pattern) < len(b) && b[i+len(pattern)] == '\n' &&
		string(w[i:i+len(pattern)]) == pattern {
		// Fast path: HTTP/1.1 CRLF, the content and CR within the line
		// window, the LF within the head window.
		r.Minor = 1
		return finishRequestLine(b, ts, te, query, i+len(pattern)+1, r)
	}
	for k := 0; k < len(pattern); k++ {
		if i+k >= len(w) {
			return 0, runOut()
		}
		c := w[i+k]
		if k == 5 || k == 7 {
			if !isDigit(c) {
				return 0, lineError(c, ErrBadRequestLine)
			}
		} else if c != pattern[k] {
			return 0, lineError(c, ErrBadRequestLine)
		}
	}
	if w[i+5] != '1' || w[i+7] > '1' {
		return 0, ErrVersion
	}
	r.Minor = int(w[i+7] - '0')
	i += len(pattern)
	if i >= len(b) {
		return 0, errNeedMore
	}
	if b[i] != '\n' {
		return 0, ErrLineEnding
	}
	return finishRequestLine(b, ts, te, query, i+1, r)
}

// finishRequestLine checks the target's form once the whole line is known
// to be valid, so that "PRI * HTTP/2.0" gets its 505 rather than a 400 for
// "*" without OPTIONS, and returns next.
func finishRequestLine(b []byte, ts, te, query, next int, r *Request) (int, error) {
	if err := parseTarget(b, ts, te, query, r); err != nil {
		return 0, err
	}
	return next, nil
}

// lineError reports a bare LF as a line-ending error and anything else as
// err (RFC 9112 §2.2).
func lineError(c byte, err *Error) *Error {
	if c == '\n' {
		return ErrLineEnding
	}
	return err
}

// targetError classifies the byte that ended a request-target early.
func targetError(c byte) *Error {
	if c == '\r' {
		return ErrBadRequestLine // "GET /\r\n": no version
	}
	return ErrBadTarget
}
