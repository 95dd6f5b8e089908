package router_test

import (
	"testing"

	"github.com/weftgo/weft/net"
	"github.com/weftgo/weft/net/webtest"
)

// A path with a dot segment ("." or ".."), sent as it is or encoded
// (%2e%2e), is refused with 400 rather than handed to a route: decoding
// must not turn /files/%2e%2e/%2e%2e/etc/passwd into a catch-all value of
// ../../etc/passwd that a file handler joins to its root. (net/http's
// ServeMux never gives a handler such a path either: it cleans it.)
func TestDotSegmentsAreRefused(t *testing.T) {
	srv, err := webtest.Start(&net.Server{Handler: encodedRouter().Serve, Loops: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	cases := []struct {
		target string
		status int
	}{
		{"/files/../x", 400},
		{"/files/%2e%2e/%2e%2e/etc/passwd", 400},
		{"/files/%2E%2E/x", 400},
		{"/files/.%2e/x", 400},
		{"/files/a/..", 400},
		{"/users/%2e%2e", 400},
		{"/users/.", 400},
		{"/files/./x", 400},
		{"/files/..a", 200},
		{"/files/a../b", 200},
		{"/users/%2e%2e%2e", 200},
		{"/users/.x", 200},
		{"/files/x?q=../..", 200},
	}
	for _, tc := range cases {
		t.Run(tc.target, func(t *testing.T) {
			raw, err := srv.DialRaw()
			if err != nil {
				t.Fatal(err)
			}
			defer raw.Close()
			resp, body, err := raw.RoundTrip("GET", "GET "+tc.target+" HTTP/1.1\r\nHost: x\r\n\r\n")
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tc.status {
				t.Fatalf("got %d %q, want %d", resp.StatusCode, body, tc.status)
			}
		})
	}
}
