package net_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/weftgo/weft/net"
	"github.com/weftgo/weft/net/webtest"
	"github.com/weftgo/weft/runtime"
)

// serve starts h in memory for the test.
func serve(t *testing.T, s *net.Server) *webtest.Server {
	t.Helper()
	return webtest.StartTB(t, s)
}

// do sends req and returns the status and body.
func do(t *testing.T, srv *webtest.Server, req *http.Request) (*http.Response, string) {
	t.Helper()
	resp, err := srv.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.RequestURI, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

type todo struct {
	Title string `json:"title"`
	Count int    `json:"count"`
}

func TestBindJSON(t *testing.T) {
	srv := serve(t, &net.Server{Handler: func(c *net.Ctx) net.Result {
		var v todo
		o := net.BindOptions{
			DisallowUnknownFields:   c.Query("strict") == "1",
			AllowMissingContentType: c.Query("lax") == "1",
		}
		o.MaxBytes, _ = c.QueryInt64("max", 0)
		if err := c.BindJSONWith(&v, o); err != nil {
			return net.Fail(err)
		}
		return c.Text(200, fmt.Sprintf("%s/%d", v.Title, v.Count))
	}})
	cases := []struct {
		name, target, ct, body string
		status                 int
		want                   string
	}{
		{"ok", "/", "application/json", `{"title":"x","count":2}`, 200, "x/2"},
		{"charset and case", "/", "Application/JSON; charset=utf-8", ` {"title":"x"} ` + "\n", 200, "x/0"},
		{"+json", "/", "application/merge-patch+json", `{"title":"p"}`, 200, "p/0"},
		{"unknown field allowed", "/", "application/json", `{"titel":"x"}`, 200, "/0"},
		{"unknown field refused", "/?strict=1", "application/json", `{"titel":"x"}`, 400, `request body: unknown field "titel"`},
		{"trailing garbage", "/", "application/json", `{"title":"x"} garbage`, 400, "request body: unexpected data after the JSON value at offset 14"},
		{"two values", "/", "application/json", `{"title":"x"}{"title":"y"}`, 400, "request body: unexpected data after the JSON value at offset 13"},
		{"syntax", "/", "application/json", `{"title":}`, 400, "request body: invalid JSON at offset 10: invalid character '}' looking for beginning of value"},
		{"cut short", "/", "application/json", `{"title":"x"`, 400, "request body: JSON value cut short"},
		{"wrong type", "/", "application/json", `{"count":"two"}`, 400, `request body: field "count": want an integer, got string`},
		{"not an object", "/", "application/json", `[1]`, 400, "request body: want an object, got array"},
		{"empty", "/", "application/json", ``, 400, "request body: empty; want a JSON value"},
		{"missing content type", "/", "", `{}`, 415, "request body: Content-Type is missing; want application/json"},
		{"missing content type allowed", "/?lax=1", "", `{"title":"l"}`, 200, "l/0"},
		{"wrong content type", "/?lax=1", "text/plain", `{}`, 415, `request body: Content-Type "text/plain" is not JSON; want application/json`},
		{"json lookalike", "/", "application/jsonx", `{}`, 415, `request body: Content-Type "application/jsonx" is not JSON; want application/json`},
		{"too large", "/?max=8", "application/json", `{"title":"long"}`, 413, "request body: 16 bytes; at most 8 accepted"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest("POST", tc.target, strings.NewReader(tc.body))
			if tc.ct != "" {
				req.Header.Set("Content-Type", tc.ct)
			}
			resp, got := do(t, srv, req)
			if resp.StatusCode != tc.status || got != tc.want {
				t.Fatalf("got %d %q, want %d %q", resp.StatusCode, got, tc.status, tc.want)
			}
		})
	}
}

// A destination that is not a pointer is the server's bug: 500, and the
// client is not told about encoding/json.
func TestBindJSONNonPointerIs500(t *testing.T) {
	srv := serve(t, &net.Server{Handler: func(c *net.Ctx) net.Result {
		var v todo
		return net.Fail(c.BindJSON(v))
	}})
	req := httptest.NewRequest("POST", "/", strings.NewReader(`{}`))
	req.Header.Set("Content-Type", "application/json")
	if resp, got := do(t, srv, req); resp.StatusCode != 500 || got != "Internal Server Error" {
		t.Fatalf("got %d %q", resp.StatusCode, got)
	}
}

func TestTypedGetters(t *testing.T) {
	srv := serve(t, &net.Server{Handler: func(c *net.Ctx) net.Result {
		ps := c.Params()
		ps.Names, ps.Values = []string{"id"}, append(ps.Values[:0], c.Header("X-Id"))
		var out any
		var err error
		switch c.Path() {
		case "/int":
			out, err = c.QueryInt("n", 7)
		case "/int64":
			out, err = c.QueryInt64("n", 7)
		case "/float":
			out, err = c.QueryFloat("n", 1.5)
		case "/bool":
			out, err = c.QueryBool("n", true)
		case "/param":
			out, err = c.ParamInt("id")
		case "/values":
			out = slices.Collect(c.QueryValues("n"))
		}
		if err != nil {
			return net.Fail(err)
		}
		return c.Text(200, fmt.Sprint(out))
	}})
	cases := []struct {
		target, id string
		status     int
		want       string
	}{
		{"/int", "", 200, "7"},
		{"/int?n=", "", 200, "7"},
		{"/int?n=-42", "", 200, "-42"},
		{"/int?n=%2B5", "", 200, "5"},
		{"/int?n=ten", "", 400, `query parameter "n": "ten" is not an integer`},
		{"/int?n=1.5", "", 400, `query parameter "n": "1.5" is not an integer`},
		{"/int64?n=9223372036854775808", "", 400, `query parameter "n": "9223372036854775808" is out of range`},
		{"/int64?n=9223372036854775807", "", 200, "9223372036854775807"},
		{"/float?n=2.25", "", 200, "2.25"},
		{"/float", "", 200, "1.5"},
		{"/float?n=NaN", "", 400, `query parameter "n": "NaN" is not a finite number`},
		{"/float?n=1e999", "", 400, `query parameter "n": "1e999" is not a finite number`},
		{"/bool?n=false", "", 200, "false"},
		{"/bool?n=0", "", 200, "false"},
		{"/bool", "", 200, "true"},
		{"/bool?n=yes", "", 400, `query parameter "n": "yes" is not true or false`},
		{"/param", "12", 200, "12"},
		{"/param", "x1", 400, `path parameter "id": "x1" is not an integer`},
		{"/param", "", 400, `path parameter "id" is missing`},
		{"/int?n=" + strings.Repeat("9", 80), "", 400, `query parameter "n": "` + strings.Repeat("9", 64) + `..." is out of range`},
		{"/values?n=a&m=b&n=c%20d&n", "", 200, "[a c d ]"},
	}
	for _, tc := range cases {
		t.Run(tc.target, func(t *testing.T) {
			req := httptest.NewRequest("GET", tc.target, nil)
			req.Header.Set("X-Id", tc.id)
			resp, got := do(t, srv, req)
			if resp.StatusCode != tc.status || got != tc.want {
				t.Fatalf("got %d %q, want %d %q", resp.StatusCode, got, tc.status, tc.want)
			}
		})
	}
}

func TestHeaderValues(t *testing.T) {
	srv := serve(t, &net.Server{Handler: func(c *net.Ctx) net.Result {
		return c.Text(200, strings.Join(slices.Collect(c.HeaderValues("x-tag")), "|"))
	}})
	req := httptest.NewRequest("GET", "/", nil)
	req.Header["X-Tag"] = []string{"a", "b, c"}
	req.Header["X-Other"] = []string{"z"}
	if _, got := do(t, srv, req); got != "a|b, c" {
		t.Fatalf("got %q", got)
	}
}

func TestForms(t *testing.T) {
	srv := serve(t, &net.Server{Handler: func(c *net.Ctx) net.Result {
		if c.Query("all") == "1" {
			f, err := c.Form()
			if err != nil {
				return net.Fail(err)
			}
			return c.Text(200, f.Encode())
		}
		return c.Text(200, c.FormValue("a")+"|"+strings.Join(slices.Collect(c.FormValues("b")), ","))
	}})
	cases := []struct {
		name, target, ct, body string
		status                 int
		want                   string
	}{
		{"values", "/", "application/x-www-form-urlencoded", "a=1+2&b=x&b=%C3%A9", 200, "1 2|x,é"},
		{"charset", "/", "application/x-www-form-urlencoded; charset=utf-8", "b=y", 200, "|y"},
		{"not a form", "/", "text/plain", "a=1", 200, "|"},
		{"whole form", "/?all=1", "application/x-www-form-urlencoded", "b=2&a=1", 200, "a=1&b=2"},
		{"whole form, wrong type", "/?all=1", "application/json", "{}", 415, `request body: Content-Type "application/json" is not application/x-www-form-urlencoded`},
		{"whole form, bad escape", "/?all=1", "application/x-www-form-urlencoded", "a=%zz", 400, "request body: invalid form data"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest("POST", tc.target, strings.NewReader(tc.body))
			req.Header.Set("Content-Type", tc.ct)
			resp, got := do(t, srv, req)
			if resp.StatusCode != tc.status || got != tc.want {
				t.Fatalf("got %d %q, want %d %q", resp.StatusCode, got, tc.status, tc.want)
			}
		})
	}
}

// Errorf's message is what the client reads; %w keeps the cause for
// errors.Is.
func TestErrorfMessageReachesTheClient(t *testing.T) {
	errQuota := errors.New("quota")
	var got error
	srv := serve(t, &net.Server{Handler: func(c *net.Ctx) net.Result {
		if c.Path() == "/wrap" {
			got = net.Errorf(429, "over %w for %s", errQuota, "today")
			return net.Fail(got)
		}
		return net.Fail(net.Errorf(400, "title: at most %d characters", 80))
	}})
	resp, body := do(t, srv, httptest.NewRequest("GET", "/", nil))
	if resp.StatusCode != 400 || body != "title: at most 80 characters" {
		t.Fatalf("got %d %q", resp.StatusCode, body)
	}
	resp, body = do(t, srv, httptest.NewRequest("GET", "/wrap", nil))
	if resp.StatusCode != 429 || body != "over quota for today" {
		t.Fatalf("got %d %q", resp.StatusCode, body)
	}
	if !errors.Is(got, errQuota) || got.Error() != "429 over quota for today" {
		t.Fatalf("errors.Is = %v, Error() = %q", errors.Is(got, errQuota), got.Error())
	}
}

// A handler that starts a continuation and returns net.Done() sends an
// empty 200; the continuation's late answer is dropped, and logged once per
// route.
func TestLateWriteIsLoggedOncePerRoute(t *testing.T) {
	core, logs := observer.New(zapcore.WarnLevel)
	late := make(chan net.Result, 1)
	srv := serve(t, &net.Server{Logger: zap.New(core), Handler: func(c *net.Ctx) net.Result {
		net.SetRoute(c, "/late/:id")
		if c.Path() == "/other" {
			net.SetRoute(c, "/other")
		}
		f := runtime.Blocking(c, func(context.Context) (string, error) { return "late", nil })
		runtime.Then(c, f, func(s string) net.Result {
			r := c.Text(200, s) // too late: the response is final
			late <- r
			return r
		})
		return net.Done() // the bug
	}})
	for _, path := range []string{"/late/1", "/late/2", "/other"} {
		resp, body := do(t, srv, httptest.NewRequest("GET", path, nil))
		if resp.StatusCode != 200 || body != "" {
			t.Fatalf("%s: got %d %q, want the empty 200 the handler asked for", path, resp.StatusCode, body)
		}
		<-late
	}
	entries := logs.All()
	if len(entries) != 2 {
		t.Fatalf("%d warnings, want 2 (one per route): %v", len(entries), entries)
	}
	for i, route := range []string{"/late/:id", "/other"} {
		fields := entries[i].ContextMap()
		if fields["route"] != route || fields["call"] != "Ctx.Text" || !strings.Contains(fields["why"].(string), "net.Done()") {
			t.Fatalf("warning %d: %v", i, fields)
		}
	}
}

// A continuation that answers in time is not a late write.
func TestTimelyContinuationIsNotLogged(t *testing.T) {
	core, logs := observer.New(zapcore.WarnLevel)
	srv := serve(t, &net.Server{Logger: zap.New(core), Handler: func(c *net.Ctx) net.Result {
		return runtime.Then(c, runtime.After(c, time.Millisecond), func(struct{}) net.Result {
			return c.Text(200, "in time")
		})
	}})
	if _, body := do(t, srv, httptest.NewRequest("GET", "/", nil)); body != "in time" {
		t.Fatalf("got %q", body)
	}
	if n := logs.Len(); n != 0 {
		t.Fatalf("%d warnings, want none: %v", n, logs.All())
	}
}

// BenchmarkLateWrite measures a late call once its route has been warned
// of: the cost a buggy handler pays per dropped call.
func BenchmarkLateWrite(b *testing.B) {
	done := make(chan struct{})
	srv, err := webtest.Start(&net.Server{Loops: 1, Handler: func(c *net.Ctx) net.Result {
		f := runtime.Blocking(c, func(context.Context) (struct{}, error) { return struct{}{}, nil })
		runtime.Then(c, f, func(struct{}) net.Result {
			defer close(done)
			c.Text(200, "warm") // the first late call logs
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				c.Text(200, "late")
			}
			return net.Done()
		})
		return net.Done()
	}})
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Close()
	resp, err := srv.Do(httptest.NewRequest("GET", "/", nil))
	if err != nil {
		b.Fatal(err)
	}
	resp.Body.Close()
	<-done
}
