package http1

// parseTarget classifies the request-target b[ts:te] (its bytes already
// checked: visible ASCII, no '#', valid pct-encoding) into one of the four
// forms of RFC 9112 §3.2 and sets r.Form, r.Target, r.Path, r.Query and, for
// the forms that carry an authority, r.Host. query is the index of the first
// '?' or -1.
func parseTarget(b []byte, ts, te, query int, r *Request) error {
	r.Target = span(ts, te)
	pathEnd := te
	if query >= 0 {
		pathEnd = query
		r.Query = span(query+1, te)
	}
	connect := bytesEqual(r.Method, b, "CONNECT")
	switch {
	case b[ts] == '/':
		// origin-form = absolute-path [ "?" query ] (§3.2.1). CONNECT takes
		// only authority-form (§3.2.3).
		if connect {
			return ErrBadTarget
		}
		r.Form = FormOrigin
		r.Path = span(ts, pathEnd)
		return nil
	case te-ts == 1 && b[ts] == '*':
		// asterisk-form = "*", only for OPTIONS (§3.2.4).
		if !bytesEqual(r.Method, b, "OPTIONS") {
			return ErrBadTarget
		}
		r.Form = FormAsterisk
		r.Path = r.Target
		return nil
	case connect:
		// authority-form = uri-host ":" port (§3.2.3).
		if query >= 0 || !validHostPort(b, ts, te, true) {
			return ErrBadTarget
		}
		r.Form = FormAuthority
		r.Host = r.Target
		return nil
	}
	return parseAbsolute(b, ts, pathEnd, r)
}

// parseAbsolute parses absolute-form (§3.2.2) restricted to URIs with an
// authority: scheme "://" authority path-abempty [ "?" query ], where the
// authority is uri-host [ ":" port ] without userinfo (RFC 9110 §4.2.4:
// userinfo is an error). b[ts:pathEnd] is the target without its query.
func parseAbsolute(b []byte, ts, pathEnd int, r *Request) error {
	// scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) (RFC 3986 §3.1)
	i := ts
	if b[i]|0x20 < 'a' || b[i]|0x20 > 'z' {
		return ErrBadTarget
	}
	for i < pathEnd && class[b[i]]&cScheme != 0 {
		i++
	}
	if pathEnd-i < 3 || b[i] != ':' || b[i+1] != '/' || b[i+2] != '/' {
		return ErrBadTarget
	}
	slash := i + 2 // the second '/' of "://"
	as := i + 3
	ae := as
	for ae < pathEnd && b[ae] != '/' {
		ae++
	}
	if ae == as || !validHostPort(b, as, ae, false) {
		return ErrBadTarget
	}
	r.Form = FormAbsolute
	r.Host = span(as, ae)
	if ae == pathEnd {
		r.Path = span(slash, slash+1) // the URI has an empty path: "/"
	} else {
		r.Path = span(ae, pathEnd)
	}
	return nil
}

// bytesEqual reports whether s resolved against b equals lit exactly.
func bytesEqual(s Span, b []byte, lit string) bool {
	return s.Len() == len(lit) && string(s.Bytes(b)) == lit
}

// validHostPort reports whether b[s:e] is uri-host [ ":" port ]
// (RFC 9112 §3.2, RFC 3986 §3.2.2, §3.2.3) with a non-empty host. uri-host is
// an IP-literal holding an IPv6 address, or a reg-name of unreserved and
// sub-delims bytes (an IPv4 address is a valid reg-name; pct-encoded and
// IPvFuture hosts are not accepted). needPort demands ":" 1*DIGIT.
func validHostPort(b []byte, s, e int, needPort bool) bool {
	i := s
	if i < e && b[i] == '[' {
		j := i + 1
		for j < e && b[j] != ']' {
			j++
		}
		if j == e || !validIPv6(b[i+1:j]) {
			return false
		}
		i = j + 1
	} else {
		for i < e && class[b[i]]&cRegName != 0 {
			i++
		}
		if i == s {
			return false
		}
	}
	if i == e {
		return !needPort
	}
	if b[i] != ':' {
		return false
	}
	i++
	if needPort && i == e {
		return false
	}
	for ; i < e; i++ {
		if !isDigit(b[i]) {
			return false
		}
	}
	return true
}

// validIPv6 reports whether s is an IPv6address (RFC 3986 §3.2.2), optionally
// ending in an embedded IPv4 address. It accepts exactly what
// net/netip.ParseAddr accepts for a zoneless IPv6 address, without
// allocating.
func validIPv6(s []byte) bool {
	groups, ellipsis := 0, -1 // 16-bit groups seen; groups before "::"
	if len(s) >= 2 && s[0] == ':' && s[1] == ':' {
		ellipsis = 0
		s = s[2:]
		if len(s) == 0 {
			return true
		}
	}
	for groups < 8 {
		n := 0
		for n < len(s) && isHex(s[n]) {
			n++
		}
		if n == 0 {
			return false
		}
		if n < len(s) && s[n] == '.' {
			// An embedded IPv4 address takes the last two groups.
			if ellipsis < 0 && groups != 6 || groups > 6 || !validIPv4(s) {
				return false
			}
			groups += 2
			s = s[len(s):]
			break
		}
		if n > 4 {
			return false
		}
		groups++
		s = s[n:]
		if len(s) == 0 {
			break
		}
		if s[0] != ':' || len(s) == 1 {
			return false
		}
		s = s[1:]
		if s[0] == ':' {
			if ellipsis >= 0 {
				return false
			}
			ellipsis = groups
			s = s[1:]
			if len(s) == 0 {
				break
			}
		}
	}
	if len(s) != 0 {
		return false
	}
	if ellipsis >= 0 {
		return groups < 8 // "::" stands for at least one group
	}
	return groups == 8
}

// validIPv4 reports whether s is a dotted-decimal IPv4 address with four
// octets of at most 255 and no leading zeros (as net/netip requires).
func validIPv4(s []byte) bool {
	fields, val, digits := 0, 0, 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case isDigit(c):
			if digits == 1 && val == 0 {
				return false
			}
			val = val*10 + int(c-'0')
			digits++
			if val > 255 {
				return false
			}
		case c == '.':
			if digits == 0 || fields == 3 {
				return false
			}
			fields++
			val, digits = 0, 0
		default:
			return false
		}
	}
	return fields == 3 && digits > 0
}
