package net_test

// The connection state machine, fuzzed through TestConn: the bytes of a
// connection must get the same answers however they are split into reads,
// and a pipeline of valid requests must get exactly the answers a model of
// the server predicts.

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math/rand/v2"
	stdnet "net"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/weftgo/weft/net"
	"github.com/weftgo/weft/runtime"
)

// fuzzServer has small limits, so that inputs reach them.
func fuzzServer() *net.Server {
	return &net.Server{
		Handler:             fuzzHandler,
		MaxRequestLineBytes: 128,
		MaxHeaderBytes:      512,
		MaxHeaderCount:      8,
		MaxBodyBytes:        1024,
		MaxPipelined:        4,
		// /up/ bodies are streamed (read with BodyChunk), with the same
		// limit as the others.
		StreamBody: func(c *net.Ctx) int64 {
			if strings.HasPrefix(c.Path(), "/up/") {
				return 1024
			}
			return 0
		},
	}
}

// fuzzHandler is deterministic: its answer depends only on the request.
// Paths choose how it answers: /async/ from a timer (later than the
// requests after it), /later/ from a promise resolved on another
// goroutine, /fail/ with a 409, /panic/ with a panic; anything else at
// once. X-Method tells a reader of the output which responses are to HEAD
// (and so have no body).
func fuzzHandler(c *net.Ctx) net.Result {
	c.SetHeader("X-Method", c.Method())
	answer := fuzzAnswer(c.Method(), c.Path(), c.RawQuery(), c.Header("X-H"), c.Trailer("X-T"), c.Body())
	switch p := c.Path(); {
	case strings.HasPrefix(p, "/async/"):
		return runtime.Then(c, runtime.After(c, 0), func(struct{}) net.Result { return c.Text(200, answer) })
	case strings.HasPrefix(p, "/later/"):
		pr := runtime.NewPromise[string](c.Loop())
		go pr.Resolve(answer)
		return runtime.Then(c, pr.Future(), func(s string) net.Result { return c.Text(200, s) })
	case strings.HasPrefix(p, "/up/"), strings.HasPrefix(p, "/upslow/"):
		// A streamed body, read chunk by chunk on the loop: the same
		// answer as a body read whole (a trailer is not kept). /upslow/
		// takes each chunk a timer after the last, so that the body's
		// bytes wait for it (the connection's pause). A request with no
		// body is not streamed: its (empty) body is read whole.
		slow := strings.HasPrefix(p, "/upslow/")
		var body []byte
		var next func([]byte) net.Result
		next = func(b []byte) net.Result {
			body = append(body, b...)
			if slow {
				return runtime.Then(c, runtime.After(c, 0), func(struct{}) net.Result {
					return runtime.Then(c, c.BodyChunk(), next)
				})
			}
			return runtime.Then(c, c.BodyChunk(), next)
		}
		return next(nil).Catch(c, func(err error) net.Result {
			if errors.Is(err, net.ErrBodyNotStreamed) {
				body, err = c.Body(), io.EOF
			}
			if err != io.EOF {
				return net.Fail(err)
			}
			return c.Text(200, fuzzAnswer(c.Method(), c.Path(), c.RawQuery(), c.Header("X-H"), "", body))
		})
	case strings.HasPrefix(p, "/stream/"):
		// The answer in three chunks, the last after a timer: a
		// streamed response holds back the ones behind it.
		st := c.Stream(200)
		third := len(answer) / 3
		st.WriteString(answer[:third])
		return runtime.Then(c, runtime.After(c, 0), func(struct{}) net.Result {
			st.WriteString(answer[third : 2*third])
			st.Flush()
			return runtime.Then(c, runtime.After(c, 0), func(struct{}) net.Result {
				st.WriteString(answer[2*third:])
				return st.End()
			})
		})
	case strings.HasPrefix(p, "/abort/"):
		// A stream that fails before its head is out (at once, so that
		// it is so however the input is split): answered by the error
		// handler, after the responses before it. (A cut after the head
		// is TestStreamAbortIsNotATruncatedSuccess's.)
		st := c.Stream(200)
		st.WriteString(answer[:len(answer)/2])
		return st.Abort(errors.New("the source broke"))
	case strings.HasPrefix(p, "/fail/"):
		return net.Fail(net.NewError(409, "taken"))
	case strings.HasPrefix(p, "/panic/"):
		panic("fuzz")
	}
	return c.Text(200, answer)
}

func fuzzAnswer(method, path, query, hdr, trailer string, body []byte) string {
	return fmt.Sprintf("%s %s q=%s h=%s t=%s n=%d crc=%08x", method, path, query, hdr, trailer, len(body), crc32.ChecksumIEEE(body))
}

// serveTimeout bounds one Serve: every handler of fuzzHandler settles at
// once, so running into it is a hang.
const serveTimeout = 5 * time.Second

// servePieces feeds pieces to a fresh TestConn, one Serve each, and returns
// everything written and whether the server closed the connection.
func servePieces(t *testing.T, pieces [][]byte) (out []byte, closed bool) {
	t.Helper()
	tc, err := net.NewTestConn(fuzzServer())
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Close()
	for _, p := range pieces {
		got, err := tc.Serve(p, serveTimeout)
		out = append(out, got...)
		if errors.Is(err, stdnet.ErrClosed) {
			return out, true
		}
		if err != nil {
			t.Fatalf("Serve: %v (output so far %q)", err, out)
		}
	}
	return out, tc.Closed()
}

// splitAt cuts input at pseudo-random points derived from seed: byte by
// byte for one seed in eight if input is short, else into up to 17 pieces.
func splitAt(input []byte, seed uint64) [][]byte {
	if len(input) < 2 {
		return [][]byte{input}
	}
	r := rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
	var cuts []int
	if seed%8 == 0 && len(input) <= 1<<10 {
		for i := 1; i < len(input); i++ {
			cuts = append(cuts, i)
		}
	} else {
		seen := map[int]bool{}
		for range 1 + r.IntN(min(len(input)-1, 16)) {
			if c := 1 + r.IntN(len(input)-1); !seen[c] {
				seen[c] = true
				cuts = append(cuts, c)
			}
		}
		slices.Sort(cuts)
	}
	pieces := make([][]byte, 0, len(cuts)+1)
	prev := 0
	for _, c := range cuts {
		pieces = append(pieces, input[prev:c])
		prev = c
	}
	return append(pieces, input[prev:])
}

var dateLine = regexp.MustCompile(`(?m)^Date: [^\r\n]*\r$`)

// normalize blanks the Date header and drops "100 Continue" interim
// responses: whether one is due depends on whether the body had arrived
// when the head was read, which is the one thing splitting may change.
func normalize(out []byte) string {
	return strings.ReplaceAll(blankDate(out), "HTTP/1.1 100 Continue\r\n\r\n", "")
}

func blankDate(out []byte) string { return dateLine.ReplaceAllString(string(out), "Date: X\r") }

// checkResponses checks that out is a sequence of complete responses
// (interim 100s included, so they must fall between responses), that
// nothing follows a response closing the connection, and that the
// connection is closed after one. It returns the statuses in order, 100s
// included. A response to HEAD is told by its X-Method header.
func checkResponses(out []byte, closed bool) (statuses []int, err error) {
	br := bufio.NewReader(strings.NewReader(blankDate(out)))
	sawClose := false
	for n := 0; ; n++ {
		if _, err := br.Peek(1); err == io.EOF {
			break
		}
		if sawClose {
			rest, _ := io.ReadAll(br)
			return nil, fmt.Errorf("%q after a response with Connection: close", rest)
		}
		// Read the head first to learn the method; ReadResponse wants
		// it before it reads the body.
		head, err := peekHead(br)
		if err != nil {
			return nil, fmt.Errorf("response %d: %v", n, err)
		}
		method := "GET"
		if bytes.Contains(head, []byte("\r\nX-Method: HEAD\r\n")) {
			method = "HEAD"
		}
		resp, err := http.ReadResponse(br, &http.Request{Method: method})
		if err != nil {
			return nil, fmt.Errorf("response %d: %v", n, err)
		}
		if _, err := io.ReadAll(resp.Body); err != nil {
			return nil, fmt.Errorf("response %d: body: %v", n, err)
		}
		statuses = append(statuses, resp.StatusCode)
		sawClose = resp.Close
	}
	if sawClose != closed {
		return nil, fmt.Errorf("the last response says Connection: close %v, the connection is closed %v", sawClose, closed)
	}
	return statuses, nil
}

func peekHead(br *bufio.Reader) ([]byte, error) {
	for n := 64; ; n *= 2 {
		b, err := br.Peek(n)
		if i := bytes.Index(b, []byte("\r\n\r\n")); i >= 0 {
			return b[:i+4], nil
		}
		if err != nil {
			return nil, fmt.Errorf("incomplete head %q", b)
		}
	}
}

// FuzzConnSplits feeds input to one TestConn in one piece and to another
// split at points derived from seed: the answers must be the same.
func FuzzConnSplits(f *testing.F) {
	for i, tc := range smugglingCases() {
		f.Add([]byte(tc.req+after), uint64(i))
	}
	for i := range uint64(24) {
		f.Add(modelPipeline(i).input, i*7+1)
	}
	for i, s := range []string{
		"GET /s/1 HTTP/1.1\r\nHost: x\r\n\r\nHEAD /async/2 HTTP/1.1\r\nHost: x\r\n\r\nGET /later/3 HTTP/1.1\r\nHost: x\r\n\r\n",
		"POST /s/e HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\nhello" + after,
		"POST /async/e HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nTransfer-Encoding: chunked\r\n\r\n5;a=b\r\nhello\r\n0\r\nX-T: sum\r\n\r\n" + after,
		"GET /async/1 HTTP/1.1\r\nHost: x\r\n\r\nGET /panic/2 HTTP/1.1\r\nHost: x\r\n\r\nGET /fail/3 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n" + after,
		"GET /s/1 HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /s/2 HTTP/1.0\r\n\r\n" + after,
		"GET /async/1 HTTP/1.1\r\nHost: x\r\n\r\nGET /s/2 HTTP/1.1\r\nHost: x\r\n\r\nGET /s/3 HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n" + after,
		"POST /s/big HTTP/1.1\r\nHost: x\r\nContent-Length: 1025\r\n\r\n",
		"POST /s/big HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n200\r\n" + strings.Repeat("a", 512) + "\r\n201\r\n",
		"GET /" + strings.Repeat("l", 130) + " HTTP/1.1\r\nHost: x\r\n\r\n",
		"\r\n\r\nGET /s/lead HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET /stream/1 HTTP/1.1\r\nHost: x\r\n\r\nGET /s/2 HTTP/1.1\r\nHost: x\r\n\r\nHEAD /stream/3 HTTP/1.1\r\nHost: x\r\n\r\nGET /stream/4 HTTP/1.0\r\n\r\n" + after,
		"POST /stream/1 HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhelloGET /abort/2 HTTP/1.1\r\nHost: x\r\n\r\nGET /s/3 HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET /async/1 HTTP/1.1\r\nHost: x\r\n\r\nGET /stream/2 HTTP/1.1\r\nHost: x\r\n\r\nGET /later/3 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n" + after,
		"POST /up/1 HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhelloPOST /up/2 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\nX-T: 1\r\n\r\nGET /s/3 HTTP/1.1\r\nHost: x\r\n\r\n",
		"POST /up/1 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n401\r\n" + after,
		"POST /up/1 HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX\r\n0\r\n\r\n" + after,
		// Streamed bodies: a slow reader, a closing request, a body cut
		// short, bad framing after good chunks, Expect on a body that came
		// with its head.
		"POST /upslow/1 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\nPOST /upslow/2 HTTP/1.1\r\nHost: x\r\nContent-Length: 7\r\n\r\nabcdefg" + after,
		"POST /up/1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 300\r\n\r\n" + strings.Repeat("c", 300) + after,
		"POST /up/1 HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
		"GET /async/0 HTTP/1.1\r\nHost: x\r\n\r\nPOST /upslow/1 HTTP/1.1\r\nHost: x\r\nContent-Length: 900\r\n\r\n" + strings.Repeat("z", 400),
		"POST /up/1 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n10\r\n0123456789abcdef\r\n10\r\n0123456789abcdef\r\nzz\r\n" + after,
		"GET /async/0 HTTP/1.1\r\nHost: x\r\n\r\nPOST /up/1 HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\nhello" + after,
	} {
		f.Add([]byte(s), uint64(i)*8) // byte by byte
		f.Add([]byte(s), uint64(i)*8+3)
	}
	f.Fuzz(func(t *testing.T, input []byte, seed uint64) {
		if len(input) > 8<<10 {
			return
		}
		whole, wholeClosed := servePieces(t, [][]byte{input})
		if _, err := checkResponses(whole, wholeClosed); err != nil {
			t.Fatalf("input %q in one piece: %v\noutput: %q", input, err, whole)
		}
		pieces := splitAt(input, seed)
		split, splitClosed := servePieces(t, pieces)
		if _, err := checkResponses(split, splitClosed); err != nil {
			t.Fatalf("input %q in %d pieces %q: %v\noutput: %q", input, len(pieces), pieces, err, split)
		}
		if normalize(whole) != normalize(split) || wholeClosed != splitClosed {
			t.Fatalf("input %q\nin one piece: closed %v, output\n%q\nin %d pieces %q: closed %v, output\n%q",
				input, wholeClosed, normalize(whole), len(pieces), pieces, splitClosed, normalize(split))
		}
	})
}

// modelRequest is a valid request and the answer fuzzHandler gives it.
type modelRequest struct {
	raw     string
	status  int
	body    string // the response body (sent unless HEAD)
	method  string
	conn    string // the response's Connection header value, if any
	closes  bool
	expect  bool // Expect: 100-continue
	headLen int
}

// pipeline is a generated input and what the server must make of it.
type pipeline struct {
	input  []byte
	want   string // the exact output, Date blanked, interim responses dropped
	closes bool   // the server closes the connection after it
	// continues lists, for each response in want, where the body of its
	// request lies in input if the request asked for 100-continue.
	continues []bodySpan
}

// bodySpan is where a request's body lies in its pipeline: from the end of
// its head to its end. The zero bodySpan means the request did not ask for
// 100-continue.
type bodySpan struct{ start, end int }

// modelPipeline generates, from seed, a pipeline of valid requests,
// sometimes ended by an invalid one and sometimes followed by requests after
// one that closes the connection.
func modelPipeline(seed uint64) pipeline {
	r := rand.New(rand.NewPCG(seed, 42))
	var p pipeline
	var in, out strings.Builder
	n, long := 1+r.IntN(12), seed%16 == 15
	if long {
		n = 130 + r.IntN(30) // longer than a turn of the loop
	}
	answering := true
	for i := range n {
		req := genRequest(r, i, i == n-1, !long || i == n-1)
		start := in.Len()
		in.WriteString(req.raw)
		if !answering {
			continue
		}
		out.WriteString(modelResponse(req.status, req.method, req.conn, req.body))
		var span bodySpan
		if req.expect {
			span = bodySpan{start + req.headLen, in.Len()}
		}
		p.continues = append(p.continues, span)
		if req.closes {
			answering, p.closes = false, true
		}
	}
	if answering && r.IntN(4) == 0 {
		bad := badRequests[r.IntN(len(badRequests))]
		in.WriteString(bad.raw)
		out.WriteString(modelResponse(bad.status, "", "close", net.StatusText(bad.status)))
		p.continues = append(p.continues, bodySpan{})
		in.WriteString(after)
		p.closes = true
	}
	p.input, p.want = []byte(in.String()), out.String()
	return p
}

// badRequests end a pipeline: each is refused with its status and the
// connection closed.
var badRequests = []struct {
	raw    string
	status int
}{
	{"POST /s/b HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400},
	{"POST /s/b HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc", 400},
	{"GET /s/b HTTP/1.1\r\n\r\n", 400},
	{"GET /s/b HTTP/1.1\nHost: x\n\n", 400},
	{"POST /s/b HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", 501},
	{"GET /s/b HTTP/2.0\r\nHost: x\r\n\r\n", 505},
	{"GET /s/b HTTP/1.1\r\nHost: x\r\nExpect: tea\r\n\r\n", 417},
	{"POST /s/b HTTP/1.1\r\nHost: x\r\nContent-Length: 1025\r\n\r\n", 413},
	{"POST /s/b HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n3ff\r\n", 413},
	{"GET /" + strings.Repeat("u", 128) + " HTTP/1.1\r\nHost: x\r\n\r\n", 414},
	{"GET /s/b HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("h", 500) + "\r\n\r\n", 431},
	{"POST /s/b HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n" + strings.Repeat("X-T: 1\r\n", 9) + "\r\n", 431},
	{"POST /s/b HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3 \r\nabc\r\n0\r\n\r\n", 400},
}

// modelResponse is the exact response the server writes (Date blanked).
func modelResponse(status int, method, conn, body string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "HTTP/1.1 %d %s\r\nDate: X\r\nContent-Type: text/plain; charset=utf-8\r\n", status, net.StatusText(status))
	if method != "" {
		fmt.Fprintf(&b, "X-Method: %s\r\n", method)
	}
	fmt.Fprintf(&b, "Content-Length: %d\r\n", len(body))
	if conn != "" {
		fmt.Fprintf(&b, "Connection: %s\r\n", conn)
	}
	b.WriteString("\r\n")
	if method != "HEAD" {
		b.WriteString(body)
	}
	return b.String()
}

const tokenChars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~!$&'*+^`|"

func genToken(r *rand.Rand, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = tokenChars[r.IntN(len(tokenChars))]
	}
	return string(b)
}

// genRequest generates request i of a pipeline, within fuzzServer's
// limits; it closes the connection only if mayClose.
func genRequest(r *rand.Rand, i int, last, mayClose bool) modelRequest {
	methods := []string{"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH"}
	kinds := []string{"s", "s", "async", "later", "fail", "panic", "up", "upslow"}
	m := modelRequest{method: methods[r.IntN(len(methods))]}
	path := fmt.Sprintf("/%s/%d", kinds[r.IntN(len(kinds))], i)
	query := ""
	if r.IntN(3) == 0 {
		query = "a=" + genToken(r, r.IntN(8))
	}
	minor := 1
	if r.IntN(6) == 0 {
		minor = 0
	}
	var h strings.Builder
	target := path
	if query != "" {
		target += "?" + query
	}
	fmt.Fprintf(&h, "%s %s HTTP/1.%d\r\n", m.method, target, minor)
	if minor == 1 || r.IntN(2) == 0 {
		h.WriteString("Host: x\r\n")
	}
	hdr := ""
	if r.IntN(2) == 0 {
		hdr = genToken(r, 1+r.IntN(10))
		ows := []string{"", " ", "\t", "  "}
		fmt.Fprintf(&h, "X-H:%s%s%s\r\n", ows[r.IntN(4)], hdr, ows[r.IntN(4)])
	}
	switch {
	case minor == 0 && (r.IntN(4) != 0 || !mayClose):
		h.WriteString("Connection: keep-alive\r\n")
		m.conn = "keep-alive"
	case minor == 0:
		m.closes = true
	case mayClose && (r.IntN(10) == 0 || (last && r.IntN(3) == 0)):
		h.WriteString("Connection: close\r\n")
		m.closes = true
	}
	if m.closes {
		m.conn = "close"
	}
	body := make([]byte, 0, 300)
	if r.IntN(2) == 0 {
		for range r.IntN(300) {
			body = append(body, byte(r.IntN(256)))
		}
	}
	trailer := ""
	var payload strings.Builder
	switch {
	case minor == 1 && r.IntN(3) == 0: // chunked
		h.WriteString("Transfer-Encoding: chunked\r\n")
		for rest := body; len(rest) > 0; {
			k := 1 + r.IntN(len(rest))
			size := strconv.FormatInt(int64(k), 16)
			if r.IntN(2) == 0 {
				size = strings.ToUpper(size)
			}
			if r.IntN(4) == 0 {
				size = "00" + size
			}
			payload.WriteString(size)
			if r.IntN(4) == 0 {
				payload.WriteString(";ext=" + genToken(r, 3))
			}
			payload.WriteString("\r\n")
			payload.Write(rest[:k])
			payload.WriteString("\r\n")
			rest = rest[k:]
		}
		payload.WriteString("0\r\n")
		if r.IntN(2) == 0 {
			trailer = genToken(r, 1+r.IntN(6))
			payload.WriteString("X-T: " + trailer + "\r\n")
		}
		payload.WriteString("\r\n")
	case len(body) > 0 || r.IntN(4) == 0:
		fmt.Fprintf(&h, "Content-Length: %d\r\n", len(body))
		payload.Write(body)
	default:
		body = body[:0]
	}
	if minor == 1 && payload.Len() > 0 && r.IntN(3) == 0 {
		h.WriteString("Expect: 100-continue\r\n")
		m.expect = true
	}
	h.WriteString("\r\n")
	m.raw, m.headLen = h.String()+payload.String(), h.Len()

	if strings.HasPrefix(path, "/up") {
		trailer = "" // a streamed body's trailer is not kept
	}
	m.status, m.body = 200, fuzzAnswer(m.method, path, query, hdr, trailer, body)
	switch {
	case strings.HasPrefix(path, "/fail/"):
		m.status, m.body = 409, "taken"
	case strings.HasPrefix(path, "/panic/"):
		m.status, m.body = 500, net.StatusText(500)
	}
	return m
}

// checkModel serves the pipeline of seed in one piece and in pieces cut by
// splitSeed, and compares each output with the model's, byte for byte.
// The interim responses are checked too: a request expecting 100-continue
// gets one, right before its response, exactly when a piece ended after its
// head and before the end of its body (RFC 9110 §10.1.1: the client is
// waiting for it; when the body came with the head, none is due).
func checkModel(t *testing.T, seed, splitSeed uint64) {
	p := modelPipeline(seed)
	for _, pieces := range [][][]byte{{p.input}, splitAt(p.input, splitSeed)} {
		out, closed := servePieces(t, pieces)
		fail := func(format string, args ...any) {
			t.Helper()
			t.Fatalf("pipeline %d in %d pieces (split by %d): input %q\n%s", seed, len(pieces), splitSeed, p.input, fmt.Sprintf(format, args...))
		}
		statuses, err := checkResponses(out, closed)
		if err != nil {
			fail("%v\noutput %q", err, out)
		}
		if got := normalize(out); got != p.want || closed != p.closes {
			fail("%s\ngot  (closed %v) %q\nwant (closed %v) %q", firstDiff(got, p.want), closed, got, p.closes, p.want)
		}
		var cuts []int
		for i, n := 0, 0; i < len(pieces)-1; i++ {
			n += len(pieces[i])
			cuts = append(cuts, n)
		}
		final, interim := 0, 0
		for _, st := range statuses {
			if st == 100 {
				interim++
				continue
			}
			span := p.continues[final]
			due := 0
			if span != (bodySpan{}) && slices.ContainsFunc(cuts, func(c int) bool { return span.start <= c && c < span.end }) {
				due = 1
			}
			if interim != due {
				fail("%d interim responses before response %d, want %d: %q", interim, final, due, out)
			}
			final, interim = final+1, 0
		}
		if interim > 0 {
			fail("an interim response after the last response: %q", out)
		}
	}
}

// firstDiff says where got and want part, with some context.
func firstDiff(got, want string) string {
	i := 0
	for i < len(got) && i < len(want) && got[i] == want[i] {
		i++
	}
	lo := max(0, i-200)
	return fmt.Sprintf("they part at byte %d of %d (want %d):\n got  ...%q\n want ...%q",
		i, len(got), len(want), got[lo:min(len(got), i+200)], want[lo:min(len(want), i+200)])
}

func TestConnModel(t *testing.T) {
	for seed := range uint64(300) {
		checkModel(t, seed, seed*31+1)
		if seed%10 == 0 {
			checkModel(t, seed, 8*seed) // byte by byte
		}
	}
}

// FuzzConnModel explores the model's pipelines and their splits.
func FuzzConnModel(f *testing.F) {
	for i := range uint64(8) {
		f.Add(i, i*3+1)
	}
	f.Fuzz(checkModel)
}
