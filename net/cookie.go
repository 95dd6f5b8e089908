package net

import (
	"iter"
	"net/http"
	"strings"
)

// Cookies. Reading follows net/http's Request.Cookie and Request.Cookies
// exactly (the tests compare them): every Cookie header is read, pairs are
// split on ';', a pair with an invalid name or value is skipped, and a
// value in double quotes is given without them. Reading allocates nothing:
// names and values are views of the request's bytes, valid as long as the
// Ctx (copy them to keep them longer).
//
// Setting takes a *http.Cookie, so that every standard attribute (Path,
// Domain, Expires, MaxAge, Secure, HttpOnly, SameSite, Partitioned) is
// written, and validated, by net/http's own code rather than a copy of it.
// Importing net/http costs weft nothing it did not pay already: zap, which
// the net package uses, imports it, so it is in every weft binary.

// Cookie returns the value of the first valid cookie named name sent with
// the request, and whether there was one. It allocates nothing. Loop-only.
func (c *Ctx) Cookie(name string) (string, bool) {
	for _, h := range c.req.Headers {
		if !equalFoldASCII(c.str(h.Name), "Cookie") {
			continue
		}
		line := c.str(h.Value)
		for line != "" {
			var n, v string
			var ok bool
			n, v, line, ok = nextCookie(line)
			if ok && n == name {
				return v, true
			}
		}
	}
	return "", false
}

// Cookies yields the name and value of every valid cookie sent with the
// request, in order. Loop-only.
func (c *Ctx) Cookies() iter.Seq2[string, string] {
	return func(yield func(string, string) bool) {
		for _, h := range c.req.Headers {
			if !equalFoldASCII(c.str(h.Name), "Cookie") {
				continue
			}
			line := c.str(h.Value)
			for line != "" {
				var n, v string
				var ok bool
				n, v, line, ok = nextCookie(line)
				if ok && !yield(n, v) {
					return
				}
			}
		}
	}
}

// nextCookie reads the first ';'-separated pair of a Cookie header line,
// as net/http's readCookies does, and returns the rest of the line; ok is
// false for an empty or invalid pair (skipped).
func nextCookie(line string) (name, value, rest string, ok bool) {
	part, rest, _ := strings.Cut(line, ";")
	part = trimCookieSpace(part)
	if part == "" {
		return "", "", rest, false
	}
	name, value, _ = strings.Cut(part, "=")
	name = trimCookieSpace(name)
	if !validToken(name) {
		return "", "", rest, false
	}
	if len(value) > 1 && value[0] == '"' && value[len(value)-1] == '"' {
		value = value[1 : len(value)-1]
	}
	if !validCookieValue(value) {
		return "", "", rest, false
	}
	return name, value, rest, true
}

// SetCookie adds a Set-Cookie header for ck to the response. A cookie that
// net/http's (*http.Cookie).Valid refuses (a bad name, a value or path with
// forbidden bytes, an Expires before 1601) is not sent: the error says why.
// Loop-only.
//
// To delete a cookie, send it with MaxAge -1 and the Path and Domain it was
// set with.
func (c *Ctx) SetCookie(ck *http.Cookie) error {
	if err := ck.Valid(); err != nil {
		return err
	}
	if s := ck.String(); s != "" {
		c.AddHeader("Set-Cookie", s)
	}
	return nil
}

// trimCookieSpace is textproto.TrimString: ASCII space, tab, CR and LF.
func trimCookieSpace(s string) string {
	for len(s) > 0 && isCookieSpace(s[0]) {
		s = s[1:]
	}
	for len(s) > 0 && isCookieSpace(s[len(s)-1]) {
		s = s[:len(s)-1]
	}
	return s
}

func isCookieSpace(b byte) bool { return b == ' ' || b == '\t' || b == '\r' || b == '\n' }

// validCookieValue reports whether every byte of v may appear in a cookie
// value as net/http reads it.
func validCookieValue(v string) bool {
	for i := 0; i < len(v); i++ {
		if b := v[i]; b < 0x20 || b >= 0x7f || b == '"' || b == ';' || b == '\\' {
			return false
		}
	}
	return true
}

// validToken reports whether s is a token (RFC 9110 §5.6.2).
func validToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		b := s[i]
		if b <= ' ' || b >= 0x7f || strings.IndexByte(`"(),/:;<=>?@[\]{}`, b) >= 0 {
			return false
		}
	}
	return true
}
