package http1

// Span is the byte range [Start, End) of a parsed element, relative to the
// first byte of the request (the buf given to ParseHead; for trailers, the
// data given to DecodeChunked). Resolve it with Bytes against that buffer or
// against a copy of it. The zero Span is empty.
//
// Safe for concurrent use (a value).
type Span struct{ Start, End int32 }

// Len returns the length of s in bytes.
func (s Span) Len() int { return int(s.End - s.Start) }

// IsEmpty reports whether s covers no bytes.
func (s Span) IsEmpty() bool { return s.End <= s.Start }

// Bytes returns buf[s.Start:s.End]. It does not copy: the result aliases buf.
func (s Span) Bytes(buf []byte) []byte { return buf[s.Start:s.End] }

func span(s, e int) Span { return Span{int32(s), int32(e)} }

// Header is one field line. Name is the field name as sent (not
// canonicalized); Value is the field value with surrounding SP and HTAB
// trimmed (RFC 9112 §5). Both may be resolved with Span.Bytes.
//
// Safe for concurrent use (a value).
type Header struct{ Name, Value Span }

// Default limits, used for a nil *Limits and for zero fields.
const (
	DefaultMaxRequestLine = 8 << 10  // 8 KiB, like nginx's default buffer
	DefaultMaxHeaderBytes = 16 << 10 // 16 KiB, like Node.js
	DefaultMaxHeaders     = 100
)

// maxEmptyLines is how many empty lines (CRLF) may precede a request line.
// RFC 9112 §2.2: a server SHOULD ignore at least one; old clients send one
// after a POST body.
const maxEmptyLines = 4

// Limits bounds what one request head may cost. A zero field, or a nil
// *Limits, means the field's default (DefaultMaxRequestLine, ...). Limits are
// enforced on incomplete input too, so a client cannot make the server buffer
// more than MaxHeaderBytes while it waits for the end of a head.
//
// Safe for concurrent use: the parser only reads it.
type Limits struct {
	// MaxRequestLine bounds the request line, without its CRLF; longer is 414.
	MaxRequestLine int
	// MaxHeaderBytes bounds the whole head: leading empty lines, request
	// line, field lines and the final empty line; longer is 431. It bounds a
	// chunked body's trailer section (through its final CRLF) the same way.
	MaxHeaderBytes int
	// MaxHeaders bounds the number of field lines; more is 431. It bounds a
	// trailer section the same way.
	MaxHeaders int
}

// resolve returns the limits with defaults filled in.
func (l *Limits) resolve() (maxLine, maxHead, maxHeaders int) {
	maxLine, maxHead, maxHeaders = DefaultMaxRequestLine, DefaultMaxHeaderBytes, DefaultMaxHeaders
	if l == nil {
		return
	}
	if l.MaxRequestLine > 0 {
		maxLine = l.MaxRequestLine
	}
	if l.MaxHeaderBytes > 0 {
		maxHead = l.MaxHeaderBytes
	}
	if l.MaxHeaders > 0 {
		maxHeaders = l.MaxHeaders
	}
	return
}

// TargetForm is the form of the request-target (RFC 9112 §3.2).
//
// Safe for concurrent use (a value).
type TargetForm uint8

// The four request-target forms.
const (
	FormOrigin    TargetForm = iota // "/path?query", §3.2.1
	FormAbsolute                    // "http://host/path?query", §3.2.2
	FormAuthority                   // "host:port", CONNECT only, §3.2.3
	FormAsterisk                    // "*", OPTIONS only, §3.2.4
)

// String returns the RFC name of the form.
func (f TargetForm) String() string {
	switch f {
	case FormOrigin:
		return "origin-form"
	case FormAbsolute:
		return "absolute-form"
	case FormAuthority:
		return "authority-form"
	case FormAsterisk:
		return "asterisk-form"
	}
	return "unknown-form"
}

// Request is a parsed request head: spans into the request's bytes and the
// framing facts the server needs. All spans are relative to the first byte of
// the buf given to ParseHead (including any leading empty lines).
//
// Confine to one goroutine.
type Request struct {
	Method Span // a token, case-sensitive (RFC 9110 §9.1)
	Target Span // the request-target as sent

	// Path is the path of the target, without the query: for origin-form
	// the bytes before '?', for absolute-form the path after the authority,
	// or "/" (a span over the second '/' of "://") when the URI has none,
	// for asterisk-form "*", and empty for authority-form. Percent-encoding
	// is validated but not decoded.
	Path Span
	// Query is the query without its '?'; empty if there is none (or if the
	// target ends in a bare '?').
	Query Span
	Form  TargetForm
	Minor int // 0 for HTTP/1.0, 1 for HTTP/1.1

	// Host is the host the request is for (RFC 9112 §3.2.2, §7.2): the
	// authority of an absolute-form or authority-form target, otherwise the
	// Host field value (empty if HTTP/1.0 sent none, or sent it empty).
	Host Span

	// Headers lists every field line in order, Host and the framing fields
	// included. ParseHead truncates it to length 0 and appends to it, so it
	// allocates nothing when its capacity is at least Limits.MaxHeaders.
	Headers []Header

	ContentLength  int64 // the Content-Length value; -1 when absent
	Chunked        bool  // Transfer-Encoding: chunked (the only coding accepted)
	KeepAlive      bool  // the connection persists after this exchange (RFC 9112 §9.3)
	ExpectContinue bool  // Expect: 100-continue in an HTTP/1.1 request
	HeadLen        int   // bytes of the head, leading empty lines and final CRLF included

	// Scanned counts the bytes ParseHead examined for this request, over
	// all its calls: linear in HeadLen however the head was split (tests
	// check it).
	Scanned int

	// resume state after an incomplete parse (see resume).
	partLen   int        // len(buf) of the incomplete call; 0: none
	partLimit int        // up to this length, bytes without LF cannot end or break the head
	partPos   int        // where the next field line starts; 0: the request line is not parsed
	partState fieldState // what the fields before partPos said
	partField uint8      // where in a field line the parse stopped (partName, partValue), or partNone
}

// Reset clears r for the next request, keeping the backing array of Headers.
// Call it before reusing r for a request on another connection.
func (r *Request) Reset() {
	*r = Request{Headers: r.Headers[:0], ContentLength: -1}
}
