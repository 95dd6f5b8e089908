package http1

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// parsed is a Request resolved against its buffer, for comparisons.
type parsed struct {
	Method, Target, Path, Query, Host string
	Form                              TargetForm
	Minor                             int
	ContentLength                     int64
	Chunked, KeepAlive, Expect        bool
	Headers                           []string // "name: value"
	HeadLen                           int
}

func resolve(buf []byte, r *Request) parsed {
	p := parsed{
		Method: string(r.Method.Bytes(buf)), Target: string(r.Target.Bytes(buf)),
		Path: string(r.Path.Bytes(buf)), Query: string(r.Query.Bytes(buf)),
		Host: string(r.Host.Bytes(buf)), Form: r.Form, Minor: r.Minor,
		ContentLength: r.ContentLength, Chunked: r.Chunked, KeepAlive: r.KeepAlive,
		Expect: r.ExpectContinue, HeadLen: r.HeadLen,
	}
	for _, h := range r.Headers {
		p.Headers = append(p.Headers, string(h.Name.Bytes(buf))+": "+string(h.Value.Bytes(buf)))
	}
	return p
}

func newRequest() *Request {
	r := &Request{Headers: make([]Header, 0, DefaultMaxHeaders)}
	r.Reset()
	return r
}

// get is the most common expectation: an origin-form HTTP/1.1 request.
func get(path, query, host string, headers ...string) parsed {
	target := path
	if query != "" {
		target += "?" + query
	}
	return parsed{Method: "GET", Target: target, Path: path, Query: query, Host: host,
		Form: FormOrigin, Minor: 1, ContentLength: -1, KeepAlive: true, Headers: headers}
}

// with applies small edits to an expectation, to keep the table flat.
func (p parsed) with(edit func(*parsed)) parsed { edit(&p); return p }

const wrkGET = "GET /plaintext HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n"

const browserGET = "GET /static/app.js?v=3 HTTP/1.1\r\n" +
	"Host: www.example.com\r\n" +
	"Connection: keep-alive\r\n" +
	"sec-ch-ua: \"Chromium\";v=\"124\", \"Not-A.Brand\";v=\"99\"\r\n" +
	"sec-ch-ua-mobile: ?0\r\n" +
	"User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36\r\n" +
	"sec-ch-ua-platform: \"Linux\"\r\n" +
	"Accept: */*\r\n" +
	"Sec-Fetch-Site: same-origin\r\n" +
	"Sec-Fetch-Mode: no-cors\r\n" +
	"Sec-Fetch-Dest: script\r\n" +
	"Referer: https://www.example.com/\r\n" +
	"Accept-Encoding: gzip, deflate, br, zstd\r\n" +
	"Accept-Language: en-US,en;q=0.9\r\n" +
	"Cookie: session=0123456789abcdef; theme=dark\r\n\r\n"

const chunkedPOST = "POST /upload HTTP/1.1\r\nHost: example.com\r\nTransfer-Encoding: chunked\r\nContent-Type: text/plain\r\n\r\n"

var validHeads = []struct {
	name string
	in   string
	want parsed
}{
	{"wrk GET", wrkGET, get("/plaintext", "", "127.0.0.1:8080", "Host: 127.0.0.1:8080")},
	{"HTTP/1.0 without Host closes", "GET / HTTP/1.0\r\n\r\n",
		get("/", "", "").with(func(p *parsed) { p.Minor, p.KeepAlive = 0, false })},
	{"HTTP/1.0 keep-alive (§9.3)", "GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n",
		get("/", "", "", "Connection: Keep-Alive").with(func(p *parsed) { p.Minor = 0 })},
	{"HTTP/1.0 keep-alive and close", "GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n",
		get("/", "", "", "Connection: keep-alive, close").with(func(p *parsed) { p.Minor, p.KeepAlive = 0, false })},
	{"HTTP/1.1 close among tokens", "GET / HTTP/1.1\r\nHost: a\r\nConnection: upgrade , CLOSE\r\n\r\n",
		get("/", "", "a", "Host: a", "Connection: upgrade , CLOSE").with(func(p *parsed) { p.KeepAlive = false })},
	{"HTTP/1.1 close in a second Connection line", "GET / HTTP/1.1\r\nHost: a\r\nConnection: foo\r\nconnection: close\r\n\r\n",
		get("/", "", "a", "Host: a", "Connection: foo", "connection: close").with(func(p *parsed) { p.KeepAlive = false })},
	{"close-ish token is not close", "GET / HTTP/1.1\r\nHost: a\r\nConnection: closed\r\n\r\n",
		get("/", "", "a", "Host: a", "Connection: closed")},
	{"query", "GET /a/b?x=1&y=%20 HTTP/1.1\r\nHost: a\r\n\r\n", get("/a/b", "x=1&y=%20", "a", "Host: a")},
	{"empty query", "GET /p? HTTP/1.1\r\nHost: a\r\n\r\n",
		get("/p", "", "a", "Host: a").with(func(p *parsed) { p.Target = "/p?" })},
	{"second ? belongs to the query", "GET /p?a?b HTTP/1.1\r\nHost: a\r\n\r\n", get("/p", "a?b", "a", "Host: a")},
	{"every visible ASCII byte but #", "GET /-._~!$&'()*+,;=:@/%41\"<>\\^`{|}[] HTTP/1.1\r\nHost: a\r\n\r\n",
		get("/-._~!$&'()*+,;=:@/%41\"<>\\^`{|}[]", "", "a", "Host: a")},
	{"extension method", "PURGE /x HTTP/1.1\r\nHost: a\r\n\r\n",
		get("/x", "", "a", "Host: a").with(func(p *parsed) { p.Method = "PURGE" })},
	{"absolute-form: URI authority wins over Host (§3.2.2)", "GET http://example.com:8080/x?y HTTP/1.1\r\nHost: other\r\n\r\n",
		get("/x", "y", "example.com:8080", "Host: other").with(func(p *parsed) {
			p.Form, p.Target = FormAbsolute, "http://example.com:8080/x?y"
		})},
	{"absolute-form without path is /", "GET http://example.com HTTP/1.1\r\nHost: example.com\r\n\r\n",
		get("/", "", "example.com", "Host: example.com").with(func(p *parsed) {
			p.Form, p.Target = FormAbsolute, "http://example.com"
		})},
	{"absolute-form without path, with query", "GET HTTPS://example.com?q HTTP/1.1\r\nHost: example.com\r\n\r\n",
		get("/", "q", "example.com", "Host: example.com").with(func(p *parsed) {
			p.Form, p.Target = FormAbsolute, "HTTPS://example.com?q"
		})},
	{"absolute-form IPv6", "POST http://[2001:db8::1]:80/ HTTP/1.1\r\nHost: [2001:db8::1]:80\r\n\r\n",
		get("/", "", "[2001:db8::1]:80", "Host: [2001:db8::1]:80").with(func(p *parsed) {
			p.Method, p.Form, p.Target = "POST", FormAbsolute, "http://[2001:db8::1]:80/"
		})},
	{"authority-form (CONNECT)", "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n",
		get("", "", "example.com:443", "Host: example.com:443").with(func(p *parsed) {
			p.Method, p.Form, p.Target = "CONNECT", FormAuthority, "example.com:443"
		})},
	{"asterisk-form (OPTIONS)", "OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n",
		get("*", "", "a", "Host: a").with(func(p *parsed) { p.Method, p.Form = "OPTIONS", FormAsterisk })},
	{"leading empty lines are skipped and counted (§2.2)", "\r\n\r\n\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n",
		get("/", "", "a", "Host: a")},
	{"Content-Length", "POST /p HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello",
		get("/p", "", "a", "Host: a", "Content-Length: 5").with(func(p *parsed) {
			p.Method, p.ContentLength, p.HeadLen = "POST", 5, len("POST /p HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\n")
		})},
	{"Content-Length zero and leading zeros", "POST /p HTTP/1.1\r\nHost: a\r\ncontent-length: 007\r\n\r\n",
		get("/p", "", "a", "Host: a", "content-length: 007").with(func(p *parsed) { p.Method, p.ContentLength = "POST", 7 })},
	{"Content-Length max int64", "POST /p HTTP/1.1\r\nHost: a\r\nContent-Length: 9223372036854775807\r\n\r\n",
		get("/p", "", "a", "Host: a", "Content-Length: 9223372036854775807").with(func(p *parsed) {
			p.Method, p.ContentLength = "POST", 1<<63-1
		})},
	{"chunked", chunkedPOST,
		get("/upload", "", "example.com", "Host: example.com", "Transfer-Encoding: chunked", "Content-Type: text/plain").with(func(p *parsed) {
			p.Method, p.Chunked = "POST", true
		})},
	{"chunked after HTAB (legal OWS)", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:\tchunked\r\n\r\n",
		get("/", "", "a", "Host: a", "Transfer-Encoding: chunked").with(func(p *parsed) { p.Method, p.Chunked = "POST", true })},
	{"chunked case-insensitive", "POST / HTTP/1.1\r\nHost: a\r\ntransfer-encoding: ChUnKeD\r\n\r\n",
		get("/", "", "a", "Host: a", "transfer-encoding: ChUnKeD").with(func(p *parsed) { p.Method, p.Chunked = "POST", true })},
	{"Transfer_Encoding is just an unknown field", "POST / HTTP/1.1\r\nHost: a\r\nTransfer_Encoding: chunked\r\n\r\n",
		get("/", "", "a", "Host: a", "Transfer_Encoding: chunked").with(func(p *parsed) { p.Method = "POST" })},
	{"Expect: 100-continue", "PUT /f HTTP/1.1\r\nHost: a\r\nExpect: 100-Continue\r\nContent-Length: 3\r\n\r\n",
		get("/f", "", "a", "Host: a", "Expect: 100-Continue", "Content-Length: 3").with(func(p *parsed) {
			p.Method, p.Expect, p.ContentLength = "PUT", true, 3
		})},
	{"Expect: 100-continue ignored in HTTP/1.0 (RFC 9110 §10.1.1)", "PUT /f HTTP/1.0\r\nExpect: 100-continue\r\n\r\n",
		get("/f", "", "", "Expect: 100-continue").with(func(p *parsed) { p.Method, p.Minor, p.KeepAlive = "PUT", 0, false })},
	{"empty Expect expects nothing", "GET / HTTP/1.1\r\nHost: a\r\nExpect:\r\n\r\n", get("/", "", "a", "Host: a", "Expect: ")},
	{"OWS trimmed, inner whitespace kept", "GET / HTTP/1.1\r\nHost:a\r\nX:  \t a \t b\t \r\nY:\r\nZ: \t \r\n\r\n",
		get("/", "", "a", "Host: a", "X: a \t b", "Y: ", "Z: ")},
	{"obs-text in a value", "GET / HTTP/1.1\r\nHost: a\r\nX: caf\xc3\xa9 \xff\r\n\r\n", get("/", "", "a", "Host: a", "X: caf\xc3\xa9 \xff")},
	{"empty Host (no authority in target)", "GET / HTTP/1.1\r\nHost: \r\n\r\n", get("/", "", "", "Host: ")},
	{"Host IPv6 with port", "GET / HTTP/1.1\r\nHost: [::ffff:10.0.0.1]:8080\r\n\r\n",
		get("/", "", "[::ffff:10.0.0.1]:8080", "Host: [::ffff:10.0.0.1]:8080")},
	{"Host with sub-delims and empty port", "GET / HTTP/1.1\r\nHost: a-b_c~d!$&'()*+,;=.e:\r\n\r\n",
		get("/", "", "a-b_c~d!$&'()*+,;=.e:", "Host: a-b_c~d!$&'()*+,;=.e:")},
	{"Trailer announcing an ordinary field", "POST / HTTP/1.1\r\nHost: a\r\nTrailer: X-Checksum, Server-Timing\r\nTransfer-Encoding: chunked\r\n\r\n",
		get("/", "", "a", "Host: a", "Trailer: X-Checksum, Server-Timing", "Transfer-Encoding: chunked").with(func(p *parsed) {
			p.Method, p.Chunked = "POST", true
		})},
	{"pipelined: only the first head", wrkGET + wrkGET, get("/plaintext", "", "127.0.0.1:8080", "Host: 127.0.0.1:8080").with(func(p *parsed) {
		p.HeadLen = len(wrkGET)
	})},
	{"browser GET", browserGET, get("/static/app.js", "v=3", "www.example.com",
		"Host: www.example.com", "Connection: keep-alive",
		"sec-ch-ua: \"Chromium\";v=\"124\", \"Not-A.Brand\";v=\"99\"", "sec-ch-ua-mobile: ?0",
		"User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
		"sec-ch-ua-platform: \"Linux\"", "Accept: */*", "Sec-Fetch-Site: same-origin", "Sec-Fetch-Mode: no-cors",
		"Sec-Fetch-Dest: script", "Referer: https://www.example.com/", "Accept-Encoding: gzip, deflate, br, zstd",
		"Accept-Language: en-US,en;q=0.9", "Cookie: session=0123456789abcdef; theme=dark")},
}

func TestParseHeadValid(t *testing.T) {
	for _, tc := range validHeads {
		t.Run(tc.name, func(t *testing.T) {
			buf := []byte(tc.in)
			r := newRequest()
			n, err := ParseHead(buf, r, nil)
			if err != nil {
				t.Fatalf("ParseHead = %d, %v; want success", n, err)
			}
			want := tc.want
			if want.HeadLen == 0 {
				want.HeadLen = len(tc.in)
			}
			if n != want.HeadLen {
				t.Errorf("n = %d, want %d", n, want.HeadLen)
			}
			if got := resolve(buf, r); !reflect.DeepEqual(got, want) {
				t.Errorf("got  %+v\nwant %+v", got, want)
			}
		})
	}
}

// TestParseHeadIncomplete cuts every valid head at every byte: each prefix
// is incomplete (0, nil), whether parsed afresh or as a retry on the same
// Request (which takes the resume shortcut), and the full retry then gives
// the same result as a one-shot parse.
func TestParseHeadIncomplete(t *testing.T) {
	for _, tc := range validHeads {
		t.Run(tc.name, func(t *testing.T) {
			buf := []byte(tc.in)
			oneShot := newRequest()
			n, err := ParseHead(buf, oneShot, nil)
			if err != nil {
				t.Fatal(err)
			}
			retried := newRequest()
			for k := 0; k < n; k++ {
				if m, err := ParseHead(buf[:k], newRequest(), nil); m != 0 || err != nil {
					t.Fatalf("fresh prefix %d/%d: got %d, %v; want 0, nil", k, n, m, err)
				}
				if m, err := ParseHead(buf[:k], retried, nil); m != 0 || err != nil {
					t.Fatalf("retried prefix %d/%d: got %d, %v; want 0, nil", k, n, m, err)
				}
			}
			m, err := ParseHead(buf, retried, nil)
			if m != n || err != nil {
				t.Fatalf("retry of the full head = %d, %v; want %d, nil", m, err, n)
			}
			if got, want := resolve(buf, retried), resolve(buf, oneShot); !reflect.DeepEqual(got, want) {
				t.Errorf("retried %+v\none-shot %+v", got, want)
			}
		})
	}
}

// TestParseHeadResumeSeesNewLines checks that the retry shortcut does not
// hide an error or a completed head: a retry whose new bytes hold an LF, or
// any byte the line may not hold there, is parsed.
func TestParseHeadResumeSeesNewLines(t *testing.T) {
	tests := []struct {
		name        string
		first, more string
		wantN       int
		wantErr     error
	}{
		{"completes", "GET / HTTP/1.1\r\nHost: a\r", "\n\r\n", 27, nil},
		{"bad byte then LF", "GET / HTTP/1.1\r\nHost: a", "\x01\r\n\r\n", 0, ErrBadHeader},
		{"bare LF", "GET / HTTP/1.1\r\nHost: a", "\n", 0, ErrLineEnding},
		{"bad byte, no LF yet: found at once", "GET / HTTP/1.1\r\nHost: a", "\x01", 0, ErrBadHeader},
		{"bad name byte, no LF yet", "GET / HTTP/1.1\r\nHo", "\"", 0, ErrBadHeader},
		{"bad method byte, no LF yet", "0", "\"", 0, ErrBadRequestLine},
		{"good bytes: still incomplete", "GET / HTTP/1.1\r\nHo", "st: ab\tc", 0, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			buf := []byte(tc.first + tc.more)
			r := newRequest()
			if n, err := ParseHead(buf[:len(tc.first)], r, nil); n != 0 || err != nil {
				t.Fatalf("first part: %d, %v", n, err)
			}
			n, err := ParseHead(buf, r, nil)
			if n != tc.wantN || err != tc.wantErr {
				t.Fatalf("got %d, %v; want %d, %v", n, err, tc.wantN, tc.wantErr)
			}
		})
	}
}

// TestRequestResetForgetsIncompleteParse: after Reset, bytes at the same
// address are parsed afresh, not taken for the continuation of the
// previous (incomplete) request.
func TestRequestResetForgetsIncompleteParse(t *testing.T) {
	buf := []byte("GET / HTTP/1.1\r\nHost: a")
	r := newRequest()
	if n, err := ParseHead(buf[:20], r, nil); n != 0 || err != nil {
		t.Fatalf("first request: %d, %v", n, err)
	}
	copy(buf, "GET\x01/ HTTP/1.1\r\nHost: a") // another request in the same memory
	r.Reset()
	if n, err := ParseHead(buf, r, nil); err != ErrBadRequestLine {
		t.Fatalf("after Reset: %d, %v; want %v", n, err, ErrBadRequestLine)
	}
}

// Each rejection: the input, the exact sentinel, and the rule.
var invalidHeads = []struct {
	name string
	in   string
	want *Error
}{
	// Request line (RFC 9112 §3).
	{"two SPs before target", "GET  / HTTP/1.1\r\nHost: a\r\n\r\n", ErrBadTarget},
	{"empty target", "CONNECT  HTTP/1.1\r\nHost: a\r\n\r\n", ErrBadTarget},
	{"two SPs before version", "GET /  HTTP/1.1\r\nHost: a\r\n\r\n", ErrBadRequestLine},
	{"SP after version", "GET / HTTP/1.1 \r\nHost: a\r\n\r\n", ErrBadRequestLine},
	{"HTAB as separator", "GET\t/ HTTP/1.1\r\nHost: a\r\n\r\n", ErrBadRequestLine},
	{"leading SP", " GET / HTTP/1.1\r\nHost: a\r\n\r\n", ErrBadRequestLine},
	{"method not a token", "G(T / HTTP/1.1\r\nHost: a\r\n\r\n", ErrBadRequestLine},
	{"method with obs-text", "G\xc3\x89T / HTTP/1.1\r\nHost: a\r\n\r\n", ErrBadRequestLine},
	{"no version", "GET /\r\nHost: a\r\n\r\n", ErrBadRequestLine},
	{"no target", "GET\r\n\r\n", ErrBadRequestLine},
	{"lowercase HTTP", "GET / http/1.1\r\nHost: a\r\n\r\n", ErrBadRequestLine},
	{"version with 3 digits", "GET / HTTP/1.10\r\nHost: a\r\n\r\n", ErrBadRequestLine},
	{"two-digit major", "GET / HTTP/11.1\r\nHost: a\r\n\r\n", ErrBadRequestLine},
	{"version without minor", "GET / HTTP/1\r\nHost: a\r\n\r\n", ErrBadRequestLine},
	{"garbage", "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", ErrBadRequestLine},
	{"too many leading empty lines", strings.Repeat("\r\n", maxEmptyLines+1) + "GET / HTTP/1.1\r\nHost: a\r\n\r\n", ErrBadRequestLine},
	{"HTTP/2.0 (505)", "GET / HTTP/2.0\r\nHost: a\r\n\r\n", ErrVersion},
	{"HTTP/0.9 (505)", "GET / HTTP/0.9\r\nHost: a\r\n\r\n", ErrVersion},
	{"HTTP/1.2 (505)", "GET / HTTP/1.2\r\nHost: a\r\n\r\n", ErrVersion},
	{"h2 preface (505)", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", ErrVersion},

	// Line endings (RFC 9112 §2.2: CRLF only, on purpose).
	{"bare LF after request line", "GET / HTTP/1.1\nHost: a\r\n\r\n", ErrLineEnding},
	{"bare CR after request line", "GET / HTTP/1.1\rHost: a\r\n\r\n", ErrLineEnding},
	{"bare LF after field", "GET / HTTP/1.1\r\nHost: a\n\r\n", ErrLineEnding},
	{"bare CR inside field value", "GET / HTTP/1.1\r\nHost: a\r\nX: a\rb\r\n\r\n", ErrLineEnding},
	{"bare LF ending the head", "GET / HTTP/1.1\r\nHost: a\r\n\n", ErrLineEnding},
	{"CR CR ending the head", "GET / HTTP/1.1\r\nHost: a\r\n\r\r", ErrLineEnding},
	{"bare LF in target", "GET /a\nb HTTP/1.1\r\nHost: a\r\n\r\n", ErrLineEnding},
	{"leading bare LF", "\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", ErrLineEnding},
	{"leading CR CR", "\r\rGET / HTTP/1.1\r\nHost: a\r\n\r\n", ErrLineEnding},

	// request-target (RFC 9112 §3.2).
	{"fragment", "GET /a#frag HTTP/1.1\r\nHost: a\r\n\r\n", ErrBadTarget},
	{"raw UTF-8", "GET /caf\xc3\xa9 HTTP/1.1\r\nHost: a\r\n\r\n", ErrBadTarget},
	{"CTL in target", "GET /a\x01b HTTP/1.1\r\nHost: a\r\n\r\n", ErrBadTarget},
	{"HTAB in target", "GET /a\tb HTTP/1.1\r\nHost: a\r\n\r\n", ErrBadTarget},
	{"DEL in target", "GET /a\x7f HTTP/1.1\r\nHost: a\r\n\r\n", ErrBadTarget},
	{"bad pct-encoding", "GET /%zz HTTP/1.1\r\nHost: a\r\n\r\n", ErrBadTarget},
	{"truncated pct-encoding", "GET /%4 HTTP/1.1\r\nHost: a\r\n\r\n", ErrBadTarget},
	{"bad pct-encoding in query", "GET /?a=%g0 HTTP/1.1\r\nHost: a\r\n\r\n", ErrBadTarget},
	{"relative path", "GET a/b HTTP/1.1\r\nHost: a\r\n\r\n", ErrBadTarget},
	{"asterisk without OPTIONS (§3.2.4)", "GET * HTTP/1.1\r\nHost: a\r\n\r\n", ErrBadTarget},
	{"asterisk plus more", "OPTIONS *x HTTP/1.1\r\nHost: a\r\n\r\n", ErrBadTarget},
	{"CONNECT with origin-form (§3.2.3)", "CONNECT /p HTTP/1.1\r\nHost: a\r\n\r\n", ErrBadTarget},
	{"CONNECT with asterisk", "CONNECT * HTTP/1.1\r\nHost: a\r\n\r\n", ErrBadTarget},
	{"CONNECT without port", "CONNECT example.com HTTP/1.1\r\nHost: a\r\n\r\n", ErrBadTarget},
	{"CONNECT with empty port", "CONNECT example.com: HTTP/1.1\r\nHost: a\r\n\r\n", ErrBadTarget},
	{"CONNECT with path", "CONNECT example.com:443/x HTTP/1.1\r\nHost: a\r\n\r\n", ErrBadTarget},
	{"CONNECT with absolute-form", "CONNECT http://example.com:443/ HTTP/1.1\r\nHost: a\r\n\r\n", ErrBadTarget},
	{"authority-form without CONNECT", "GET example.com:80 HTTP/1.1\r\nHost: a\r\n\r\n", ErrBadTarget},
	{"userinfo (RFC 9110 §4.2.4)", "GET http://user@host/ HTTP/1.1\r\nHost: a\r\n\r\n", ErrBadTarget},
	{"empty authority", "GET http:///path HTTP/1.1\r\nHost: a\r\n\r\n", ErrBadTarget},
	{"no authority", "GET mailto:a@b HTTP/1.1\r\nHost: a\r\n\r\n", ErrBadTarget},
	{"scheme starting with a digit", "GET 1http://x/ HTTP/1.1\r\nHost: a\r\n\r\n", ErrBadTarget},
	{"unclosed IP-literal", "GET http://[::1/ HTTP/1.1\r\nHost: a\r\n\r\n", ErrBadTarget},
	{"IPv4 IP-literal", "GET http://[1.2.3.4]/ HTTP/1.1\r\nHost: a\r\n\r\n", ErrBadTarget},
	{"bad port", "GET http://host:8x/ HTTP/1.1\r\nHost: a\r\n\r\n", ErrBadTarget},
	{"pct-encoded host", "GET http://a%41/ HTTP/1.1\r\nHost: a\r\n\r\n", ErrBadTarget},

	// Field lines (RFC 9112 §5, RFC 9110 §5).
	{"SP before colon (§5.1)", "GET / HTTP/1.1\r\nHost : a\r\n\r\n", ErrWhitespaceBeforeColon},
	{"HTAB before colon (§5.1)", "GET / HTTP/1.1\r\nHost\t: a\r\n\r\n", ErrWhitespaceBeforeColon},
	{"Transfer-Encoding SP colon", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding : chunked\r\n\r\n", ErrWhitespaceBeforeColon},
	{"SP inside name", "GET / HTTP/1.1\r\nHost: a\r\nX Y: z\r\n\r\n", ErrWhitespaceBeforeColon},
	{"empty name", "GET / HTTP/1.1\r\nHost: a\r\n: z\r\n\r\n", ErrBadHeader},
	{"no colon", "GET / HTTP/1.1\r\nHost: a\r\nX-Foo\r\n\r\n", ErrBadHeader},
	{"name not a token", "GET / HTTP/1.1\r\nHost: a\r\nX@Foo: z\r\n\r\n", ErrBadHeader},
	{"name with obs-text", "GET / HTTP/1.1\r\nHost: a\r\nX\xe9: z\r\n\r\n", ErrBadHeader},
	{"NUL in value", "GET / HTTP/1.1\r\nHost: a\r\nX: a\x00b\r\n\r\n", ErrBadHeader},
	{"DEL in value", "GET / HTTP/1.1\r\nHost: a\r\nX: a\x7fb\r\n\r\n", ErrBadHeader},
	{"CTL in value", "GET / HTTP/1.1\r\nHost: a\r\nX: \x1b[0m\r\n\r\n", ErrBadHeader},
	{"obs-fold (§5.2)", "GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n b\r\n\r\n", ErrObsFold},
	{"obs-fold with HTAB", "GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n\tb\r\n\r\n", ErrObsFold},
	{"whitespace before first field (§2.2)", "GET / HTTP/1.1\r\n Host: a\r\n\r\n", ErrObsFold},
	{"obs-fold continuing an empty Content-Length", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length:\r\n 5\r\n\r\nhello", ErrObsFold},
	{"obs-fold continuing Transfer-Encoding", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:\r\n chunked\r\n\r\n0\r\n\r\n", ErrObsFold},

	// Host (RFC 9112 §3.2).
	{"HTTP/1.1 without Host", "GET / HTTP/1.1\r\n\r\n", ErrMissingHost},
	{"absolute-form still needs Host", "GET http://a/ HTTP/1.1\r\n\r\n", ErrMissingHost},
	{"two Host lines", "GET / HTTP/1.1\r\nHost: a\r\nhost: a\r\n\r\n", ErrDuplicateHost},
	{"two Host lines in HTTP/1.0", "GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n", ErrDuplicateHost},
	{"Host list", "GET / HTTP/1.1\r\nHost: a, b\r\n\r\n", ErrBadHost},
	{"Host with SP", "GET / HTTP/1.1\r\nHost: a b\r\n\r\n", ErrBadHost},
	{"Host with two colons", "GET / HTTP/1.1\r\nHost: a:1:2\r\n\r\n", ErrBadHost},
	{"Host with bad port", "GET / HTTP/1.1\r\nHost: a:8x\r\n\r\n", ErrBadHost},
	{"Host with userinfo", "GET / HTTP/1.1\r\nHost: u@a\r\n\r\n", ErrBadHost},
	{"Host with path", "GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", ErrBadHost},
	{"Host port only", "GET / HTTP/1.1\r\nHost: :80\r\n\r\n", ErrBadHost},
	{"Host unclosed bracket", "GET / HTTP/1.1\r\nHost: [::1\r\n\r\n", ErrBadHost},
	{"Host bad IPv6", "GET / HTTP/1.1\r\nHost: [1::2::3]\r\n\r\n", ErrBadHost},
	{"Host pct-encoded", "GET / HTTP/1.1\r\nHost: a%2eb\r\n\r\n", ErrBadHost},
	{"Host obs-text", "GET / HTTP/1.1\r\nHost: caf\xc3\xa9\r\n\r\n", ErrBadHost},

	// Content-Length (RFC 9112 §6.2, §6.3).
	{"negative length", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n", ErrBadContentLength},
	{"signed length", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +1\r\n\r\n", ErrBadContentLength},
	{"hex length", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0x10\r\n\r\n", ErrBadContentLength},
	{"SP inside length", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1 2\r\n\r\n", ErrBadContentLength},
	{"length list", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1,1\r\n\r\n", ErrBadContentLength},
	{"empty length", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: \r\n\r\n", ErrBadContentLength},
	{"length overflows int64", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 9223372036854775808\r\n\r\n", ErrBadContentLength},
	{"huge length", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999999\r\n\r\n", ErrBadContentLength},
	{"duplicate equal lengths", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n", ErrDuplicateContentLength},
	{"duplicate different lengths", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\ncontent-length: 2\r\n\r\n", ErrDuplicateContentLength},

	// Transfer-Encoding (RFC 9112 §6.1, §6.3).
	{"CL then TE", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", ErrContentLengthAndTE},
	{"TE then CL", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n", ErrContentLengthAndTE},
	{"TE gzip then CL", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: gzip\r\n\r\n", ErrContentLengthAndTE},
	{"gzip (501)", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n", ErrUnsupportedTransferEncoding},
	{"identity (501)", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: identity\r\n\r\n", ErrUnsupportedTransferEncoding},
	{"xchunked (501)", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: xchunked\r\n\r\n", ErrUnsupportedTransferEncoding},
	{"chunkedx (501)", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunkedx\r\n\r\n", ErrUnsupportedTransferEncoding},
	{"gzip, chunked (501)", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", ErrUnsupportedTransferEncoding},
	{"chunked not last", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", ErrBadTransferEncoding},
	{"chunked not last across lines", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n\r\n", ErrBadTransferEncoding},
	{"chunked twice", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, chunked\r\n\r\n", ErrBadTransferEncoding},
	{"chunked twice across lines", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\ntransfer-encoding: chunked\r\n\r\n", ErrBadTransferEncoding},
	{"chunked with parameter", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked;q=1\r\n\r\n", ErrBadTransferEncoding},
	{"quoted chunked", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: \"chunked\"\r\n\r\n", ErrBadTransferEncoding},
	{"empty TE", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: \r\n\r\n", ErrBadTransferEncoding},
	{"empty element after", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked,\r\n\r\n", ErrBadTransferEncoding},
	{"empty element before", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: , chunked\r\n\r\n", ErrBadTransferEncoding},
	{"TE in HTTP/1.0", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", ErrBadTransferEncoding},
	{"vertical tab before chunked", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:\vchunked\r\n\r\n", ErrBadHeader},

	// Expect (RFC 9110 §10.1.1) and Trailer (RFC 9110 §6.5.1, §6.6.2).
	{"unknown expectation (417)", "POST / HTTP/1.1\r\nHost: a\r\nExpect: 200-ok\r\n\r\n", ErrExpectation},
	{"expectation list (417)", "POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue, foo\r\n\r\n", ErrExpectation},
	{"Trailer: Content-Length", "POST / HTTP/1.1\r\nHost: a\r\nTrailer: Content-Length\r\nTransfer-Encoding: chunked\r\n\r\n", ErrBadTrailer},
	{"Trailer: transfer-encoding among others", "POST / HTTP/1.1\r\nHost: a\r\nTrailer: X, transfer-encoding\r\n\r\n", ErrBadTrailer},
}

func TestParseHeadInvalid(t *testing.T) {
	for _, tc := range invalidHeads {
		t.Run(tc.name, func(t *testing.T) {
			n, err := ParseHead([]byte(tc.in), newRequest(), nil)
			if n != 0 || err != tc.want {
				t.Fatalf("ParseHead = %d, %v; want 0, %v", n, err, tc.want)
			}
			var e *Error
			if !errors.As(err, &e) || e.Status != tc.want.Status {
				t.Fatalf("error %v is not an *Error with status %d", err, tc.want.Status)
			}
		})
	}
}

// TestParseHeadInvalidPrefixes checks the byte-order promise on every
// rejection: each prefix is incomplete or fails with the same error.
func TestParseHeadInvalidPrefixes(t *testing.T) {
	for _, tc := range invalidHeads {
		t.Run(tc.name, func(t *testing.T) {
			for k := range len(tc.in) {
				n, err := ParseHead([]byte(tc.in[:k]), newRequest(), nil)
				if n != 0 || (err != nil && err != tc.want) {
					t.Fatalf("prefix %d: got %d, %v; want 0 and nil or %v", k, n, err, tc.want)
				}
			}
		})
	}
}

func TestLimits(t *testing.T) {
	line := "GET /0123456789 HTTP/1.1" // 24 bytes
	head := line + "\r\nHost: a\r\nX: 1\r\nY: 2\r\n\r\n"
	tests := []struct {
		name  string
		in    string
		lim   Limits
		wantN int
		want  *Error
	}{
		// MaxRequestLine: the line without CRLF.
		{"line at limit", head, Limits{MaxRequestLine: len(line)}, len(head), nil},
		{"line one over", head, Limits{MaxRequestLine: len(line) - 1}, 0, ErrURITooLong},
		{"line limit counts from after leading CRLFs", "\r\n\r\n" + head, Limits{MaxRequestLine: len(line)}, len(head) + 4, nil},
		{"incomplete line at limit", line[:20], Limits{MaxRequestLine: 20}, 0, nil},
		{"incomplete line one over", line[:21], Limits{MaxRequestLine: 20}, 0, ErrURITooLong},
		{"incomplete line, CR at limit", line + "\r", Limits{MaxRequestLine: len(line)}, 0, nil},
		{"1 MB without CRLF", "GET /" + strings.Repeat("a", 1<<20), Limits{}, 0, ErrURITooLong},
		{"1 MB target", "GET /" + strings.Repeat("a", 1<<20) + " HTTP/1.1\r\n\r\n", Limits{}, 0, ErrURITooLong},
		{"default line limit: at", "GET /" + strings.Repeat("a", DefaultMaxRequestLine-14) + " HTTP/1.1\r\nHost: a\r\n\r\n", Limits{}, DefaultMaxRequestLine + 13, nil},
		{"default line limit: over", "GET /" + strings.Repeat("a", DefaultMaxRequestLine-13) + " HTTP/1.1\r\nHost: a\r\n\r\n", Limits{}, 0, ErrURITooLong},

		// MaxHeaderBytes: the whole head including the final CRLF.
		{"head at limit", head, Limits{MaxHeaderBytes: len(head)}, len(head), nil},
		{"head one over", head, Limits{MaxHeaderBytes: len(head) - 1}, 0, ErrHeaderTooLarge},
		{"head limit counts leading CRLFs", "\r\n" + head, Limits{MaxHeaderBytes: len(head)}, 0, ErrHeaderTooLarge},
		{"incomplete head at limit", head[:len(head)-1], Limits{MaxHeaderBytes: len(head) - 1}, 0, nil},
		{"incomplete head one over", head[:len(head)-1], Limits{MaxHeaderBytes: len(head) - 2}, 0, ErrHeaderTooLarge},
		{"head limit inside the request line", head, Limits{MaxHeaderBytes: 10}, 0, ErrHeaderTooLarge},
		{"1 MB field without CRLF", "GET / HTTP/1.1\r\nX: " + strings.Repeat("a", 1<<20), Limits{}, 0, ErrHeaderTooLarge},
		{"many small fields", "GET / HTTP/1.1\r\n" + strings.Repeat("X: a\r\n", 10000), Limits{MaxHeaders: 1 << 20}, 0, ErrHeaderTooLarge},

		// MaxHeaders: field lines.
		{"fields at limit", head, Limits{MaxHeaders: 3}, len(head), nil},
		{"fields one over", head, Limits{MaxHeaders: 2}, 0, ErrTooManyHeaders},
		{"incomplete, fields one over", head[:len(head)-1], Limits{MaxHeaders: 2}, 0, ErrTooManyHeaders},
		{"incomplete, fields at limit", head[:len(head)-1], Limits{MaxHeaders: 3}, 0, nil},
		{"default field count", "GET / HTTP/1.1\r\nHost: a\r\n" + strings.Repeat("X: a\r\n", DefaultMaxHeaders) + "\r\n", Limits{}, 0, ErrTooManyHeaders},

		// A syntax error before a limit is crossed wins over the limit.
		{"error before the line limit", "G(T /" + strings.Repeat("a", 100), Limits{MaxRequestLine: 50}, 0, ErrBadRequestLine},
		{"error past the line limit", "GET /" + strings.Repeat("a", 100) + "\x01", Limits{MaxRequestLine: 50}, 0, ErrURITooLong},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			lim := tc.lim
			r := &Request{Headers: make([]Header, 0, 8)}
			n, err := ParseHead([]byte(tc.in), r, &lim)
			if n != tc.wantN || err != errorOrNil(tc.want) {
				t.Fatalf("ParseHead = %d, %v; want %d, %v", n, err, tc.wantN, tc.want)
			}
		})
	}
}

// errorOrNil turns a nil *Error into a nil error interface.
func errorOrNil(e *Error) error {
	if e == nil {
		return nil
	}
	return e
}

func TestErrorsAreDistinct(t *testing.T) {
	seen := map[string]bool{}
	for _, e := range allErrors {
		if seen[e.Reason] {
			t.Errorf("two errors share the reason %q", e.Reason)
		}
		seen[e.Reason] = true
		if e.Status < 400 || e.Status > 505 {
			t.Errorf("%v: status %d", e, e.Status)
		}
		if !errors.Is(fmt.Errorf("wrapped: %w", e), e) {
			t.Errorf("%v: errors.Is fails through wrapping", e)
		}
	}
}

var allErrors = []*Error{
	ErrBadRequestLine, ErrBadTarget, ErrURITooLong, ErrVersion, ErrLineEnding,
	ErrHeaderTooLarge, ErrTooManyHeaders, ErrBadHeader, ErrWhitespaceBeforeColon,
	ErrObsFold, ErrMissingHost, ErrDuplicateHost, ErrBadHost, ErrBadContentLength,
	ErrDuplicateContentLength, ErrContentLengthAndTE, ErrBadTransferEncoding,
	ErrUnsupportedTransferEncoding, ErrExpectation, ErrBadTrailer, ErrBadChunk,
	ErrBadChunkExtension, ErrChunkOverhead, ErrBodyTooLarge,
}
