package net_test

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/weftgo/weft/net"
)

// cookiesAsNetHTTP returns what net/http reads from the same Cookie
// header fields, as "name=value" lines.
func cookiesAsNetHTTP(lines []string) string {
	req := &http.Request{Header: http.Header{"Cookie": lines}}
	var b strings.Builder
	for _, ck := range req.Cookies() {
		fmt.Fprintf(&b, "%s=%s\n", ck.Name, ck.Value)
	}
	return b.String()
}

// cookieHandler answers with the cookies weft reads, and what net/http
// reads from the same header fields.
func cookieHandler(c *net.Ctx) net.Result {
	var lines []string
	for v := range c.HeaderValues("Cookie") {
		lines = append(lines, v)
	}
	var b strings.Builder
	for name, value := range c.Cookies() {
		fmt.Fprintf(&b, "%s=%s\n", name, value)
	}
	return c.Text(200, b.String()+"--\n"+cookiesAsNetHTTP(lines))
}

func TestCookiesReadAsNetHTTPDoes(t *testing.T) {
	srv := serve(t, &net.Server{Handler: cookieHandler})
	cases := [][]string{
		{"a=1; b=2"},
		{"a=1", "b=2; c=3"},
		{` a = 1 ;b="quoted"; ;c=""; d="; e=x y`},
		{`bad name=1; ok=1; x=a\b; y=a"b; z=a;b`},
		{"=novalue; n; m=; é=1; k=v=w"},
		{`q="a"b"; r="`},
	}
	for _, lines := range cases {
		t.Run(strings.Join(lines, "|"), func(t *testing.T) {
			req := httptest.NewRequest("GET", "/", nil)
			req.Header["Cookie"] = lines
			_, body := do(t, srv, req)
			weft, nethttp, _ := strings.Cut(body, "--\n")
			if weft != nethttp {
				t.Fatalf("weft read\n%s\nnet/http read\n%s", weft, nethttp)
			}
			if want := cookiesAsNetHTTP(lines); nethttp != want {
				t.Fatalf("the server saw other header fields: %q, want %q", nethttp, want)
			}
		})
	}
}

func TestCookieByName(t *testing.T) {
	srv := serve(t, &net.Server{Handler: func(c *net.Ctx) net.Result {
		v, ok := c.Cookie(c.Query("name"))
		return c.Text(200, fmt.Sprintf("%q %v", v, ok))
	}})
	for _, tc := range []struct{ name, want string }{
		{"a", `"1" true`}, {"b", `"two" true`}, {"e", `"" true`}, {"c", `"" false`}, {"bad", `"" false`},
	} {
		req := httptest.NewRequest("GET", "/?name="+tc.name, nil)
		req.Header["Cookie"] = []string{`a=1; bad=x\y; b="two"`, "e=; a=2"}
		if _, got := do(t, srv, req); got != tc.want {
			t.Errorf("Cookie(%q) = %s, want %s", tc.name, got, tc.want)
		}
	}
}

// FuzzCookies compares weft's reading of Cookie headers with net/http's.
func FuzzCookies(f *testing.F) {
	for _, s := range []string{"a=1; b=2", `a="x"; b`, " ; =; a=b=c", `a="; b=\"`, "a=1\x00"} {
		f.Add(s, "c=3")
	}
	tc, err := net.NewTestConn(&net.Server{Handler: cookieHandler})
	if err != nil {
		f.Fatal(err)
	}
	defer tc.Close()
	f.Fuzz(func(t *testing.T, a, b string) {
		req := "GET / HTTP/1.1\r\nHost: x\r\nCookie: " + a + "\r\nCookie: " + b + "\r\n\r\n"
		out, err := tc.Serve([]byte(req), time.Second)
		if err != nil || tc.Closed() {
			t.Skip("not a request weft accepts") // CR, LF or NUL in a value: refused with 400
		}
		_, body, ok := bytes.Cut(out, []byte("\r\n\r\n"))
		if !ok {
			t.Fatalf("no response: %q", out)
		}
		weft, nethttp, _ := strings.Cut(string(body), "--\n")
		if weft != nethttp {
			t.Fatalf("Cookie: %q, Cookie: %q:\nweft read\n%s\nnet/http read\n%s", a, b, weft, nethttp)
		}
	})
}

func TestSetCookie(t *testing.T) {
	srv := serve(t, &net.Server{Handler: func(c *net.Ctx) net.Result {
		err := c.SetCookie(&http.Cookie{Name: "session", Value: "abc", Path: "/", Domain: "example.com",
			Expires: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC), MaxAge: 3600, Secure: true, HttpOnly: true,
			SameSite: http.SameSiteLaxMode, Partitioned: true})
		if err != nil {
			return net.Fail(err)
		}
		if err := c.SetCookie(&http.Cookie{Name: "gone", MaxAge: -1}); err != nil {
			return net.Fail(err)
		}
		if err := c.SetCookie(&http.Cookie{Name: "bad name", Value: "x"}); err == nil {
			return c.Text(500, "an invalid cookie was accepted")
		}
		if c.Query("fail") == "1" {
			return net.Fail(net.Errorf(403, "no"))
		}
		return c.Text(200, "ok")
	}})
	for _, target := range []string{"/", "/?fail=1"} {
		resp, body := do(t, srv, httptest.NewRequest("GET", target, nil))
		got := resp.Header.Values("Set-Cookie")
		want := []string{
			"session=abc; Path=/; Domain=example.com; Expires=Wed, 02 Jan 2030 03:04:05 GMT; Max-Age=3600; HttpOnly; Secure; SameSite=Lax; Partitioned",
			"gone=; Max-Age=0",
		}
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Fatalf("%s: %d %q: Set-Cookie\n%s\nwant\n%s", target, resp.StatusCode, body, strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		// net/http's client reads them back.
		if cks := resp.Cookies(); len(cks) != 2 || cks[0].Value != "abc" || !cks[0].Partitioned || cks[1].MaxAge != -1 {
			t.Fatalf("%s: the client read %v", target, cks)
		}
	}
}

// Reading the request with the helpers allocates nothing when nothing
// needs decoding.
func TestHelpersDoNotAllocate(t *testing.T) {
	h := func(c *net.Ctx) net.Result {
		n, err := c.QueryInt("n", 0)
		v, _ := c.Cookie("b")
		tags := 0
		for range c.HeaderValues("X-Tag") {
			tags++
		}
		if err != nil || n != 42 || v != "2" || tags != 2 || c.FormValue("f") != "x" {
			return c.Text(500, "wrong")
		}
		return c.Text(200, "ok")
	}
	tc := newTestConn(t, &net.Server{Handler: h})
	req := []byte("POST /?n=42 HTTP/1.1\r\nHost: x\r\nCookie: a=1; b=2\r\nX-Tag: a\r\nX-Tag: b\r\n" +
		"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 7\r\n\r\ng=1&f=x")
	var out []byte
	if n := testing.AllocsPerRun(1000, func() { out, _ = tc.Serve(req, time.Second) }); n != 0 {
		t.Fatalf("%v allocations per request, want 0", n)
	}
	if !bytes.HasSuffix(out, []byte("ok")) {
		t.Fatalf("response %q", out)
	}
}
