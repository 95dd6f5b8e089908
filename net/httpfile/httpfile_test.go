package httpfile

import (
	"testing"
	"time"
)

func TestParseHTTPDate(t *testing.T) {
	want := time.Date(1994, 11, 6, 8, 49, 37, 0, time.UTC)
	for _, s := range []string{
		"Sun, 06 Nov 1994 08:49:37 GMT",  // IMF-fixdate
		"Sunday, 06-Nov-94 08:49:37 GMT", // RFC 850
		"Sun Nov  6 08:49:37 1994",       // asctime
		" Sun, 06 Nov 1994 08:49:37 GMT ",
	} {
		got, ok := ParseHTTPDate(s)
		if !ok || !got.Equal(want) {
			t.Errorf("ParseHTTPDate(%q) = %v, %v; want %v", s, got, ok, want)
		}
	}
	for _, s := range []string{"", "yesterday", "Sun, 06 Nov 1994 08:49:37 PST"} {
		if _, ok := ParseHTTPDate(s); ok {
			t.Errorf("ParseHTTPDate(%q) succeeded", s)
		}
	}
}

func TestDecisions(t *testing.T) {
	mod := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	f := &File{Size: 1000, ModTime: mod, ETag: ETag(1000, mod)}
	tests := []struct {
		name          string
		r             Request
		pre           int
		start, length int64
		status        int
	}{
		{"plain", Request{Get: true}, 0, 0, 1000, StatusOK},
		{"range", Request{Get: true, Range: "bytes=10-19"}, 0, 10, 10, StatusPartialContent},
		{"suffix", Request{Get: true, Range: "bytes=-100"}, 0, 900, 100, StatusPartialContent},
		{"past the end", Request{Get: true, Range: "bytes=1000-"}, 0, 0, 0, StatusRangeNotSatisfiable},
		{"several ranges: whole", Request{Get: true, Range: "bytes=0-1,5-6"}, 0, 0, 1000, StatusOK},
		{"HEAD ignores Range", Request{Range: "bytes=10-19"}, 0, 0, 1000, StatusOK},
		{"If-Range other tag", Request{Get: true, Range: "bytes=10-19", IfRange: `"x"`}, 0, 0, 1000, StatusOK},
		{"If-None-Match", Request{Get: true, IfNone: f.ETag}, StatusNotModified, 0, 1000, StatusOK},
		{"If-None-Match weak", Request{Get: true, IfNone: "W/" + f.ETag}, StatusNotModified, 0, 1000, StatusOK},
		{"If-Match other", Request{Get: true, IfMatch: `"x"`}, StatusPreconditionFailed, 0, 1000, StatusOK},
		{"If-Modified-Since later", Request{Get: true, IfModSnc: LastModified(mod.Add(time.Hour))}, StatusNotModified, 0, 1000, StatusOK},
		{"If-Unmodified-Since earlier", Request{Get: true, IfUnmod: LastModified(mod.Add(-time.Hour))}, StatusPreconditionFailed, 0, 1000, StatusOK},
	}
	for _, tt := range tests {
		if got := Preconditions(&tt.r, f); got != tt.pre {
			t.Errorf("%s: Preconditions = %d, want %d", tt.name, got, tt.pre)
		}
		start, length, status := ChooseRange(&tt.r, f)
		if status != tt.status || (status != StatusRangeNotSatisfiable && (start != tt.start || length != tt.length)) {
			t.Errorf("%s: ChooseRange = %d, %d, %d; want %d, %d, %d", tt.name, start, length, status, tt.start, tt.length, tt.status)
		}
	}
}
