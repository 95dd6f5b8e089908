// Package httpfile decides conditional and range requests for a file
// (RFC 9110 §13, §14): net.Ctx.SendFile and middleware.Static share it, and
// so may any handler that serves stored representations itself.
//
// # Concurrency
//
// It is pure: values in, a decision out; every function is safe for
// concurrent use.
package httpfile

import (
	"strconv"
	"strings"
	"time"
)

// Request is what a decision needs of the request's headers.
type Request struct {
	Get bool // GET, not HEAD: Range applies
	// Unsafe is a method other than GET and HEAD (RFC 9110 §13.1.2,
	// §13.1.3): a matching If-None-Match fails with 412 rather than 304,
	// and If-Modified-Since is ignored.
	Unsafe   bool
	IfMatch  string
	IfNone   string
	IfModSnc string
	IfUnmod  string
	Range    string
	IfRange  string
}

// File describes the representation.
type File struct {
	Size    int64
	ModTime time.Time // zero: unknown
	ETag    string
}

// Status codes used here (equal to net's and net/http's).
const (
	StatusOK                  = 200
	StatusPartialContent      = 206
	StatusNotModified         = 304
	StatusPreconditionFailed  = 412
	StatusRangeNotSatisfiable = 416
)

// ETag returns the ETag weft gives a file from its size and modification
// time.
func ETag(size int64, mod time.Time) string {
	return `"` + strconv.FormatInt(size, 16) + "-" + strconv.FormatInt(mod.UnixNano(), 16) + `"`
}

// LastModified formats t as an HTTP date.
func LastModified(t time.Time) string { return t.UTC().Format(timeFormat) }

const timeFormat = "Mon, 02 Jan 2006 15:04:05 GMT"

// Preconditions evaluates the conditional headers (RFC 9110 §13.2.2): it
// returns 412 or 304 when they decide the answer, 0 otherwise.
func Preconditions(r *Request, f *File) int {
	if r.IfMatch != "" {
		if !MatchETag(r.IfMatch, f.ETag, true) {
			return StatusPreconditionFailed
		}
	} else if r.IfUnmod != "" && !f.ModTime.IsZero() {
		if t, ok := ParseHTTPDate(r.IfUnmod); ok && f.ModTime.Truncate(time.Second).After(t) {
			return StatusPreconditionFailed
		}
	}
	if r.IfNone != "" {
		if MatchETag(r.IfNone, f.ETag, false) {
			if r.Unsafe {
				return StatusPreconditionFailed
			}
			return StatusNotModified
		}
	} else if r.IfModSnc != "" && !r.Unsafe && !f.ModTime.IsZero() {
		if t, ok := ParseHTTPDate(r.IfModSnc); ok && !f.ModTime.Truncate(time.Second).After(t) {
			return StatusNotModified
		}
	}
	return 0
}

// ChooseRange decides what part of the file to send: the whole (200), one
// range (206) or none (416). Several ranges, or a malformed Range, get the
// whole file.
func ChooseRange(r *Request, f *File) (start, length int64, status int) {
	if r.Get && r.Range != "" && IfRangeHolds(r.IfRange, f) {
		start, length, ok, satisfiable := ParseRange(r.Range, f.Size)
		switch {
		case ok && !satisfiable:
			return 0, 0, StatusRangeNotSatisfiable
		case ok:
			return start, length, StatusPartialContent
		}
	}
	return 0, f.Size, StatusOK
}

// ContentRange formats the Content-Range of a 206 (or, with length 0, of a
// 416: "bytes */size").
func ContentRange(start, length, size int64) string {
	if length == 0 {
		return "bytes */" + strconv.FormatInt(size, 10)
	}
	return "bytes " + strconv.FormatInt(start, 10) + "-" + strconv.FormatInt(start+length-1, 10) + "/" + strconv.FormatInt(size, 10)
}

// IfRangeHolds reports whether a Range may apply: no If-Range, or one that
// names the current representation (a strong ETag, or the exact
// Last-Modified date).
func IfRangeHolds(ifRange string, f *File) bool {
	ifRange = strings.TrimSpace(ifRange)
	switch {
	case ifRange == "":
		return true
	case strings.HasPrefix(ifRange, `"`):
		return ifRange == f.ETag
	case strings.HasPrefix(ifRange, "W/"):
		return false // weak validators never match If-Range
	}
	t, ok := ParseHTTPDate(ifRange)
	return ok && !f.ModTime.IsZero() && f.ModTime.Truncate(time.Second).Equal(t)
}

// ParseRange parses a Range field for a representation of size bytes. ok
// is false when the field is to be ignored (not bytes, malformed, or
// several ranges: the whole file is sent); satisfiable is false when the
// one range starts past the end (416).
func ParseRange(h string, size int64) (start, length int64, ok, satisfiable bool) {
	spec, found := strings.CutPrefix(strings.TrimSpace(h), "bytes=")
	if !found || strings.Contains(spec, ",") {
		return 0, 0, false, false
	}
	first, last, found := strings.Cut(strings.TrimSpace(spec), "-")
	if !found {
		return 0, 0, false, false
	}
	first, last = strings.TrimSpace(first), strings.TrimSpace(last)
	if first == "" { // suffix: the last n bytes
		n, err := strconv.ParseInt(last, 10, 64)
		if err != nil || n < 0 || last[0] == '+' {
			return 0, 0, false, false
		}
		if n == 0 || size == 0 {
			return 0, 0, true, false
		}
		n = min(n, size)
		return size - n, n, true, true
	}
	a, err := strconv.ParseInt(first, 10, 64)
	if err != nil || a < 0 || first[0] == '+' {
		return 0, 0, false, false
	}
	end := size - 1
	if last != "" {
		b, err := strconv.ParseInt(last, 10, 64)
		if err != nil || b < a || last[0] == '+' {
			return 0, 0, false, false
		}
		end = min(b, size-1)
	}
	if a >= size {
		return 0, 0, true, false
	}
	return a, end - a + 1, true, true
}

// MatchETag reports whether the If-Match or If-None-Match list matches
// etag, with the strong comparison (If-Match) or the weak one
// (If-None-Match) of RFC 9110 §8.8.3.2.
func MatchETag(list, etag string, strong bool) bool {
	if strings.TrimSpace(list) == "*" {
		return true
	}
	if strong && strings.HasPrefix(etag, "W/") {
		return false
	}
	opaque := strings.TrimPrefix(etag, "W/")
	for list != "" {
		var tag string
		tag, list, _ = strings.Cut(list, ",")
		tag = strings.TrimSpace(tag)
		weak := strings.HasPrefix(tag, "W/")
		if weak && strong {
			continue
		}
		if strings.TrimPrefix(tag, "W/") == opaque {
			return true
		}
	}
	return false
}

// ParseHTTPDate parses an HTTP date in any of the three formats a recipient
// must accept (RFC 9110 §5.6.7).
func ParseHTTPDate(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	for _, layout := range [...]string{timeFormat, "Monday, 02-Jan-06 15:04:05 GMT", "Mon Jan _2 15:04:05 2006"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}
