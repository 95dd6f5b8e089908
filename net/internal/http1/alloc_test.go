package http1

import (
	"strings"
	"testing"
)

// TestZeroAllocation fails on any allocation in ParseHead, Scan or
// DecodeChunked, on success and on error paths.
func TestZeroAllocation(t *testing.T) {
	chunkedBody := "5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Sum: 1\r\n\r\n"
	heads := []struct {
		name string
		in   string
	}{
		{"wrk GET", wrkGET},
		{"browser GET", browserGET},
		{"chunked POST", chunkedPOST},
		{"absolute-form", "GET http://[::1]:80/x?y HTTP/1.1\r\nHost: a\r\n\r\n"},
		{"incomplete", browserGET[:300]},
		{"bad request line", "GET  / HTTP/1.1\r\n\r\n"},
		{"bad version", "GET / HTTP/2.0\r\n\r\n"},
		{"bare LF", "GET / HTTP/1.1\nHost: a\n\n"},
		{"obs-fold", "GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n b\r\n\r\n"},
		{"smuggling", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n"},
		{"missing Host", "GET / HTTP/1.1\r\n\r\n"},
		{"URI too long", "GET /" + strings.Repeat("a", DefaultMaxRequestLine)},
		{"head too large", "GET / HTTP/1.1\r\nX: " + strings.Repeat("a", DefaultMaxHeaderBytes)},
	}
	for _, tc := range heads {
		t.Run(tc.name, func(t *testing.T) {
			buf := []byte(tc.in)
			r := newRequest()
			if a := testing.AllocsPerRun(100, func() { ParseHead(buf, r, nil) }); a != 0 {
				t.Errorf("ParseHead: %v allocations per run", a)
			}
		})
	}
	bodies := []struct {
		name string
		in   string
	}{
		{"valid", chunkedBody},
		{"bad size", "5x\r\nhello\r\n"},
		{"too large", "ffff\r\n"},
		{"bad trailer", "0\r\nHost: a\r\n\r\n"},
	}
	for _, tc := range bodies {
		t.Run("chunked "+tc.name, func(t *testing.T) {
			buf := []byte(tc.in)
			data := make([]byte, len(buf))
			trailers := make([]Header, 0, 4)
			var s ChunkScanner
			a := testing.AllocsPerRun(100, func() {
				s.Reset()
				if end, err := s.Scan(buf, 100, nil); err == nil && end > 0 {
					copy(data, buf)
					DecodeChunked(data[:end], trailers[:0])
				}
			})
			if a != 0 {
				t.Errorf("%v allocations per run", a)
			}
		})
	}
	t.Run("incremental chunked", func(t *testing.T) {
		buf := []byte(chunkedBody)
		var s ChunkScanner
		a := testing.AllocsPerRun(100, func() {
			s.Reset()
			for k := range len(buf) + 1 {
				s.Scan(buf[:k], -1, nil)
			}
		})
		if a != 0 {
			t.Errorf("%v allocations per run", a)
		}
	})
}
