package http1

import (
	"encoding/binary"
	"math/bits"
)

// Byte classes, one bit each, looked up in a 256-entry table so that every
// inner scanning loop is one load and one test per byte (picohttpparser's
// approach, without SIMD).
const (
	// cToken: tchar, RFC 9110 §5.6.2:
	// "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." / "^" / "_" /
	// "`" / "|" / "~" / DIGIT / ALPHA.
	cToken uint8 = 1 << iota
	// cValue: field-vchar / SP / HTAB, RFC 9110 §5.5: VCHAR, obs-text
	// (0x80-0xFF), SP and HTAB. No CTL, no DEL, so no CR, LF or NUL.
	cValue
	// cTarget: a request-target byte that needs no special handling:
	// VCHAR (0x21-0x7E) except '#' (fragments are never sent, RFC 9112 §3.2),
	// '%' (checked as pct-encoded, RFC 3986 §2.1) and '?' (starts the query).
	cTarget
	// cHex: HEXDIG, RFC 5234 §B.1 (either case).
	cHex
	// cRegName: unreserved / sub-delims, the reg-name bytes of RFC 3986 §3.2.2
	// (pct-encoded hosts are not accepted).
	cRegName
	// cScheme: ALPHA / DIGIT / "+" / "-" / ".", RFC 3986 §3.1.
	cScheme
	// cQDText: qdtext, RFC 9110 §5.6.4: HTAB / SP / 0x21 / 0x23-0x5B /
	// 0x5D-0x7E / obs-text.
	cQDText
)

// class maps a byte to its set of classes. It is computed once and never
// written afterwards.
var class = func() (t [256]uint8) {
	set := func(bits uint8, chars string) {
		for i := 0; i < len(chars); i++ {
			t[chars[i]] |= bits
		}
	}
	const (
		digit = "0123456789"
		alpha = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	)
	set(cToken, digit+alpha+"!#$%&'*+-.^_`|~")
	set(cHex, digit+"abcdefABCDEF")
	set(cRegName, digit+alpha+"-._~"+"!$&'()*+,;=")
	set(cScheme, digit+alpha+"+-.")
	for c := 0x21; c <= 0x7e; c++ {
		t[c] |= cValue | cTarget | cQDText
	}
	for c := 0x80; c <= 0xff; c++ {
		t[c] |= cValue | cQDText
	}
	t[' '] |= cValue | cQDText
	t['\t'] |= cValue | cQDText
	t['#'] &^= cTarget
	t['%'] &^= cTarget
	t['?'] &^= cTarget
	t['"'] &^= cQDText
	t['\\'] &^= cQDText
	return t
}()

func isToken(c byte) bool { return class[c]&cToken != 0 }
func isHex(c byte) bool   { return class[c]&cHex != 0 }
func isDigit(c byte) bool { return c-'0' < 10 }
func isWS(c byte) bool    { return c == ' ' || c == '\t' }

// unhex returns the value of a hex digit; c must satisfy isHex.
func unhex(c byte) uint64 {
	if c <= '9' {
		return uint64(c - '0')
	}
	return uint64(c|0x20-'a') + 10
}

// skipWS returns the index of the first byte at or after i that is not SP or
// HTAB.
func skipWS(b []byte, i int) int {
	for i < len(b) && isWS(b[i]) {
		i++
	}
	return i
}

// trimWS returns [s, e) with SP and HTAB removed from both ends.
func trimWS(b []byte, s, e int) (int, int) {
	for s < e && isWS(b[s]) {
		s++
	}
	for e > s && isWS(b[e-1]) {
		e--
	}
	return s, e
}

// equalLower reports whether b equals lower, ASCII case-insensitively.
// lower must be lowercase letters, digits and '-'. The OR-0x20 trick is exact
// for such targets as long as b holds no CTL bytes, which the callers
// guarantee (b is a token or a field value): only 'A'-'Z' fold onto letters,
// and only CR (0x0D) would fold onto '-'.
func equalLower(b []byte, lower string) bool {
	if len(b) != len(lower) {
		return false
	}
	for i := 0; i < len(b); i++ {
		if b[i]|0x20 != lower[i] {
			return false
		}
	}
	return true
}

// nextElement splits a comma-separated list value (RFC 9110 §5.6.1): it
// returns the element starting at i in b[:e], trimmed of OWS, and the start
// of the next element, or -1 after the last one. Elements may be empty: an
// empty value is one empty element and "a," is "a" then "".
func nextElement(b []byte, i, e int) (s, t, next int) {
	j := i
	for j < e && b[j] != ',' {
		j++
	}
	s, t = trimWS(b, i, j)
	if j == e {
		return s, t, -1
	}
	return s, t, j + 1
}

// SWAR ("SIMD within a register") helpers: eight bytes tested at once in a
// uint64, for the long runs of plain bytes in targets and field values. Each
// returns a mask with the high bit set in flagged bytes. Borrows can only
// spill upwards from a true match, so the lowest flagged byte is always a
// true match: that is all the scanners rely on.
const (
	ones  = 0x0101010101010101
	highs = 0x8080808080808080
)

// hasLess flags the bytes of x below n, for n <= 128.
func hasLess(x uint64, n byte) uint64 { return (x - ones*uint64(n)) &^ x & highs }

// hasByte flags the bytes of x equal to c.
func hasByte(x uint64, c byte) uint64 {
	v := x ^ ones*uint64(c)
	return (v - ones) &^ v & highs
}

// firstFlagged returns the index in its word of the lowest flagged byte of
// the non-zero mask m.
func firstFlagged(m uint64) int { return bits.TrailingZeros64(m) >> 3 }

// scanValue returns the index of the first byte at or after i that is not a
// field-value byte (RFC 9110 §5.5), or len(b): eight bytes at a time,
// stopping on CTLs and DEL (HTAB, a valid one, is stepped over).
func scanValue(b []byte, i int) int {
	for i+8 <= len(b) {
		m := binary.LittleEndian.Uint64(b[i:])
		m = hasLess(m, 0x20) | hasByte(m, 0x7f)
		if m == 0 {
			i += 8
			continue
		}
		i += firstFlagged(m)
		if b[i] != '\t' {
			return i
		}
		i++
	}
	for i < len(b) && class[b[i]]&cValue != 0 {
		i++
	}
	return i
}

// scanTarget returns the index of the first byte at or after i that is not
// a plain request-target byte (cTarget: visible ASCII other than '#', '%'
// and '?'), or len(b), eight bytes at a time.
func scanTarget(b []byte, i int) int {
	for i+8 <= len(b) {
		x := binary.LittleEndian.Uint64(b[i:])
		m := hasLess(x, 0x21) | x&highs | hasByte(x, 0x7f) | hasByte(x, '#') | hasByte(x, '%') | hasByte(x, '?')
		if m != 0 {
			return i + firstFlagged(m)
		}
		i += 8
	}
	for i < len(b) && class[b[i]]&cTarget != 0 {
		i++
	}
	return i
}
