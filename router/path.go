package router

import (
	"fmt"
	"strings"

	"github.com/weftgo/weft/net"
)

// Encoded paths. A request path is matched in decoded form, segment by
// segment, as net/http's ServeMux matches it: /plain%74ext matches the
// pattern /plaintext, and /users/J%C3%B6rg matches /users/:name. Two escapes
// stay encoded, so that decoding never changes where segments end or what
// a parameter holds: %2F (a '/' inside a segment: /a%2Fb is one segment,
// never /a/b) and %25 (a '%' itself, which would otherwise make the value
// ambiguous). Ctx.Param decodes those last two; Ctx.Path is still the path
// exactly as sent.
//
// A path without '%' is matched as it is, without a copy; a path with
// escapes costs one string the length of the path. A path with a dot
// segment ("." or "..", as sent or encoded as %2e) is answered 400: it
// would otherwise hand a parameter "..".

// matchPath returns the form of a request path that the tree matches.
func matchPath(path string) string {
	i := strings.IndexByte(path, '%')
	if i < 0 {
		return path
	}
	return decodeForMatch(path, i)
}

// decodeForMatch decodes the escapes of path from index i (its first '%')
// on, except %2F and %25, which it keeps (in upper case). A '%' not
// followed by two hex digits is kept as it is (weft's parser refuses such
// a request; a path given another way still matches something sensible).
func decodeForMatch(path string, i int) string {
	b := make([]byte, 0, len(path))
	b = append(b, path[:i]...)
	for ; i < len(path); i++ {
		ch := path[i]
		if ch != '%' || i+2 >= len(path) || !isHex(path[i+1]) || !isHex(path[i+2]) {
			b = append(b, ch)
			continue
		}
		d := unhex(path[i+1])<<4 | unhex(path[i+2])
		switch d {
		case '/', '%':
			b = append(b, '%', upperHex(path[i+1]), upperHex(path[i+2]))
		default:
			b = append(b, d)
		}
		i += 2
	}
	return string(b)
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c >= 'a':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}

func upperHex(c byte) byte {
	if 'a' <= c && c <= 'f' {
		return c - 'a' + 'A'
	}
	return c
}

// hasDotSegment reports whether path (as sent) has a "." or ".." segment,
// written as it is or encoded (%2e). The router refuses such a path (400)
// instead of matching it: a parameter or catch-all must never hold "..",
// which a file handler would join to its root. A path with neither '.'
// nor '%' is answered at the cost of two byte scans.
func hasDotSegment(path string) bool {
	if strings.IndexByte(path, '.') < 0 && strings.IndexByte(path, '%') < 0 {
		return false
	}
	for path != "" {
		var seg string
		seg, path, _ = strings.Cut(path, "/")
		if isDotSegment(seg) {
			return true
		}
	}
	return false
}

// isDotSegment reports whether seg is ".", "..", or one of them with dots
// written %2e or %2E.
func isDotSegment(seg string) bool {
	dots := 0
	for i := 0; i < len(seg); {
		switch {
		case seg[i] == '.':
			i++
		case i+2 < len(seg) && seg[i] == '%' && seg[i+1] == '2' && (seg[i+2] == 'e' || seg[i+2] == 'E'):
			i += 3
		default:
			return false
		}
		dots++
	}
	return dots == 1 || dots == 2
}

// errDotSegment answers a path with a dot segment.
var errDotSegment = &net.Error{Status: net.StatusBadRequest} // "Bad Request", as Static answers ".."

// checkPatternEscapes refuses a pattern whose '%' would never match: a
// pattern is written decoded ("/café", not "/caf%C3%A9"), with %2F for a
// '/' inside a segment and %25 for a '%'.
func checkPatternEscapes(pattern string) error {
	for i := 0; i < len(pattern); i++ {
		if pattern[i] != '%' {
			continue
		}
		if i+2 < len(pattern) && (pattern[i+1:i+3] == "2F" || pattern[i+1:i+3] == "25") {
			i += 2
			continue
		}
		return fmt.Errorf("'%%' at offset %d: write a pattern decoded (requests are matched decoded); only %%2F (a '/' inside a segment) and %%25 (a '%%') may be escaped", i)
	}
	return nil
}
