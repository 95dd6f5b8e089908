package http1

import (
	"bytes"
	"io"
	"net/http/httputil"
	"reflect"
	"slices"
	"testing"
)

// fuzzLimits are small, so that the fuzzer reaches every limit.
var fuzzLimits = Limits{MaxRequestLine: 64, MaxHeaderBytes: 256, MaxHeaders: 8}

// prefixes returns the prefix lengths worth checking for an input of n
// bytes: all of them for short inputs, a spread for long ones (every exec
// must stay cheap, or the fuzzer's minimization of a long input stalls).
func prefixes(n int) []int {
	if n <= 256 {
		ks := make([]int, n)
		for k := range ks {
			ks[k] = k
		}
		return ks
	}
	ks := make([]int, 0, 66)
	for k := 0; k < n; k += 1 + n/64 {
		ks = append(ks, k)
	}
	return append(ks, n-1)
}

func isSentinel(err error) bool {
	e, ok := err.(*Error)
	return ok && slices.Contains(allErrors, e)
}

func FuzzParseHead(f *testing.F) {
	for _, in := range diffCorpus() {
		f.Add([]byte(in))
	}
	f.Fuzz(func(t *testing.T, buf []byte) {
		for _, lim := range []*Limits{&fuzzLimits, nil} {
			checkHeadInvariants(t, buf, lim)
		}
	})
}

// checkHeadInvariants checks what ParseHead promises for any input.
func checkHeadInvariants(t *testing.T, buf []byte, lim *Limits) {
	r := &Request{Headers: make([]Header, 0, 8)}
	n, err := ParseHead(buf, r, lim)
	if n < 0 || n > len(buf) {
		t.Fatalf("n = %d out of [0, %d]", n, len(buf))
	}
	if err != nil && (n != 0 || !isSentinel(err)) {
		t.Fatalf("error %v (n = %d) is not a bare sentinel", err, n)
	}
	if n > 0 {
		if r.HeadLen != n {
			t.Fatalf("HeadLen %d != n %d", r.HeadLen, n)
		}
		checkSpans(t, r, n)
		// Re-parsing exactly the head gives the same request.
		again := &Request{Headers: make([]Header, 0, 8)}
		if m, err := ParseHead(buf[:n], again, lim); m != n || err != nil {
			t.Fatalf("re-parse of buf[:n] = %d, %v; want %d, nil", m, err, n)
		}
		if !reflect.DeepEqual(resolve(buf, r), resolve(buf, again)) {
			t.Fatalf("re-parse differs:\n%+v\n%+v", resolve(buf, r), resolve(buf, again))
		}
	}
	// Every prefix of what was decided is incomplete or fails the same way,
	// fresh and as a retry on one Request (the resume shortcut).
	decided := n // a complete head: its prefixes are incomplete
	if n == 0 {
		decided = len(buf) // an error or incomplete: so is every prefix
	}
	retry := &Request{Headers: make([]Header, 0, 8)}
	grown := append(make([]byte, 0, len(buf)+1), buf...) // room for one more byte at the same address
	for _, k := range prefixes(decided) {
		m, perr := ParseHead(buf[:k], &Request{Headers: make([]Header, 0, 8)}, lim)
		if m != 0 || (perr != nil && perr != err) {
			t.Fatalf("prefix %d of %d: %d, %v; full input: %d, %v", k, len(buf), m, perr, n, err)
		}
		m, perr = ParseHead(grown[:k], retry, lim)
		if m != 0 || (perr != nil && perr != err) {
			t.Fatalf("retried prefix %d of %d: %d, %v; full input: %d, %v", k, len(buf), m, perr, n, err)
		}
		if perr != nil {
			retry = &Request{Headers: make([]Header, 0, 8)}
		}
	}
	// The resume shortcut defers no error: the retry decides as one parse.
	m, rerr := ParseHead(grown, retry, lim)
	if m != n || rerr != err {
		t.Fatalf("retry of the whole input = %d, %v; one-shot %d, %v", m, rerr, n, err)
	}
	// Going on from where the prefixes stopped gives the same request as
	// one parse.
	if n > 0 && !reflect.DeepEqual(resolve(buf, r), resolve(buf, retry)) {
		t.Fatalf("retried parse differs:\n%+v\n%+v", resolve(buf, r), resolve(buf, retry))
	}
}

// checkSpans checks that every span of r lies in [0, n).
func checkSpans(t *testing.T, r *Request, n int) {
	t.Helper()
	spans := []Span{r.Method, r.Target, r.Path, r.Query, r.Host}
	for _, h := range r.Headers {
		spans = append(spans, h.Name, h.Value)
	}
	for i, s := range spans {
		if s.Start < 0 || s.End < s.Start || int(s.End) > n {
			t.Fatalf("span %d = %+v outside [0, %d)", i, s, n)
		}
	}
	if r.Method.IsEmpty() || r.Target.IsEmpty() {
		t.Fatalf("empty method or target: %+v", r)
	}
}

func FuzzChunked(f *testing.F) {
	for _, tc := range validBodies {
		f.Add([]byte(tc.body+tc.tail), uint16(3), int64(-1))
	}
	for _, tc := range invalidBodies {
		f.Add([]byte(tc.body), uint16(1), int64(-1))
	}
	f.Add([]byte("5\r\nhello\r\n0\r\n\r\n"), uint16(4), int64(4))
	f.Fuzz(func(t *testing.T, buf []byte, split uint16, maxBody int64) {
		var whole ChunkScanner
		end, err := whole.Scan(buf, maxBody, &fuzzLimits)
		if end < 0 || end > len(buf) || (err != nil && (end != 0 || !isSentinel(err))) {
			t.Fatalf("Scan = %d, %v", end, err)
		}

		// Split invariance: two pieces give the same result as one.
		k := int(split) % (len(buf) + 1)
		var two ChunkScanner
		e1, err1 := two.Scan(buf[:k], maxBody, &fuzzLimits)
		if err1 != nil || e1 != 0 {
			if err1 != err || (e1 != end) {
				t.Fatalf("first piece [:%d] = %d, %v; whole input %d, %v", k, e1, err1, end, err)
			}
		} else {
			e2, err2 := two.Scan(buf, maxBody, &fuzzLimits)
			if e2 != end || err2 != err || two.BodyLen() != whole.BodyLen() {
				t.Fatalf("split at %d: %d, %v, %d; whole input %d, %v, %d", k, e2, err2, two.BodyLen(), end, err, whole.BodyLen())
			}
		}
		if end == 0 {
			return
		}

		// Decoding agrees with the scan and with net/http's chunked reader.
		data := bytes.Clone(buf[:end])
		body, _, derr := DecodeChunked(data, nil)
		if derr != nil || int64(len(body)) != whole.BodyLen() {
			t.Fatalf("DecodeChunked = %d bytes, %v; Scan counted %d", len(body), derr, whole.BodyLen())
		}
		ref, rerr := io.ReadAll(httputil.NewChunkedReader(bytes.NewReader(withoutChunkBWS(buf[:end]))))
		if rerr != nil {
			t.Fatalf("weft accepts %q; net/http's chunked reader fails: %v", buf[:end], rerr)
		}
		if !bytes.Equal(ref, body) {
			t.Fatalf("body: net/http %q, weft %q", ref, body)
		}
	})
}
