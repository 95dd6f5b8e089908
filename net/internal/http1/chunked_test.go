package http1

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
)

// validBodies are complete chunked bodies, possibly followed by the next
// pipelined request (tail), with their decoded content and trailers.
var validBodies = []struct {
	name     string
	body     string
	tail     string
	want     string
	trailers []string
}{
	{"empty", "0\r\n\r\n", "", "", nil},
	{"one chunk", "5\r\nhello\r\n0\r\n\r\n", "", "hello", nil},
	{"hex sizes, both cases", "a\r\n0123456789\r\nA\r\nabcdefghij\r\n0\r\n\r\n", "", "0123456789abcdefghij", nil},
	{"leading zeros", "0005\r\nhello\r\n000\r\n\r\n", "", "hello", nil},
	{"16 hex digits", "0000000000000005\r\nhello\r\n0\r\n\r\n", "", "hello", nil},
	{"extensions", "5;a=b\r\nhello\r\n1;x;y=\"\"\r\n!\r\n0;last\r\n\r\n", "", "hello!", nil},
	{"quoted extension with escapes", "5;a=\"x;y\\\"z\\\\ \t\xe9\"\r\nhello\r\n0\r\n\r\n", "", "hello", nil},
	{"BWS around ; and = (§7.1.1)", "5 ; a = b\t;\tc\r\nhello\r\n0 ;d\r\n\r\n", "", "hello", nil},
	{"data holding CRLF and a fake last-chunk", "7\r\n0\r\n\r\nab\r\n0\r\n\r\n", "", "0\r\n\r\nab", nil},
	{"trailers", "3\r\nabc\r\n0\r\nX-Checksum: sha256=abc \r\ny:\r\n\r\n", "", "abc", []string{"X-Checksum: sha256=abc", "y: "}},
	{"pipelined tail", "2\r\nhi\r\n0\r\n\r\n", "GET / HTTP/1.1\r\nHost: a\r\n\r\n", "hi", nil},
	{"tail that looks like a trailer", "0\r\n\r\n", "X: y\r\n\r\n", "", nil},
}

func TestChunkScannerValid(t *testing.T) {
	for _, tc := range validBodies {
		t.Run(tc.name, func(t *testing.T) {
			buf := []byte(tc.body + tc.tail)
			var s ChunkScanner
			end, err := s.Scan(buf, -1, nil)
			if end != len(tc.body) || err != nil {
				t.Fatalf("Scan = %d, %v; want %d, nil", end, err, len(tc.body))
			}
			if s.BodyLen() != int64(len(tc.want)) {
				t.Errorf("BodyLen = %d, want %d", s.BodyLen(), len(tc.want))
			}
			if again, err := s.Scan(buf, -1, nil); again != end || err != nil {
				t.Errorf("Scan after the end = %d, %v; want %d, nil", again, err, end)
			}
			data := append([]byte(nil), buf[:end]...)
			body, trailers, err := DecodeChunked(data, nil)
			if err != nil {
				t.Fatalf("DecodeChunked: %v", err)
			}
			if string(body) != tc.want {
				t.Errorf("body = %q, want %q", body, tc.want)
			}
			var got []string
			for _, h := range trailers {
				got = append(got, string(h.Name.Bytes(data))+": "+string(h.Value.Bytes(data)))
			}
			if !reflect.DeepEqual(got, tc.trailers) {
				t.Errorf("trailers = %q, want %q", got, tc.trailers)
			}
		})
	}
}

// TestChunkScannerSplits feeds each valid body in two pieces at every split
// point, and byte by byte: the result must not depend on how bytes arrive.
func TestChunkScannerSplits(t *testing.T) {
	for _, tc := range validBodies {
		t.Run(tc.name, func(t *testing.T) {
			buf := []byte(tc.body + tc.tail)
			for k := 0; k <= len(buf); k++ {
				var s ChunkScanner
				if end, err := s.Scan(buf[:k], -1, nil); err != nil || (end != 0 && end != len(tc.body)) {
					t.Fatalf("first piece %d: %d, %v", k, end, err)
				}
				if end, err := s.Scan(buf, -1, nil); end != len(tc.body) || err != nil || s.BodyLen() != int64(len(tc.want)) {
					t.Fatalf("split at %d: %d, %v, BodyLen %d", k, end, err, s.BodyLen())
				}
			}
			var s ChunkScanner
			end := 0
			for k := 0; k <= len(buf) && end == 0; k++ {
				var err error
				if end, err = s.Scan(buf[:k], -1, nil); err != nil {
					t.Fatalf("byte %d: %v", k, err)
				}
				if end != 0 && end != k && k <= len(tc.body) {
					t.Fatalf("byte by byte: end %d after %d bytes", end, k)
				}
			}
			if end != len(tc.body) || s.BodyLen() != int64(len(tc.want)) {
				t.Fatalf("byte by byte: end %d, BodyLen %d", end, s.BodyLen())
			}
		})
	}
}

var invalidBodies = []struct {
	name string
	body string
	want *Error
}{
	// chunk-size = 1*HEXDIG (RFC 9112 §7.1).
	{"empty size", "\r\nhello\r\n0\r\n\r\n", ErrBadChunk},
	{"non-hex size", "x\r\n", ErrBadChunk},
	{"0x prefix", "0x5\r\nhello\r\n0\r\n\r\n", ErrBadChunk},
	{"plus sign", "+5\r\nhello\r\n0\r\n\r\n", ErrBadChunk},
	{"minus sign", "-5\r\nhello\r\n0\r\n\r\n", ErrBadChunk},
	{"leading SP", " 5\r\nhello\r\n0\r\n\r\n", ErrBadChunk},
	{"junk after size", "5x\r\nhello\r\n0\r\n\r\n", ErrBadChunk},
	{"SP then junk", "5 x\r\nhello\r\n0\r\n\r\n", ErrBadChunk},
	{"17 hex digits", "00000000000000005\r\nhello\r\n0\r\n\r\n", ErrBadChunk},
	{"size overflowing int64", "ffffffffffffffff\r\n", ErrBodyTooLarge},

	// Line endings (RFC 9112 §2.2, §7.1).
	{"bare LF after size", "5\nhello\r\n0\r\n\r\n", ErrLineEnding},
	{"bare CR in size line", "5\r\rhello\r\n0\r\n\r\n", ErrLineEnding},
	{"CR inside extension", "5;a\rb\r\nhello\r\n0\r\n\r\n", ErrLineEnding},
	{"bare LF as empty line", "\n", ErrLineEnding},
	{"bare LF ending the body", "0\r\n\n", ErrLineEnding},
	{"CR CR ending the body", "0\r\n\r\rX\r\n", ErrLineEnding},

	// chunk-ext (RFC 9112 §7.1.1).
	{"whitespace after size without extension", "5 \r\nhello\r\n0\r\n\r\n", ErrBadChunkExtension},
	{"HTAB after size without extension", "5\t\r\nhello\r\n0\r\n\r\n", ErrBadChunkExtension},
	{"empty extension", "5;\r\nhello\r\n0\r\n\r\n", ErrBadChunkExtension},
	{"extension without name", "5;=x\r\nhello\r\n0\r\n\r\n", ErrBadChunkExtension},
	{"extension without value", "5;a=\r\nhello\r\n0\r\n\r\n", ErrBadChunkExtension},
	{"unterminated quoted value", "5;a=\"x\r\nhello\r\n0\r\n\r\n", ErrBadChunkExtension},
	{"escape at end of quoted value", "5;a=\"x\\\r\nhello\r\n0\r\n\r\n", ErrBadChunkExtension},
	{"CTL in quoted value", "5;a=\"\x01\"\r\nhello\r\n0\r\n\r\n", ErrBadChunkExtension},
	{"escaped CTL in quoted value", "5;a=\"\\\x01\"\r\nhello\r\n0\r\n\r\n", ErrBadChunkExtension},
	{"two words", "5;a b\r\nhello\r\n0\r\n\r\n", ErrBadChunkExtension},
	{"value with SP", "5;a=b c\r\nhello\r\n0\r\n\r\n", ErrBadChunkExtension},
	{"junk after quoted value", "5;a=\"b\"c\r\nhello\r\n0\r\n\r\n", ErrBadChunkExtension},
	{"trailing whitespace after extension", "5;a \r\nhello\r\n0\r\n\r\n", ErrBadChunkExtension},

	// chunk-data CRLF.
	{"data longer than size", "3\r\nhello\r\n0\r\n\r\n", ErrBadChunk},
	{"LF after data", "5\r\nhello\n0\r\n\r\n", ErrBadChunk},
	{"CR X after data", "5\r\nhello\rX", ErrBadChunk},
	{"no CRLF after data", "5\r\nhelloX", ErrBadChunk},

	// trailer-section (RFC 9112 §7.1.2, RFC 9110 §6.5.1).
	{"trailer without colon", "0\r\nX\r\n\r\n", ErrBadHeader},
	{"trailer obs-fold", "0\r\nX: a\r\n b\r\n\r\n", ErrObsFold},
	{"trailer SP before colon", "0\r\nX : a\r\n\r\n", ErrWhitespaceBeforeColon},
	{"trailer bare LF", "0\r\nX: a\n\r\n", ErrLineEnding},
	{"trailer Content-Length", "0\r\nContent-Length: 5\r\n\r\n", ErrBadTrailer},
	{"trailer Transfer-Encoding", "0\r\ntransfer-encoding: chunked\r\n\r\n", ErrBadTrailer},
	{"trailer Host", "0\r\nHost: evil\r\n\r\n", ErrBadTrailer},
	{"trailer Trailer", "0\r\nTrailer: X\r\n\r\n", ErrBadTrailer},
}

func TestChunkScannerInvalid(t *testing.T) {
	for _, tc := range invalidBodies {
		t.Run(tc.name, func(t *testing.T) {
			var s ChunkScanner
			end, err := s.Scan([]byte(tc.body), -1, nil)
			if end != 0 || err != tc.want {
				t.Fatalf("Scan = %d, %v; want 0, %v", end, err, tc.want)
			}
			// Fed byte by byte, the same error (or none, for a body cut
			// short before its error shows).
			var inc ChunkScanner
			for k := 0; k <= len(tc.body); k++ {
				end, err := inc.Scan([]byte(tc.body[:k]), -1, nil)
				if end != 0 || (err != nil && err != tc.want) {
					t.Fatalf("byte %d: %d, %v; want 0 and nil or %v", k, end, err, tc.want)
				}
				if err != nil {
					break
				}
			}
			// DecodeChunked never panics on what Scan rejects.
			_, _, _ = DecodeChunked([]byte(tc.body), nil)
		})
	}
}

func TestChunkScannerLimits(t *testing.T) {
	ext := func(lineLen int) string { // a size line of lineLen bytes, CRLF included
		return "1;" + strings.Repeat("a", lineLen-4) + "\r\n"
	}
	bigExt := "1;" + strings.Repeat("e", 4000) + "\r\nX\r\n" // 4005-byte line: 3987 excess
	tests := []struct {
		name    string
		body    string
		maxBody int64
		lim     Limits
		wantEnd int
		want    *Error
	}{
		{"body at limit", "5\r\nhello\r\n0\r\n\r\n", 5, Limits{}, 15, nil},
		{"body one over, before data arrives", "5\r\n", 4, Limits{}, 0, ErrBodyTooLarge},
		{"sum over limit at second size line", "3\r\nabc\r\n3\r\n", 5, Limits{}, 0, ErrBodyTooLarge},
		{"zero limit allows empty body", "0\r\n\r\n", 0, Limits{}, 5, nil},
		{"size line at 4 KiB", ext(maxChunkLine) + "X\r\n0\r\n\r\n", -1, Limits{}, maxChunkLine + 8, nil},
		{"size line over 4 KiB", ext(maxChunkLine+1) + "X\r\n0\r\n\r\n", -1, Limits{}, 0, ErrBadChunk},
		{"incomplete size line at 4 KiB", ext(maxChunkLine)[:maxChunkLine-1], -1, Limits{}, 0, nil},
		{"incomplete size line over 4 KiB", "1;" + strings.Repeat("a", maxChunkLine), -1, Limits{}, 0, ErrBadChunk},
		{"overhead within slack", strings.Repeat(bigExt, 4) + "0\r\n\r\n", -1, Limits{}, 4*len(bigExt) + 5, nil},
		{"overhead over slack", strings.Repeat(bigExt, 5) + "0\r\n\r\n", -1, Limits{}, 0, ErrChunkOverhead},
		{"trailer bytes at limit", "0\r\nX: abc\r\n\r\n", -1, Limits{MaxHeaderBytes: 10}, 13, nil},
		{"trailer bytes one over", "0\r\nX: abcd\r\n\r\n", -1, Limits{MaxHeaderBytes: 10}, 0, ErrHeaderTooLarge},
		{"incomplete trailer one over", "0\r\nX: abcdefgh", -1, Limits{MaxHeaderBytes: 10}, 0, ErrHeaderTooLarge},
		{"incomplete trailer within limit", "0\r\nX: abc\r\n\r", -1, Limits{MaxHeaderBytes: 10}, 0, nil},
		{"incomplete trailer line filling the limit", "0\r\nX: abcdefg", -1, Limits{MaxHeaderBytes: 10}, 0, ErrHeaderTooLarge},
		{"trailers at count limit", "0\r\nA: 1\r\nB: 2\r\n\r\n", -1, Limits{MaxHeaders: 2}, 17, nil},
		{"trailers one over count", "0\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n", -1, Limits{MaxHeaders: 2}, 0, ErrTooManyHeaders},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var s ChunkScanner
			lim := tc.lim
			end, err := s.Scan([]byte(tc.body), tc.maxBody, &lim)
			if end != tc.wantEnd || err != errorOrNil(tc.want) {
				t.Fatalf("Scan = %d, %v; want %d, %v", end, err, tc.wantEnd, tc.want)
			}
		})
	}
}

// encodeChunked encodes data in random chunks with random extensions and
// the given trailer lines.
func encodeChunked(rng *rand.Rand, data []byte, trailers []string) []byte {
	var b bytes.Buffer
	for len(data) > 0 {
		n := min(len(data), 1+rng.IntN(40))
		format := []string{"%x", "%X", "%04x"}[rng.IntN(3)]
		fmt.Fprintf(&b, format, n)
		switch rng.IntN(4) {
		case 1:
			b.WriteString(";name=value")
		case 2:
			b.WriteString(" ; q=\"a;b\\\"c\"")
		}
		b.WriteString("\r\n")
		b.Write(data[:n])
		b.WriteString("\r\n")
		data = data[n:]
	}
	b.WriteString("0\r\n")
	for _, t := range trailers {
		b.WriteString(t + "\r\n")
	}
	b.WriteString("\r\n")
	return b.Bytes()
}

func TestDecodeChunkedRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 200 {
		data := make([]byte, rng.IntN(600))
		for j := range data {
			data[j] = byte(rng.IntN(256))
		}
		var trailers []string
		for j := range rng.IntN(3) {
			trailers = append(trailers, fmt.Sprintf("X-T%d: v%d", j, rng.IntN(100)))
		}
		enc := encodeChunked(rng, data, trailers)
		var s ChunkScanner
		end, err := s.Scan(enc, int64(len(data)), nil)
		if end != len(enc) || err != nil || s.BodyLen() != int64(len(data)) {
			t.Fatalf("case %d: Scan = %d, %v, BodyLen %d; want %d, nil, %d", i, end, err, s.BodyLen(), len(enc), len(data))
		}
		body, hs, err := DecodeChunked(enc, make([]Header, 0, 4))
		if err != nil || !bytes.Equal(body, data) {
			t.Fatalf("case %d: DecodeChunked = %v; body equal %v", i, err, bytes.Equal(body, data))
		}
		var got []string
		for _, h := range hs {
			got = append(got, string(h.Name.Bytes(enc))+": "+string(h.Value.Bytes(enc)))
		}
		if !reflect.DeepEqual(got, trailers) {
			t.Fatalf("case %d: trailers %q, want %q", i, got, trailers)
		}
	}
}

func TestDecodeChunkedRejectsUnvalidated(t *testing.T) {
	tests := []struct {
		name string
		data string
	}{
		{"empty", ""},
		{"no last chunk", "5\r\nhello\r\n"},
		{"size beyond data", "ff\r\nhello\r\n0\r\n\r\n"},
		{"data without CRLF at end", "5\r\nhello"},
		{"no final CRLF", "0\r\n"},
		{"trailing bytes", "0\r\n\r\nX"},
		{"unterminated trailer", "0\r\nX: y"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, _, err := DecodeChunked([]byte(tc.data), nil); err == nil {
				t.Fatal("DecodeChunked accepted it")
			}
		})
	}
}
