package http1

import (
	"strings"
	"testing"
)

func benchmarkHead(b *testing.B, in string) {
	buf := []byte(in)
	r := newRequest()
	b.ReportAllocs()
	b.SetBytes(int64(len(buf)))
	for b.Loop() {
		if n, err := ParseHead(buf, r, nil); n == 0 || err != nil {
			b.Fatal(n, err)
		}
	}
}

func BenchmarkParseHeadSmallGET(b *testing.B)   { benchmarkHead(b, wrkGET) }
func BenchmarkParseHeadBrowserGET(b *testing.B) { benchmarkHead(b, browserGET) }
func BenchmarkParseHeadChunkedPOST(b *testing.B) {
	benchmarkHead(b, chunkedPOST)
}

// BenchmarkParseHeadRetry measures a retry of an incomplete head whose new
// bytes hold no LF: the resume shortcut.
func BenchmarkParseHeadRetry(b *testing.B) {
	buf := []byte(browserGET)
	cut := strings.Index(browserGET, "Mozilla") // inside the long User-Agent value
	r := newRequest()
	ParseHead(buf[:cut], r, nil)
	b.ReportAllocs()
	for b.Loop() {
		if n, err := ParseHead(buf[:cut+20], r, nil); n != 0 || err != nil {
			b.Fatal(n, err)
		}
	}
}

func BenchmarkChunkedScanDecode(b *testing.B) {
	var body strings.Builder
	for range 16 {
		body.WriteString("100\r\n" + strings.Repeat("x", 256) + "\r\n")
	}
	body.WriteString("0\r\n\r\n")
	buf := []byte(body.String())
	data := make([]byte, len(buf))
	var s ChunkScanner
	b.ReportAllocs()
	b.SetBytes(int64(len(buf)))
	for b.Loop() {
		s.Reset()
		end, err := s.Scan(buf, -1, nil)
		if end != len(buf) || err != nil {
			b.Fatal(end, err)
		}
		copy(data, buf)
		if _, _, err := DecodeChunked(data, nil); err != nil {
			b.Fatal(err)
		}
	}
}
