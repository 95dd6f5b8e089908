package router_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/weftgo/weft/net"
	"github.com/weftgo/weft/router"
)

// echoRaw answers like echo, with the path as sent and each parameter as
// matched.
func echoRaw(c *net.Ctx) net.Result {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s", c.Route(), c.Path())
	ps := c.Params()
	for i, n := range ps.Names {
		fmt.Fprintf(&b, " %s=%s (%s)", n, c.Param(n), ps.Values[i])
	}
	return c.Text(200, b.String())
}

func encodedRouter() *router.Router {
	r := router.New()
	for _, p := range []string{"/plaintext", "/users/:name", "/users/new", "/files/*path", "/a/b",
		"/:x/b", "/:x", "/café", "/x%2Fy", "/100%25", "/dir/sub/"} {
		r.GET(p, echoRaw)
	}
	return r
}

func TestEncodedPathsMatchDecoded(t *testing.T) {
	r := encodedRouter()
	cases := []struct {
		target string
		status int
		want   string
	}{
		{"/plain%74ext", 200, "/plaintext /plain%74ext"},
		{"/PLAIN%74ext", 200, "/:x /PLAIN%74ext x=PLAINtext (PLAINtext)"}, // case-sensitive
		{"/%70%6c%61%69%6E%74%65%78%74", 200, "/plaintext /%70%6c%61%69%6E%74%65%78%74"},
		{"/users/J%C3%B6rg", 200, "/users/:name /users/J%C3%B6rg name=Jörg (Jörg)"},
		{"/users/%6eew", 200, "/users/new /users/%6eew"},
		{"/users/a%2Fb", 200, "/users/:name /users/a%2Fb name=a/b (a%2Fb)"},
		{"/users/a%2fb", 200, "/users/:name /users/a%2fb name=a/b (a%2Fb)"},
		{"/users/100%25", 200, "/users/:name /users/100%25 name=100% (100%25)"},
		{"/users/%252F", 200, "/users/:name /users/%252F name=%2F (%252F)"},
		{"/a%2Fb", 200, "/:x /a%2Fb x=a/b (a%2Fb)"}, // never /a/b
		{"/%61/b", 200, "/a/b /%61/b"},
		{"/%62/b", 200, "/:x/b /%62/b x=b (b)"},
		{"/files/x%2Fy/z%20w", 200, "/files/*path /files/x%2Fy/z%20w path=x/y/z w (x%2Fy/z w)"},
		{"/caf%C3%A9", 200, "/café /caf%C3%A9"},
		{"/x%2Fy", 200, "/x%2Fy /x%2Fy"},
		{"/x%2fy", 200, "/x%2Fy /x%2fy"},
		{"/100%25", 200, "/100%25 /100%25"},
		{"/plain%74ext/", 301, ""}, // to /plain%74ext
		{"/dir/su%62", 301, ""},    // to /dir/su%62/
		{"/users/a%2Fb/c", 404, "Not Found"},
	}
	for _, tc := range cases {
		t.Run(tc.target, func(t *testing.T) {
			resp, body := serve(t, r, "GET", tc.target)
			if resp.StatusCode != tc.status || body != tc.want {
				t.Fatalf("got %d %q, want %d %q", resp.StatusCode, body, tc.status, tc.want)
			}
		})
	}
	// Redirects keep the path as sent.
	for target, loc := range map[string]string{"/plain%74ext/": "/plain%74ext", "/dir/su%62?q=1": "/dir/su%62/?q=1"} {
		if resp, _ := serve(t, r, "GET", target); resp.Header.Get("Location") != loc {
			t.Errorf("GET %s: Location %q, want %q", target, resp.Header.Get("Location"), loc)
		}
	}
}

func TestPatternEscapesAreChecked(t *testing.T) {
	for _, p := range []string{"/caf%C3%A9", "/a%2fb", "/100%", "/a%2"} {
		t.Run(p, func(t *testing.T) {
			defer func() {
				msg, _ := recover().(string)
				if !strings.Contains(msg, "write a pattern decoded") {
					t.Fatalf("registering %q: panic %q, want one asking for the decoded form", p, msg)
				}
			}()
			router.New().GET(p, echo)
		})
	}
}

// A path with escapes allocates (one string); one without does not
// (BenchmarkServerParam and the router's alloc tests check that).
func TestEncodedPathAllocations(t *testing.T) {
	tc, err := net.NewTestConn(&net.Server{Handler: encodedRouter().Serve})
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Close()
	for _, tt := range []struct {
		target string
		max    float64
	}{{"/users/jo", 0}, {"/users/j%6F", 1}} {
		req := []byte("GET " + tt.target + " HTTP/1.1\r\nHost: x\r\n\r\n")
		r := router.New()
		r.GET("/users/:name", func(c *net.Ctx) net.Result { return c.Text(200, c.Params().Get("name")) })
		tc2, err := net.NewTestConn(&net.Server{Handler: r.Serve})
		if err != nil {
			t.Fatal(err)
		}
		if n := testing.AllocsPerRun(500, func() { _, _ = tc2.Serve(req, time.Second) }); n > tt.max {
			t.Errorf("%s: %v allocations, want at most %v", tt.target, n, tt.max)
		}
		tc2.Close()
	}
}

// fuzzAlphabet is what decoded fuzz paths are made of: the bytes of the
// routes below, a multi-byte rune, and bytes a target must encode.
var fuzzAlphabet = []string{"/", "/", "/", "a", "b", "x", "users", "new", "files", "é", " ", "?", "#", "%", "+", "."}

// FuzzEncodedPaths checks that every way of encoding a path routes it as
// its decoded form, and that an encoded slash (%2F) acts as a byte of its
// segment, never as a separator: the result equals that of the same path
// with %01 (an opaque byte no route holds) in its place.
func FuzzEncodedPaths(f *testing.F) {
	f.Add([]byte{6, 7, 0, 8}, uint64(0), uint64(0))
	f.Add([]byte{6, 0, 4, 0, 5}, uint64(0xffff), uint64(2))
	f.Add([]byte{8, 0, 1, 0, 9, 13}, uint64(0x5555), uint64(0xff))
	r := router.New()
	for _, p := range []string{"/", "/users", "/users/new", "/users/:id", "/users/:id/new", "/files/*path",
		"/a/b", "/:x/b", "/:x", "/é/:n", "/100%25", "/a+b"} {
		r.GET(p, echo)
	}
	tc, err := net.NewTestConn(&net.Server{Handler: r.Serve})
	if err != nil {
		f.Fatal(err)
	}
	defer tc.Close()
	get := func(t *testing.T, target string) string {
		out, err := tc.Serve([]byte("GET "+target+" HTTP/1.1\r\nHost: x\r\n\r\n"), time.Second)
		if err != nil || tc.Closed() {
			t.Fatalf("GET %s: %v %q", target, err, out)
		}
		status, rest, _ := strings.Cut(string(out), "\r\n")
		_, body, _ := strings.Cut(rest, "\r\n\r\n")
		return status + " " + body
	}
	f.Fuzz(func(t *testing.T, pieces []byte, encMask, slashMask uint64) {
		if len(pieces) == 0 || len(pieces) > 24 {
			return
		}
		var ref, variant strings.Builder
		bit := 0
		next := func(m uint64) bool { b := m>>(bit%64)&1 == 1; return b }
		for i, p := range pieces {
			s := fuzzAlphabet[int(p)%len(fuzzAlphabet)]
			if i == 0 || s != "/" {
				ref.WriteString("/")
				variant.WriteString("/")
			}
			for j := 0; j < len(s); j++ {
				bit++
				ch := s[j]
				switch {
				case ch == '/' && next(slashMask):
					ref.WriteString("%01")
					variant.WriteString([]string{"%2F", "%2f"}[bit&1])
				case ch == '/':
					ref.WriteByte('/')
					variant.WriteByte('/')
				case mustEncode(ch):
					ref.WriteString(fmt.Sprintf("%%%02X", ch))
					variant.WriteString(fmt.Sprintf("%%%02x", ch))
				case next(encMask):
					ref.WriteByte(ch)
					variant.WriteString(fmt.Sprintf([]string{"%%%02X", "%%%02x"}[bit&1], ch))
				default:
					ref.WriteByte(ch)
					variant.WriteByte(ch)
				}
			}
		}
		want := strings.ReplaceAll(get(t, ref.String()), "\x01", "/")
		if got := get(t, variant.String()); got != want && !strings.HasPrefix(want, "HTTP/1.1 301") {
			t.Fatalf("GET %s: %q\nGET %s: %q", variant.String(), got, ref.String(), want)
		}
	})
}

// mustEncode reports whether ch cannot appear as it is in a request path.
func mustEncode(ch byte) bool {
	return ch <= ' ' || ch >= 0x7f || ch == '?' || ch == '#' || ch == '%'
}
