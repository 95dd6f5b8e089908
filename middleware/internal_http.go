package middleware

import (
	"strings"

	"github.com/weftgo/weft/net"
)

// Small HTTP helpers shared by the middleware of this package.

// validToken reports whether s is a token (RFC 9110 §5.6.2): a valid header
// name or method.
func validToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`"(),/:;<=>?@[\]{}`, c) >= 0 {
			return false
		}
	}
	return true
}

// addVary adds token to the response's Vary header unless the first Vary
// field already lists it. It adds a field rather than rewriting one, so it
// never allocates and never drops what other middleware put there; several
// Vary fields mean the same as one with the values joined (RFC 9110 §5.3).
// Middleware must use it, not SetHeader("Vary", ...), which would replace
// the Vary values of the others. Loop-only.
func addVary(c *net.Ctx, token string) {
	if hasToken(c.ResponseHeader("Vary"), token) {
		return
	}
	c.AddHeader("Vary", token)
}

// hasToken reports whether the comma-separated list has token, ignoring
// ASCII case and optional white space.
func hasToken(list, token string) bool {
	for list != "" {
		var item string
		item, list, _ = strings.Cut(list, ",")
		if strings.EqualFold(strings.TrimSpace(item), token) {
			return true
		}
	}
	return false
}
