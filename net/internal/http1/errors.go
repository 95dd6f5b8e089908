package http1

// Error is a parse failure together with the HTTP status the server should
// answer with. Every Error returned by this package is one of the exported
// sentinels below, allocated once at package level, so returning an error
// never allocates and callers compare with == or errors.Is.
//
// After any Error the server answers Status with Reason and closes the
// connection: the framing of whatever follows on the connection is unknown.
//
// Safe for concurrent use: Error values are never modified.
type Error struct {
	Status int    // HTTP status code to answer with: 400, 413, 414, 417, 431, 501 or 505
	Reason string // short, fixed, human-readable cause; never contains request bytes
}

// Error returns the reason prefixed with the package name.
func (e *Error) Error() string { return "http1: " + e.Reason }

// Request-line errors (RFC 9112 §3).
var (
	// ErrBadRequestLine: the request line is not "method SP request-target SP
	// HTTP-version CRLF" (an invalid method token, a missing or doubled SP,
	// a malformed version, too many leading empty lines).
	ErrBadRequestLine = &Error{400, "malformed request line"}
	// ErrBadTarget: the request-target has a byte outside visible ASCII, a
	// fragment, a bad percent-encoding, userinfo, or a form the method does
	// not allow (RFC 9112 §3.2).
	ErrBadTarget = &Error{400, "invalid request-target"}
	// ErrURITooLong: the request line is longer than Limits.MaxRequestLine.
	ErrURITooLong = &Error{414, "request line too long"}
	// ErrVersion: a well-formed HTTP-version other than HTTP/1.0 or HTTP/1.1.
	ErrVersion = &Error{505, "HTTP version not supported"}
)

// Framing errors shared by the head, the chunked body and the trailers.
var (
	// ErrLineEnding: a bare CR, or a bare LF used as a line terminator
	// (RFC 9112 §2.2; we do not take the MAY to accept a bare LF).
	ErrLineEnding = &Error{400, "line not terminated by CRLF"}
	// ErrHeaderTooLarge: the head (or the trailer section) exceeds
	// Limits.MaxHeaderBytes.
	ErrHeaderTooLarge = &Error{431, "request header fields too large"}
	// ErrTooManyHeaders: more field lines than Limits.MaxHeaders, in the head
	// or in the trailer section.
	ErrTooManyHeaders = &Error{431, "too many header fields"}
)

// Field-line errors (RFC 9112 §5, RFC 9110 §5).
var (
	// ErrBadHeader: a field name that is not a token, a missing colon, or a
	// forbidden byte (CTL, NUL, DEL) in a field value.
	ErrBadHeader = &Error{400, "malformed header field"}
	// ErrWhitespaceBeforeColon: whitespace between a field name and its colon
	// (RFC 9112 §5.1: MUST be rejected with 400).
	ErrWhitespaceBeforeColon = &Error{400, "whitespace between header field name and colon"}
	// ErrObsFold: a field line starting with SP or HTAB: obsolete line folding,
	// or whitespace before the first field line (RFC 9112 §5.2, §2.2).
	ErrObsFold = &Error{400, "obsolete line folding"}
)

// Semantic errors of the head.
var (
	// ErrMissingHost: an HTTP/1.1 request without a Host field (RFC 9112 §3.2).
	ErrMissingHost = &Error{400, "missing Host header"}
	// ErrDuplicateHost: more than one Host field line (RFC 9112 §3.2).
	ErrDuplicateHost = &Error{400, "duplicate Host header"}
	// ErrBadHost: a Host value, or the authority of an absolute-form target,
	// that is not uri-host [ ":" port ] (RFC 9112 §3.2, RFC 3986 §3.2.2).
	ErrBadHost = &Error{400, "invalid Host header"}
	// ErrBadContentLength: a Content-Length that is not 1*DIGIT or overflows
	// int64 (RFC 9112 §6.3; lists such as "1,1" are rejected too).
	ErrBadContentLength = &Error{400, "invalid Content-Length"}
	// ErrDuplicateContentLength: more than one Content-Length field line, even
	// with equal values (stricter than the MAY of RFC 9112 §6.3).
	ErrDuplicateContentLength = &Error{400, "duplicate Content-Length"}
	// ErrContentLengthAndTE: both Content-Length and Transfer-Encoding
	// (RFC 9112 §6.1, §6.3: a smuggling signal; the connection must close).
	ErrContentLengthAndTE = &Error{400, "both Content-Length and Transfer-Encoding"}
	// ErrBadTransferEncoding: chunked not last or given twice, an empty
	// coding, or Transfer-Encoding in an HTTP/1.0 request (RFC 9112 §6.1, §6.3).
	ErrBadTransferEncoding = &Error{400, "invalid Transfer-Encoding"}
	// ErrUnsupportedTransferEncoding: a transfer coding other than chunked
	// (RFC 9112 §6.1: 501).
	ErrUnsupportedTransferEncoding = &Error{501, "unsupported transfer coding"}
	// ErrExpectation: an Expect value other than 100-continue (RFC 9110 §10.1.1).
	ErrExpectation = &Error{417, "unsupported expectation"}
	// ErrBadTrailer: a Trailer field naming a framing or routing field, or
	// such a field (Content-Length, Transfer-Encoding, Trailer, Host) sent in
	// the trailer section (RFC 9110 §6.5.1).
	ErrBadTrailer = &Error{400, "forbidden trailer field"}
)

// Chunked body errors (RFC 9112 §7.1).
var (
	// ErrBadChunk: a malformed chunk-size (empty, non-hex, more than 16 hex
	// digits, junk after it), chunk data not followed by CRLF, or a chunk-size
	// line longer than 4 KiB.
	ErrBadChunk = &Error{400, "malformed chunked encoding"}
	// ErrBadChunkExtension: a chunk extension that is not
	// ";" name [ "=" token / quoted-string ] with BWS only where RFC 9112
	// §7.1.1 allows it (which also rejects whitespace after the size with no
	// extension).
	ErrBadChunkExtension = &Error{400, "malformed chunk extension"}
	// ErrChunkOverhead: chunk-size lines and extensions out of proportion to
	// the data they carry (the same rule as net/http: at most 16 bytes per
	// chunk plus twice the data, with 16 KiB of slack).
	ErrChunkOverhead = &Error{400, "chunked encoding contains too much non-data"}
	// ErrBodyTooLarge: the decoded body would exceed the caller's limit.
	ErrBodyTooLarge = &Error{413, "request body too large"}
)

// errNeedMore is the internal signal for "ran out of input". ParseHead and
// ChunkScanner.Scan turn it into (0, nil) or a limit error; it never escapes.
var errNeedMore = &Error{0, "need more input"}
