package net_test

// A raw-TCP hardening suite: a real server on 127.0.0.1, hostile bytes on
// the wire, and the exact answer checked, down to the close of the
// connection. Every smuggling row hides a second request; the handler counts
// requests by path, and a smuggled path must never reach it, nor may a second
// response be read.

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/weftgo/weft/net"
	"github.com/weftgo/weft/runtime"
)

// smuggled is the request hidden in hostile messages, and after is the one
// sent behind every message: a server that keeps its framing answers after
// (and never smuggled) on a connection it keeps; a server that rejected the
// message answers neither.
const (
	smuggled = "GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n"
	after    = "GET /after HTTP/1.1\r\nHost: x\r\n\r\n"
)

// pathCounter is a handler that counts the requests it sees by path and
// answers "METHOD PATH HOST BODYLEN". Paths under /async/ answer from a
// timer, so that a response can be pending while later ones are ready.
type pathCounter struct {
	mu    sync.Mutex
	paths map[string]int
	total int
}

func newPathCounter() *pathCounter { return &pathCounter{paths: map[string]int{}} }

func (p *pathCounter) handle(c *net.Ctx) net.Result {
	p.mu.Lock()
	// Path is a view of the request's bytes: a key kept past the request
	// must be a copy (as a view, it later read as another request's path,
	// and counts went to the wrong key).
	p.paths[strings.Clone(c.Path())]++
	p.total++
	p.mu.Unlock()
	answer := fmt.Sprintf("%s %s %s %d", c.Method(), c.Path(), c.Host(), len(c.Body()))
	if strings.HasPrefix(c.Path(), "/async/") {
		return runtime.Then(c, runtime.After(c, time.Millisecond), func(struct{}) net.Result {
			return c.Text(200, answer)
		})
	}
	return c.Text(200, answer)
}

func (p *pathCounter) count(path string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.paths[path]
}

func (p *pathCounter) calls() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.total
}

// reply is one expected response: its status and body.
type reply struct {
	status int
	body   string
}

// expect is the response a wireCase expects, and whether its request is
// sent alone.
type expect struct {
	reply
	alone bool // send req only: the server must answer without more bytes
}

// rejected is the reply to a request the server refuses: the status and
// its status text.
func rejected(status int) expect { return expect{reply: reply{status, net.StatusText(status)}} }

// echo is the reply of a pathCounter, to a request with Host: x.
func echo(method, path string, bodyLen int) expect { return echoHost(method, path, "x", bodyLen) }

func echoHost(method, path, host string, bodyLen int) expect {
	return expect{reply: reply{200, fmt.Sprintf("%s %s %s %d", method, path, host, bodyLen)}}
}

// alone marks a case whose request is sent with nothing after it.
func alone(e expect) expect {
	e.alone = true
	return e
}

// wireCase is one raw exchange: req is written in one piece followed by
// after (unless want.alone). A case answered with an error must close the
// connection without answering after; any other must keep it and answer
// after.
type wireCase struct {
	name string
	req  string
	want expect
}

func chunk(data string) string { return fmt.Sprintf("%x\r\n%s\r\n", len(data), data) }

// runWireCases runs each case on a fresh connection to addr.
func runWireCases(t *testing.T, addr string, h *pathCounter, cases []wireCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := h.calls()
			rc := dial(t, addr)
			_ = rc.c.SetDeadline(time.Now().Add(hangGuard))
			if tc.want.alone {
				rc.send(tc.req)
			} else {
				rc.send(tc.req + after)
			}
			resp, body := rc.read("GET")
			if resp.StatusCode != tc.want.status || body != tc.want.body {
				t.Fatalf("got %d %q, want %d %q", resp.StatusCode, body, tc.want.status, tc.want.body)
			}
			if tc.want.status >= 400 {
				if !resp.Close {
					t.Fatalf("a %d without Connection: close", resp.StatusCode)
				}
				rc.expectClosed()
				if h.calls() != before {
					t.Fatal("the handler ran: the rejected request, or what followed it, was served")
				}
			} else {
				if resp.Close {
					t.Fatal("an accepted request closed the connection")
				}
				if tc.want.alone {
					rc.send(after)
				}
				if resp, body := rc.read("GET"); resp.StatusCode != 200 || body != "GET /after x 0" {
					t.Fatalf("the request after: %d %q: the framing was lost", resp.StatusCode, body)
				}
			}
			if n := h.count("/smuggled"); n != 0 {
				t.Fatalf("the smuggled request was served %d times", n)
			}
		})
	}
}

func TestSmugglingIsRefused(t *testing.T) {
	h := newPathCounter()
	addr := startServer(t, &net.Server{Handler: h.handle})
	runWireCases(t, addr, h, smugglingCases())
}

// smugglingCases are the messages of TestSmugglingIsRefused; they seed
// FuzzConnSplits too. They expect the default limits.
func smugglingCases() []wireCase {
	post := func(path, headers, body string) string {
		return "POST " + path + " HTTP/1.1\r\nHost: x\r\n" + headers + "\r\n" + body
	}
	te := func(v string) string { return "Transfer-Encoding: " + v + "\r\n" }
	cl := func(n int) string { return fmt.Sprintf("Content-Length: %d\r\n", n) }
	chunkedSmuggle := "0\r\n\r\n" + smuggled // ends the body for a chunked reader
	hiddenInChunk := chunk(smuggled) + "0\r\n\r\n"
	return []wireCase{
		// CL.TE: a front end framing by Content-Length forwards all of
		// it; a back end framing by chunked would see smuggled. RFC 9112
		// §6.1 (MAY reject, MUST close), §6.3 rule 3.
		{"CL.TE", post("/clte", cl(len(chunkedSmuggle))+te("chunked"), chunkedSmuggle), rejected(400)},
		// TE.CL: the reverse. §6.1, §6.3 rule 3.
		{"TE.CL", post("/tecl", te("chunked")+cl(4), hiddenInChunk), rejected(400)},
		{"CL.TE with Content-Length: 0", post("/clte0", cl(0)+te("chunked"), chunkedSmuggle), rejected(400)},

		// TE.TE: obfuscated Transfer-Encoding that one parser honours and
		// another ignores.
		// An unknown coding: §6.1, 501, and close (the body cannot be
		// framed).
		{"TE xchunked", post("/xchunked", te("xchunked"), chunkedSmuggle), rejected(501)},
		// Whitespace between name and colon: §5.1, MUST reject with 400.
		{"TE space before colon", post("/tesp", "Transfer-Encoding : chunked\r\n", chunkedSmuggle), rejected(400)},
		// HTAB is OWS after the colon: §5.1, a valid chunked body whose
		// data looks like a request.
		{"TE tab after colon (valid)", post("/tetab", "Transfer-Encoding:\tchunked\r\n", hiddenInChunk), echo("POST", "/tetab", len(smuggled))},
		// chunked must be the final coding: §6.1 (400, close).
		{"TE chunked, identity", post("/teci", te("chunked, identity"), chunkedSmuggle), rejected(400)},
		// identity is not a transfer coding weft knows (RFC 9112 §7
		// dropped it): §6.1, 501.
		{"TE identity, chunked", post("/teic", te("identity, chunked"), chunkedSmuggle), rejected(501)},
		// chunked applied twice: §6.1 (a sender MUST NOT).
		{"TE twice", post("/te2", te("chunked")+te("chunked"), chunkedSmuggle), rejected(400)},
		{"TE gzip then TE chunked", post("/te2g", te("gzip")+te("chunked"), chunkedSmuggle), rejected(501)},
		// Field names are case-insensitive: §5.1 (RFC 9110 §5.1).
		{"TE name mixed case (valid)", post("/temc", "Transfer-encoding: chunked\r\n", hiddenInChunk), echo("POST", "/temc", len(smuggled))},
		// Coding names are case-insensitive: §7.
		{"TE value upper case (valid)", post("/teuc", te("CHUNKED"), hiddenInChunk), echo("POST", "/teuc", len(smuggled))},
		// Trailing OWS is not part of the value: §5.
		{"TE trailing space (valid)", post("/tets", te("chunked "), hiddenInChunk), echo("POST", "/tets", len(smuggled))},
		// Transfer_Encoding is another field: the body is framed by
		// Content-Length and the chunked-looking bytes are its data.
		{"Transfer_Encoding is not TE", post("/teus", "Transfer_Encoding: chunked\r\n"+cl(len(chunkedSmuggle)), chunkedSmuggle), echo("POST", "/teus", len(chunkedSmuggle))},
		// obs-fold: §5.2, a server MAY reject; weft does (400).
		{"TE obs-fold", post("/tefold", "Transfer-Encoding:\r\n chunked\r\n", chunkedSmuggle), rejected(400)},
		{"TE obs-fold after a value", post("/tefold2", "Transfer-Encoding: identity\r\n chunked\r\n", chunkedSmuggle), rejected(400)},
		// A quoted coding is not the token chunked: §6.1, 400.
		{`TE "chunked"`, post("/teq", te(`"chunked"`), chunkedSmuggle), rejected(400)},
		// chunked takes no parameters: §7.1 (RFC 9110 §10.1.4 params
		// belong to other codings).
		{"TE chunked;q=1", post("/tep", te("chunked;q=1"), chunkedSmuggle), rejected(400)},
		// A CTL before the value: §5.5 (VT is not OWS).
		{"TE VT before value", post("/tevt", te("\vchunked"), chunkedSmuggle), rejected(400)},
		// An empty list element: weft rejects any empty coding (stricter
		// than RFC 9110 §5.6.1's "ignore empty elements").
		{"TE empty element", post("/teempty", te(",chunked"), chunkedSmuggle), rejected(400)},

		// CL.CL: two parsers picking different lengths. §6.3 rule 5.
		{"CL twice, equal", post("/cl2eq", cl(5)+cl(5), "hello"), rejected(400)},
		{"CL twice, different", post("/cl2ne", cl(5)+cl(5+len(smuggled)), "hello"+smuggled), rejected(400)},
		{"CL list 5, 5", post("/cllist", "Content-Length: 5, 5\r\n", "hello"), rejected(400)},
		{"CL +5", post("/clplus", "Content-Length: +5\r\n", "hello"), rejected(400)},
		{"CL 5 5 (inner space)", post("/clsp", "Content-Length: 5 5\r\n", "hello"+smuggled), rejected(400)},
		{"CL 0x5", post("/clhex", "Content-Length: 0x5\r\n", "hello"), rejected(400)},
		{"CL -1", post("/clneg", "Content-Length: -1\r\n", "hello"), rejected(400)},
		{"CL empty", post("/clempty", "Content-Length: \r\n", "hello"), rejected(400)},
		{"CL overflows int64", post("/clover", "Content-Length: 9223372036854775808\r\n", "hello"), rejected(400)},
		{"CL 2^63-1 is too large, not malformed", post("/clmax", "Content-Length: 9223372036854775807\r\n", "hello"), rejected(413)},
		// OWS around the value is not part of it: §5 (valid).
		{"CL leading spaces (valid)", post("/clows", "Content-Length:   5\r\n", "hello"), echo("POST", "/clows", 5)},
		{"CL leading zero (valid)", post("/clzero", "Content-Length: 05\r\n", "hello"), echo("POST", "/clzero", 5)},

		// Chunk sizes: §7.1, chunk-size = 1*HEXDIG.
		{"chunk size 0x2a", post("/ch0x", te("chunked"), "0x"+chunk(smuggled)+"0\r\n\r\n"), rejected(400)},
		// §7.1.1: BWS is allowed only before ';'.
		{"chunk size with trailing space", post("/chsp", te("chunked"), fmt.Sprintf("%x \r\n%s\r\n0\r\n\r\n", len(smuggled), smuggled)), rejected(400)},
		{"chunk size with BWS before ext (valid)", post("/chbws", te("chunked"), fmt.Sprintf("%x ;a=b\r\n%s\r\n0\r\n\r\n", len(smuggled), smuggled)), echo("POST", "/chbws", len(smuggled))},
		{"chunk size negative", post("/chneg", te("chunked"), "-5\r\nhello\r\n0\r\n\r\n"), rejected(400)},
		{"chunk size 17 hex digits", post("/ch17", te("chunked"), "10000000000000005\r\nhello\r\n0\r\n\r\n"), rejected(400)},
		{"chunk size 16 hex digits (valid)", post("/ch16", te("chunked"), "0000000000000005\r\nhello\r\n0\r\n\r\n"), echo("POST", "/ch16", 5)},
		{"chunk size beyond the body limit", post("/chhuge", te("chunked"), "ffffffffffffffff\r\nhello\r\n0\r\n\r\n"), rejected(413)},
		{"chunk data longer than its size", post("/chlong", te("chunked"), "5\r\nhelloX\r\n0\r\n\r\n"), rejected(400)},
		{"chunk size ending in bare LF", post("/chlf", te("chunked"), "5\nhello\r\n0\r\n\r\n"), rejected(400)},
		{"chunk data ending in bare LF", post("/chdlf", te("chunked"), "5\r\nhello\n0\r\n\r\n"), rejected(400)},
		{"chunk size ending in bare CR", post("/chcr", te("chunked"), "5\r\r\nhello\r\n0\r\n\r\n"), rejected(400)},
		{"last chunk ending in bare LFs", post("/chlast", te("chunked"), "5\r\nhello\r\n0\n\n"+smuggled), rejected(400)},
		{"trailer ending in bare LF", post("/chtlf", te("chunked"), "5\r\nhello\r\n0\r\nX: y\n\r\n"), rejected(400)},
		// Framing fields are forbidden as trailers: RFC 9110 §6.5.1.
		{"Content-Length as a trailer", post("/chtcl", te("chunked"), "5\r\nhello\r\n0\r\nContent-Length: 5\r\n\r\n"), rejected(400)},

		// Line endings: §2.2, weft requires CRLF.
		{"bare LF line endings", "GET /lf HTTP/1.1\nHost: x\n\n", rejected(400)},
		{"bare LF on one field line", "GET /lf1 HTTP/1.1\r\nHost: x\nX: y\r\n\r\n", rejected(400)},
		{"bare CR in the head", "GET /cr HTTP/1.1\r\nHost: x\rX: y\r\n\r\n", rejected(400)},
		// Field values: §5.5, no CTL but HTAB; field names are tokens.
		{"NUL in a field value", "GET /nul HTTP/1.1\r\nHost: x\r\nX: a\x00b\r\n\r\n", rejected(400)},
		{"DEL in a field value", "GET /del HTTP/1.1\r\nHost: x\r\nX: a\x7fb\r\n\r\n", rejected(400)},
		{"NUL in a field name", "GET /nuln HTTP/1.1\r\nHost: x\r\nX\x00Y: b\r\n\r\n", rejected(400)},
		{"field line without colon", "GET /nocolon HTTP/1.1\r\nHost: x\r\nNoColon\r\n\r\n", rejected(400)},
		{"empty field name", "GET /noname HTTP/1.1\r\nHost: x\r\n: v\r\n\r\n", rejected(400)},
		// Whitespace before the first field line: §2.2 (obs-fold of the
		// request line).
		{"whitespace before the first field", "GET /wsfirst HTTP/1.1\r\n Host: x\r\n\r\n", rejected(400)},
		// Request line: §3, single SP between its three parts.
		{"two spaces in the request line", "GET  /twosp HTTP/1.1\r\nHost: x\r\n\r\n", rejected(400)},
		{"space after the version", "GET /sp HTTP/1.1 \r\nHost: x\r\n\r\n", rejected(400)},
		{"HTAB in the target", "GET /a\tb HTTP/1.1\r\nHost: x\r\n\r\n", rejected(400)},
		{"lower-case version", "GET /lcv http/1.1\r\nHost: x\r\n\r\n", rejected(400)},
		{"fragment in the target", "GET /frag#x HTTP/1.1\r\nHost: x\r\n\r\n", rejected(400)},
		// §3.2.4: asterisk-form is for OPTIONS only.
		{"asterisk-form with GET", "GET * HTTP/1.1\r\nHost: x\r\n\r\n", rejected(400)},
		// §2.2: at least one empty line before the request line is
		// ignored.
		{"leading empty line (valid)", "\r\nGET /lead HTTP/1.1\r\nHost: x\r\n\r\n", echo("GET", "/lead", 0)},
		// §3.2.2: absolute-form; the target's authority replaces Host
		// (RFC 9112 §7.2).
		{"absolute-form (valid)", "GET http://x/abs HTTP/1.1\r\nHost: x\r\n\r\n", echo("GET", "/abs", 0)},
		{"absolute-form wins over Host", "GET http://a.example/abs2 HTTP/1.1\r\nHost: x\r\n\r\n", echoHost("GET", "/abs2", "a.example", 0)},
		// §3.2: exactly one valid Host in HTTP/1.1.
		{"Host missing", "GET /nohost HTTP/1.1\r\n\r\n", rejected(400)},
		{"Host twice", "GET /host2 HTTP/1.1\r\nHost: x\r\nHost: x\r\n\r\n", rejected(400)},
		{"Host invalid", "GET /hostbad HTTP/1.1\r\nHost: x y\r\n\r\n", rejected(400)},
		// §6.1: Transfer-Encoding in HTTP/1.0 is faulty framing.
		{"HTTP/1.0 with Transfer-Encoding", "POST /te10 HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n" + chunkedSmuggle, rejected(400)},
		// The HTTP/2 connection preface (RFC 9113 §3.4): 505.
		{"HTTP/2 preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", rejected(505)},
		{"HTTP/3.0", "GET /v3 HTTP/3.0\r\nHost: x\r\n\r\n", rejected(505)},
		// RFC 9110 §10.1.1: an expectation the server cannot meet, 417.
		{"Expect unknown", "GET /expect HTTP/1.1\r\nHost: x\r\nExpect: teapot\r\n\r\n", rejected(417)},
		// §6.1: an unknown transfer coding, 501.
		{"TE gzip", post("/gzip", te("gzip"), chunkedSmuggle), rejected(501)},
	}
}

func TestLimitsHaveExactStatusCodes(t *testing.T) {
	const (
		lineMax  = 64
		headMax  = 256
		countMax = 4
		bodyMax  = 100
	)
	h := newPathCounter()
	addr := startServer(t, &net.Server{
		Handler:             h.handle,
		MaxRequestLineBytes: lineMax,
		MaxHeaderBytes:      headMax,
		MaxHeaderCount:      countMax,
		MaxBodyBytes:        bodyMax,
	})
	pad := func(n int) string { return strings.Repeat("a", n) }
	// lineOf is a GET whose request line (without CRLF) is n bytes.
	lineOf := func(n int) string {
		return "GET /" + pad(n-len("GET / HTTP/1.1")) + " HTTP/1.1\r\nHost: x\r\n\r\n"
	}
	// headOf is a GET whose head (final CRLF included) is n bytes.
	headOf := func(n int) string {
		base := "GET /head HTTP/1.1\r\nHost: x\r\nX-Pad: \r\n\r\n"
		return strings.Replace(base, "X-Pad: ", "X-Pad: "+pad(n-len(base)), 1)
	}
	// fieldsOf is a GET with n field lines, Host included.
	fieldsOf := func(n int) string {
		s := "GET /fields HTTP/1.1\r\nHost: x\r\n"
		for i := 1; i < n; i++ {
			s += fmt.Sprintf("X-%d: v\r\n", i)
		}
		return s + "\r\n"
	}
	chunkedHead := "POST /chunked HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
	// trailersOf is a chunked POST of "hello" with n trailer fields.
	trailersOf := func(n int) string {
		s := chunkedHead + chunk("hello") + "0\r\n"
		for i := range n {
			s += fmt.Sprintf("X-T%d: v\r\n", i)
		}
		return s + "\r\n"
	}
	// trailerBytes is a chunked POST of "hello" whose trailer section
	// (final CRLF included) is n bytes.
	trailerBytes := func(n int) string {
		section := "X-T: \r\n\r\n"
		return chunkedHead + chunk("hello") + "0\r\n" + strings.Replace(section, "X-T: ", "X-T: "+pad(n-len(section)), 1)
	}
	longPath := "/" + pad(lineMax-len("GET / HTTP/1.1"))
	cases := []wireCase{
		// Request line: 414 (RFC 9112 §3, RFC 9110 §15.5.15).
		{"request line at the limit", lineOf(lineMax), echo("GET", longPath, 0)},
		{"request line over the limit", lineOf(lineMax + 1), rejected(414)},
		// The limit holds before the line ends: nothing is buffered past it.
		{"request line over the limit, unfinished", "GET /" + pad(lineMax), alone(rejected(414))},
		// Head bytes: 431 (RFC 6585 §5).
		{"head at the limit", headOf(headMax), echo("GET", "/head", 0)},
		{"head over the limit", headOf(headMax + 1), rejected(431)},
		{"head over the limit, unfinished", strings.TrimSuffix(headOf(headMax+40), "\r\n\r\n"), alone(rejected(431))},
		// Field count: 431.
		{"fields at the limit", fieldsOf(countMax), echo("GET", "/fields", 0)},
		{"fields over the limit", fieldsOf(countMax + 1), rejected(431)},
		// Content-Length body: 413 (RFC 9110 §15.5.14) from the head alone:
		// the body is never sent.
		{"body at the limit", fmt.Sprintf("POST /body HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s", bodyMax, pad(bodyMax)), echo("POST", "/body", bodyMax)},
		{"body over the limit, head only", fmt.Sprintf("POST /body HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n", bodyMax+1), alone(rejected(413))},
		// Chunked body: 413 as soon as a chunk-size line passes the
		// limit, before that chunk's data.
		{"chunked body at the limit", chunkedHead + chunk(pad(bodyMax/2)) + chunk(pad(bodyMax-bodyMax/2)) + "0\r\n\r\n", echo("POST", "/chunked", bodyMax)},
		{"chunked body over the limit, no data", chunkedHead + chunk(pad(bodyMax/2)) + fmt.Sprintf("%x\r\n", bodyMax-bodyMax/2+1), alone(rejected(413))},
		// Trailer fields count against MaxHeaderCount and MaxHeaderBytes.
		{"trailers at the count limit", trailersOf(countMax), echo("POST", "/chunked", 5)},
		{"trailers over the count limit", trailersOf(countMax + 1), rejected(431)},
		{"trailer section at the byte limit", trailerBytes(headMax), echo("POST", "/chunked", 5)},
		{"trailer section over the byte limit", trailerBytes(headMax + 1), rejected(431)},
	}
	runWireCases(t, addr, h, cases)
}

// closedOr408 reads rc until the server closes it and checks that what
// arrived, if anything, is exactly one complete 408 response with
// Connection: close (the answer a read timeout may get). It returns how long
// the close took from start. It may run off the test's goroutine.
func closedOr408(rc *rawConn, start time.Time) (time.Duration, error) {
	b, err := io.ReadAll(rc.br)
	d := time.Since(start)
	if err != nil && !strings.Contains(err.Error(), "reset") {
		return d, fmt.Errorf("waiting for the close: %v (after %v, read %q)", err, d, b)
	}
	if len(b) == 0 {
		return d, nil
	}
	br := bufio.NewReader(bytes.NewReader(b))
	status, _, closed, err := readReply(br, "GET")
	if err != nil {
		return d, fmt.Errorf("read %q before the close: not a complete response: %v", b, err)
	}
	if status != 408 || !closed {
		return d, fmt.Errorf("read %q before the close, want nothing or a 408 with Connection: close", b)
	}
	if rest, _ := io.ReadAll(br); len(rest) > 0 {
		return d, fmt.Errorf("read %q after the 408", rest)
	}
	return d, nil
}

// readReply reads one response from br: its status, body and whether it
// closes the connection. Unlike rawConn.read it may run off the test's
// goroutine.
func readReply(br *bufio.Reader, method string) (status int, body string, closed bool, err error) {
	resp, err := http.ReadResponse(br, &http.Request{Method: method})
	if err != nil {
		return 0, "", false, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Close, err
}

// latencyProbe sends GET /probe on rc, a keep-alive connection, every
// 20 ms until stop is closed, and returns the slowest round trip and the
// number of requests. It may run off the test's goroutine.
func latencyProbe(rc *rawConn, stop <-chan struct{}) (worst time.Duration, n int, err error) {
	for {
		select {
		case <-stop:
			return worst, n, nil
		case <-time.After(20 * time.Millisecond):
		}
		start := time.Now()
		if _, err := io.WriteString(rc.c, "GET /probe HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
			return worst, n, err
		}
		status, body, _, err := readReply(rc.br, "GET")
		worst = max(worst, time.Since(start))
		n++
		if err != nil || status != 200 || body != "GET /probe x 0" {
			return worst, n, fmt.Errorf("probe: %d %q %v", status, body, err)
		}
	}
}

// inTime checks that a timeout of 300 ms closed a connection after d:
// the sweep runs every 250 ms on a clock as coarse, so 250..550 ms, with
// room for a loaded machine.
//
// Only the lower bound is checked: a timeout must not fire early. How late it
// fires depends on the machine's load (two shared cores in CI), so an upper
// bound would be a wall-clock threshold; the connections' read deadlines
// (hangGuard) catch a timeout that never fires.
func inTime(t *testing.T, what string, d time.Duration) {
	t.Helper()
	if d < 300*time.Millisecond {
		t.Errorf("%s: closed after %v, before its 300 ms timeout", what, d)
	}
}

// hangGuard bounds how long a test waits for a close that should come
// after a timeout of a few hundred milliseconds: long enough for a loaded
// machine, short of go test's own timeout.
const hangGuard = 20 * time.Second

// expectClosedInTime checks that the server closes rc, idle, after a
// timeout of 300 ms, without a byte.
func expectClosedInTime(t *testing.T, rc *rawConn, what string) {
	t.Helper()
	start := time.Now()
	rc.expectClosed()
	inTime(t, what, time.Since(start))
}

func TestSlowlorisIsClosedWhileOthersAreServed(t *testing.T) {
	t.Parallel()
	h := newPathCounter()
	// One loop: the slow client and the probe share it.
	addr := startServer(t, &net.Server{Loops: 1, ReadHeaderTimeout: 300 * time.Millisecond, Handler: h.handle})
	slow, probe := dial(t, addr), dial(t, addr)
	_ = slow.c.SetDeadline(time.Now().Add(hangGuard))
	head := "GET /slow HTTP/1.1\r\nHost: x\r\nX-Slow: " + strings.Repeat("s", 100)
	type closeResult struct {
		d   time.Duration
		err error
	}
	closed := make(chan closeResult, 1)
	stop := make(chan struct{})
	start := time.Now()
	go func() {
		// A header byte every 100 ms: never idle, never done.
		for i := 0; i < len(head); i++ {
			if _, err := slow.c.Write([]byte{head[i]}); err != nil {
				return
			}
			select {
			case <-stop:
				return
			case <-time.After(100 * time.Millisecond):
			}
		}
	}()
	go func() {
		d, err := closedOr408(slow, start)
		closed <- closeResult{d, err}
		close(stop)
	}()
	worst, n, err := latencyProbe(probe, stop)
	if err != nil {
		t.Fatal(err)
	}
	res := <-closed
	if res.err != nil {
		t.Fatal(res.err)
	}
	inTime(t, "the slowloris client", res.d)
	// The other client must be served meanwhile; how fast is a figure for
	// docs/operations.md (measured with wrk), not a test's threshold.
	if n < 3 {
		t.Errorf("another client meanwhile: %d requests answered (slowest %v), want at least 3", n, worst)
	}
	if h.count("/slow") != 0 {
		t.Error("the slowloris request reached the handler")
	}
}

func TestStalledBodyHitsReadTimeout(t *testing.T) {
	t.Parallel()
	h := newPathCounter()
	addr := startServer(t, &net.Server{ReadTimeout: 300 * time.Millisecond, Handler: h.handle})
	t.Cleanup(func() {
		if n := h.count("/stall"); n != 0 {
			t.Errorf("a request with a stalled body reached the handler %d times", n)
		}
	})
	for _, tc := range []struct{ name, req string }{
		{"content-length", "POST /stall HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc"},
		{"chunked", "POST /stall HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\na\r\nabc"},
		{"content-length, nothing of it", "POST /stall HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rc := dial(t, addr)
			_ = rc.c.SetDeadline(time.Now().Add(hangGuard))
			start := time.Now()
			rc.send(tc.req)
			d, err := closedOr408(rc, start)
			if err != nil {
				t.Fatal(err)
			}
			inTime(t, "a stalled body", d)
		})
	}
}

func TestIdleTimeoutSparesBusyConnections(t *testing.T) {
	t.Parallel()
	addr := startServer(t, &net.Server{IdleTimeout: 300 * time.Millisecond, Handler: func(c *net.Ctx) net.Result {
		if c.Path() == "/slow" {
			// Longer than the idle timeout: the connection is busy,
			// not idle.
			return runtime.Then(c, runtime.After(c, 700*time.Millisecond), func(struct{}) net.Result {
				return c.Text(200, "slow")
			})
		}
		return c.Text(200, "ok")
	}})
	t.Run("never a byte", func(t *testing.T) {
		t.Parallel()
		expectClosedInTime(t, dial(t, addr), "a connection that sent nothing")
	})
	t.Run("handler slower than the idle timeout", func(t *testing.T) {
		t.Parallel()
		rc := dial(t, addr)
		rc.send("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
		if resp, body := rc.read("GET"); resp.StatusCode != 200 || body != "slow" || resp.Close {
			t.Fatalf("got %d %q close=%v, want 200 \"slow\" kept alive", resp.StatusCode, body, resp.Close)
		}
		expectClosedInTime(t, rc, "idle after the response")
	})
	t.Run("active keep-alive", func(t *testing.T) {
		t.Parallel()
		rc := dial(t, addr)
		// Requests every 100 ms for twice the idle timeout.
		for range 6 {
			rc.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
			if resp, body := rc.read("GET"); body != "ok" || resp.Close {
				t.Fatalf("got %q close=%v", body, resp.Close)
			}
			time.Sleep(100 * time.Millisecond)
		}
	})
}

func TestPipelineAbuse(t *testing.T) {
	h := newPathCounter()
	addr := startServer(t, &net.Server{Handler: h.handle})
	t.Run("100 in one write", func(t *testing.T) {
		pathOf := func(i int) string {
			if i%7 == 3 {
				return fmt.Sprintf("/async/%d", i) // answered after the next ones
			}
			return fmt.Sprintf("/p/%d", i)
		}
		var b strings.Builder
		for i := range 100 {
			fmt.Fprintf(&b, "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", pathOf(i))
		}
		rc := dial(t, addr)
		rc.send(b.String())
		for i := range 100 {
			resp, body := rc.read("GET")
			if want := "GET " + pathOf(i) + " x 0"; resp.StatusCode != 200 || body != want {
				t.Fatalf("response %d: %d %q, want %q", i, resp.StatusCode, body, want)
			}
		}
	})
	t.Run("third malformed", func(t *testing.T) {
		rc := dial(t, addr)
		rc.send("GET /async/m1 HTTP/1.1\r\nHost: x\r\n\r\n" + // pending while the 400 is ready
			"GET /m2 HTTP/1.1\r\nHost: x\r\n\r\n" +
			"POST /m3 HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx" +
			"GET /m4 HTTP/1.1\r\nHost: x\r\n\r\n")
		for _, want := range []reply{{200, "GET /async/m1 x 0"}, {200, "GET /m2 x 0"}, {400, net.StatusText(400)}} {
			resp, body := rc.read("GET")
			if resp.StatusCode != want.status || body != want.body {
				t.Fatalf("got %d %q, want %d %q", resp.StatusCode, body, want.status, want.body)
			}
			if resp.Close != (want.status == 400) {
				t.Fatalf("%q: Connection: close is %v", body, resp.Close)
			}
		}
		rc.expectClosed()
		if h.count("/m3")+h.count("/m4") != 0 {
			t.Fatal("the malformed request or the one after it reached the handler")
		}
	})
}

func TestPanicStormCostsNoOneElse(t *testing.T) {
	var panics atomic.Int64
	addr := startServer(t, &net.Server{Loops: 1, Handler: func(c *net.Ctx) net.Result {
		switch c.Path() {
		case "/panic":
			panics.Add(1)
			panic("storm")
		case "/panic-later":
			return runtime.Then(c, runtime.After(c, 0), func(struct{}) net.Result {
				panics.Add(1)
				panic(errors.New("storm in a continuation"))
			})
		}
		return c.Text(200, "GET /probe x 0")
	}})
	probe, storm := dial(t, addr), dial(t, addr)
	stop := make(chan struct{})
	var worst time.Duration
	var n int
	var probeErr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		worst, n, probeErr = latencyProbe(probe, stop)
	}()
	const perRound = 50
	var batch strings.Builder
	for i := range perRound {
		path := "/panic"
		if i%2 == 1 {
			path = "/panic-later"
		}
		fmt.Fprintf(&batch, "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", path)
	}
	// Storm for 400 ms at least: the probe gets about 20 turns.
	rounds := 0
	for begin := time.Now(); rounds < 20 || time.Since(begin) < 400*time.Millisecond; rounds++ {
		storm.send(batch.String())
		for i := range perRound {
			if resp, _ := storm.read("GET"); resp.StatusCode != 500 || resp.Close {
				t.Fatalf("panic %d: status %d, close %v; want 500 on a kept connection", i, resp.StatusCode, resp.Close)
			}
		}
	}
	close(stop)
	<-done
	if probeErr != nil {
		t.Fatal(probeErr)
	}
	if got := panics.Load(); got != int64(rounds*perRound) {
		t.Errorf("%d handlers panicked, want %d", got, rounds*perRound)
	}
	if n < 10 {
		t.Errorf("another client during the storm: %d requests answered (slowest %v), want at least 10", n, worst)
	}
}

// Streamed request bodies (Server.StreamBody): slow handlers, slow
// clients, clients that leave or break the framing mid-body, handlers
// that answer without reading.

// streamedServer streams the bodies of /up/ (up to 1 GiB) and answers
// them as the handler given says; anything else is h's.
func streamedServer(t *testing.T, s *net.Server, h *pathCounter, up func(c *net.Ctx) net.Result) string {
	s.StreamBody = func(c *net.Ctx) int64 {
		if strings.HasPrefix(c.Path(), "/up/") {
			return 1 << 30
		}
		return 0
	}
	s.Handler = func(c *net.Ctx) net.Result {
		if strings.HasPrefix(c.Path(), "/up/") {
			h.mu.Lock()
			h.paths[strings.Clone(c.Path())]++
			h.total++
			h.mu.Unlock()
			return up(c)
		}
		return h.handle(c)
	}
	return startServer(t, s)
}

// TestStreamedBodyOfAClosingRequest: a streamed body whose request closes
// the connection (Connection: close, HTTP/1.0) arrives whole however it is
// sent. (It stopped after the first pass: a closing connection parsed
// nothing more, its request's body included, and the handler waited for
// ever.)
func TestStreamedBodyOfAClosingRequest(t *testing.T) {
	h := newPathCounter()
	addr := streamedServer(t, &net.Server{}, h, sha256Handler)
	body, sum := pattern(1 << 20)
	for _, tc := range []struct{ name, head string }{
		{"Connection: close", "POST /up/close HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 1048576\r\n\r\n"},
		{"HTTP/1.0", "POST /up/10 HTTP/1.0\r\nContent-Length: 1048576\r\n\r\n"},
		{"chunked, Connection: close", "POST /up/close HTTP/1.1\r\nHost: x\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rc := dial(t, addr)
			_ = rc.c.SetDeadline(time.Now().Add(hangGuard))
			rc.send(tc.head)
			chunked := strings.Contains(tc.head, "chunked")
			// In pieces, after the head has been dispatched.
			for off := 0; off < len(body); off += 100_000 {
				piece := body[off:min(off+100_000, len(body))]
				if chunked {
					piece = chunk(piece)
				}
				rc.send(piece)
			}
			if chunked {
				rc.send("0\r\n\r\n")
			}
			resp, got := rc.read("POST")
			if resp.StatusCode != 200 || got != sum {
				t.Fatalf("got %d %q, want 200 %q", resp.StatusCode, got, sum)
			}
			rc.expectClosed()
		})
	}
}

// TestStreamedBodySlowHandler: a handler that holds its first chunk does
// not hold the loop (another client on it is served meanwhile) nor take
// the whole body into memory (the client cannot finish sending it: reading
// is paused, and TCP holds the client back); released, it gets every byte.
func TestStreamedBodySlowHandler(t *testing.T) {
	const size = 64 << 20 // more than the sockets' buffers can hold
	body, sum := pattern(size)
	release := make(chan struct{})
	holding := make(chan struct{})
	h := newPathCounter()
	addr := streamedServer(t, &net.Server{Loops: 1}, h, func(c *net.Ctx) net.Result {
		r := c.BodyReader()
		s := runtime.Blocking(c, func(context.Context) (string, error) {
			d := sha256.New()
			first := make([]byte, 1)
			if _, err := io.ReadFull(r, first); err != nil {
				return "", err
			}
			d.Write(first)
			close(holding)
			<-release
			if _, err := io.Copy(d, r); err != nil {
				return "", err
			}
			return hex.EncodeToString(d.Sum(nil)), nil
		})
		return runtime.Then(c, s, func(s string) net.Result { return c.Text(200, s) })
	})
	up, probe := dial(t, addr), dial(t, addr)
	_ = up.c.SetDeadline(time.Now().Add(2 * hangGuard))
	sent := make(chan error, 1)
	go func() {
		_, err := io.WriteString(up.c, fmt.Sprintf("POST /up/slow HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s", size, body))
		sent <- err
	}()
	<-holding
	// The other client, on the same loop, while the handler holds on.
	for i := range 3 {
		probe.send("GET /probe HTTP/1.1\r\nHost: x\r\n\r\n")
		if resp, got := probe.read("GET"); resp.StatusCode != 200 || got != "GET /probe x 0" {
			t.Fatalf("probe %d: %d %q", i, resp.StatusCode, got)
		}
	}
	select {
	case err := <-sent:
		t.Fatalf("the client sent all %d bytes (%v) while the handler held its first chunk: nothing held it back", size, err)
	default:
	}
	close(release)
	resp, got := up.read("POST")
	if resp.StatusCode != 200 || got != sum {
		t.Fatalf("got %d %q, want 200 %q", resp.StatusCode, got, sum)
	}
	if err := <-sent; err != nil {
		t.Fatal(err)
	}
}

// TestStreamedBodySlowClient: ReadTimeout bounds a streamed body's time
// without progress, not its length: a client that sends its body in small
// pieces over longer than ReadTimeout, never pausing that long, is served;
// one that stops is cut off.
func TestStreamedBodySlowClient(t *testing.T) {
	t.Parallel()
	const readTimeout = 600 * time.Millisecond
	h := newPathCounter()
	addr := streamedServer(t, &net.Server{ReadTimeout: readTimeout}, h, sha256Handler)
	t.Run("trickling", func(t *testing.T) {
		t.Parallel()
		body, sum := pattern(40 * 1000)
		rc := dial(t, addr)
		_ = rc.c.SetDeadline(time.Now().Add(hangGuard))
		start := time.Now()
		rc.send("POST /up/trickle HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
		for off := 0; off < len(body); off += 1000 {
			rc.send(chunk(body[off : off+1000]))
			time.Sleep(20 * time.Millisecond) // 40 pieces: 800 ms at least
		}
		rc.send("0\r\n\r\n")
		resp, got := rc.read("POST")
		if d := time.Since(start); d <= readTimeout {
			t.Fatalf("the upload took %v, not longer than ReadTimeout: it shows nothing", d)
		}
		if resp.StatusCode != 200 || got != sum {
			t.Fatalf("got %d %q, want 200 %q", resp.StatusCode, got, sum)
		}
	})
	t.Run("stopping", func(t *testing.T) {
		t.Parallel()
		rc := dial(t, addr)
		_ = rc.c.SetDeadline(time.Now().Add(hangGuard))
		start := time.Now()
		rc.send("POST /up/stop HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n" + strings.Repeat("s", 5000))
		if _, err := io.ReadAll(rc.br); err != nil && !strings.Contains(err.Error(), "reset") {
			t.Fatalf("waiting for the close: %v", err)
		}
		if d := time.Since(start); d < readTimeout-100*time.Millisecond {
			t.Fatalf("closed after %v, before ReadTimeout (%v)", d, readTimeout)
		}
	})
}

// TestStreamedBodyClientLeavesMidBody: a client that closes with part of
// its body sent fails the handler's reads (on the loop or off it) with the
// client gone, cancels the request's context, and leaves no goroutine
// behind (goleak, in TestMain); other clients are served on.
func TestStreamedBodyClientLeavesMidBody(t *testing.T) {
	type outcome struct {
		readErr, ctxErr error
		n               int
	}
	got := make(chan outcome, 1)
	h := newPathCounter()
	addr := streamedServer(t, &net.Server{Loops: 1}, h, func(c *net.Ctx) net.Result {
		ctx := c.Context()
		if c.Path() == "/up/loop" {
			return drainOnLoop(c, func(n int, err error) net.Result {
				// The context is cancelled when the client is found gone;
				// look at it once this continuation has let that finish.
				return runtime.Then(c, runtime.After(c, 0), func(struct{}) net.Result {
					got <- outcome{err, ctx.Err(), n}
					return net.Fail(err)
				}).Catch(c, func(error) net.Result {
					got <- outcome{err, ctx.Err(), n}
					return net.Fail(err)
				})
			})
		}
		r := c.BodyReader()
		res := runtime.Blocking(c, func(context.Context) (struct{}, error) {
			n, err := io.Copy(io.Discard, r)
			<-ctx.Done() // the hang guard is the client's deadline
			got <- outcome{err, ctx.Err(), int(n)}
			return struct{}{}, err
		})
		return runtime.Then(c, res, func(struct{}) net.Result { return c.Text(200, "read it all") })
	})
	for _, tc := range []struct{ name, req string }{
		{"Content-Length, BodyReader", "POST /up/reader HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n" + strings.Repeat("a", 300_000)},
		{"chunked, BodyReader", "POST /up/reader HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" + chunk(strings.Repeat("b", 300_000)) + "10000\r\nbbb"},
		{"chunked, BodyChunk", "POST /up/loop HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" + chunk(strings.Repeat("c", 1000)) + "3e8\r\ncc"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rc := dial(t, addr)
			rc.send(tc.req)
			rc.c.Close()
			var o outcome
			select {
			case o = <-got:
			case <-time.After(hangGuard):
				t.Fatal("the handler's read never failed after the client left")
			}
			if !errors.Is(o.readErr, net.ErrClientGone) && !errors.Is(o.readErr, context.Canceled) {
				t.Fatalf("the read failed with %v after %d bytes; want the client gone", o.readErr, o.n)
			}
			if o.ctxErr == nil {
				t.Fatal("the request's context is still live")
			}
			probe := dial(t, addr)
			probe.send("GET /probe HTTP/1.1\r\nHost: x\r\n\r\n")
			if resp, body := probe.read("GET"); resp.StatusCode != 200 || body != "GET /probe x 0" {
				t.Fatalf("the next client: %d %q", resp.StatusCode, body)
			}
		})
	}
}

// TestStreamedBodyBadFramingMidBody: chunked framing that breaks after the
// handler has started reading fails its read with a 400, which is the
// answer; the connection closes after it, and a client uploading beside it
// on the same loop is not disturbed.
func TestStreamedBodyBadFramingMidBody(t *testing.T) {
	readErr := make(chan error, 2)
	h := newPathCounter()
	addr := streamedServer(t, &net.Server{Loops: 1}, h, func(c *net.Ctx) net.Result {
		r := c.BodyReader()
		sum := runtime.Blocking(c, func(context.Context) (string, error) {
			d := sha256.New()
			_, err := io.Copy(d, r)
			readErr <- err
			return hex.EncodeToString(d.Sum(nil)), err
		})
		return runtime.Then(c, sum, func(s string) net.Result { return c.Text(200, s) })
	})
	good, goodSum := pattern(200_000)
	other := dial(t, addr)
	other.send("POST /up/good HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" + chunk(good[:100_000]))
	for _, bad := range []string{"zz\r\n", "5\r\nhelloX\r\n", "5 \r\nhello\r\n", "fffffffffffffffff\r\n"} {
		t.Run(strings.TrimSpace(bad[:2]), func(t *testing.T) {
			rc := dial(t, addr)
			rc.send("POST /up/bad HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" + chunk(strings.Repeat("d", 70_000)))
			rc.send(bad + after)
			resp, body := rc.read("POST")
			if resp.StatusCode != 400 || !resp.Close {
				t.Fatalf("got %d %q close=%v; want 400 and the connection closed", resp.StatusCode, body, resp.Close)
			}
			rc.expectClosed()
			err := <-readErr
			if net.StatusOf(err) != 400 {
				t.Fatalf("the handler's read failed with %v (status %d); want a 400", err, net.StatusOf(err))
			}
			if h.count("/after") != 0 {
				t.Fatal("the request after the bad framing was served")
			}
		})
	}
	other.send(chunk(good[100_000:]) + "0\r\n\r\n")
	if resp, body := other.read("POST"); resp.StatusCode != 200 || body != goodSum || resp.Close {
		t.Fatalf("the other upload: %d %q close=%v; want 200 %q", resp.StatusCode, body, resp.Close, goodSum)
	}
	if err := <-readErr; err != nil {
		t.Fatalf("the other upload's read: %v", err)
	}
}

// TestStreamedBodyUnreadByTheHandler: a handler that answers without
// reading its streamed body. The rule (docs/streaming.md): if the whole
// body has arrived when the answer is written, it is discarded and the
// connection serves the next request; if not, a complete answer keeps the
// connection while the rest is at most 256 KiB (dropped after the answer),
// and a streamed answer's head says Connection: close and nothing after it
// is read. Either way the body is never read as requests: a request hidden
// in it is never served.
func TestStreamedBodyUnreadByTheHandler(t *testing.T) {
	h := newPathCounter()
	addr := streamedServer(t, &net.Server{}, h, func(c *net.Ctx) net.Result {
		if c.Path() == "/up/stream" {
			st := c.Stream(200)
			st.WriteString("not ")
			st.WriteString("reading")
			return st.End()
		}
		return c.Text(200, "not reading")
	})
	hidden := strings.Repeat(smuggled, 3)
	withBody := func(path string, n int) string {
		return fmt.Sprintf("POST %s HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n", path, n)
	}
	for _, path := range []string{"/up/text", "/up/stream"} {
		t.Run(path+", all of it with the head", func(t *testing.T) {
			rc := dial(t, addr)
			rc.send(withBody(path, len(hidden)) + hidden + after)
			resp, body := rc.read("POST")
			if resp.StatusCode != 200 || body != "not reading" || resp.Close {
				t.Fatalf("got %d %q close=%v; want 200, kept", resp.StatusCode, body, resp.Close)
			}
			if resp, body := rc.read("GET"); resp.StatusCode != 200 || body != "GET /after x 0" {
				t.Fatalf("the request after: %d %q", resp.StatusCode, body)
			}
		})
		kept := path == "/up/text" // a complete answer; the rest is small
		t.Run(path+", the rest after the answer", func(t *testing.T) {
			rc := dial(t, addr)
			rc.send(withBody(path, 2*len(hidden)) + hidden)
			resp, body := rc.read("POST")
			if resp.StatusCode != 200 || body != "not reading" || resp.Close == kept {
				t.Fatalf("got %d %q close=%v; want 200, kept %v", resp.StatusCode, body, resp.Close, kept)
			}
			_, _ = io.WriteString(rc.c, hidden+after) // may meet the close
			if !kept {
				rc.expectClosed()
			} else if resp, body := rc.read("GET"); resp.StatusCode != 200 || body != "GET /after x 0" {
				t.Fatalf("the request after: %d %q", resp.StatusCode, body)
			}
		})
		t.Run(path+", chunked, the rest after the answer", func(t *testing.T) {
			rc := dial(t, addr)
			rc.send("POST " + path + " HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" + chunk(hidden))
			resp, _ := rc.read("POST")
			if resp.StatusCode != 200 || resp.Close == kept {
				t.Fatalf("got %d close=%v; want 200, kept %v", resp.StatusCode, resp.Close, kept)
			}
			_, _ = io.WriteString(rc.c, chunk(hidden)+"0\r\n\r\n"+after)
			if !kept {
				rc.expectClosed()
			} else if resp, body := rc.read("GET"); resp.StatusCode != 200 || body != "GET /after x 0" {
				t.Fatalf("the request after: %d %q", resp.StatusCode, body)
			}
		})
	}
	if n := h.count("/smuggled"); n != 0 {
		t.Fatalf("a request hidden in an unread body was served %d times", n)
	}
	if n := h.count("/after"); n != 4 {
		t.Fatalf("/after served %d times; want 4 (once per kept connection)", n)
	}
}
