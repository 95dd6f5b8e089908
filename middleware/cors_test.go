package middleware_test

import (
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/weftgo/weft/middleware"
	"github.com/weftgo/weft/net"
	"github.com/weftgo/weft/router"
)

// corsHeaders are the response headers the CORS tests compare.
var corsHeaders = []string{
	"Access-Control-Allow-Origin",
	"Access-Control-Allow-Credentials",
	"Access-Control-Allow-Methods",
	"Access-Control-Allow-Headers",
	"Access-Control-Expose-Headers",
	"Access-Control-Max-Age",
	"Vary",
}

// corsAnswer is what a CORS middleware answered: the status, whether the
// next handler ran, and the CORS headers (Vary values joined with ", ").
type corsAnswer struct {
	status  int
	next    bool
	headers map[string]string
}

func (a corsAnswer) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d next=%v", a.status, a.next)
	for _, k := range slices.Sorted(maps.Keys(a.headers)) {
		fmt.Fprintf(&b, "\n\t%s: %s", k, a.headers[k])
	}
	return b.String()
}

func (a corsAnswer) equal(b corsAnswer) bool {
	return a.status == b.status && a.next == b.next && maps.Equal(a.headers, b.headers)
}

// h builds a header map from "Name", "value" pairs.
func h(kv ...string) map[string]string {
	m := map[string]string{}
	for i := 0; i < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}

// serveCORS serves req through CORS(cfg) around a handler that answers
// 200 "next".
func serveCORS(t *testing.T, cfg middleware.CORSConfig, req string) corsAnswer {
	t.Helper()
	next := func(c *net.Ctx) net.Result { return c.Text(200, "next") }
	tc := testConn(t, net.Chain(next, middleware.CORS(cfg)))
	resp, body := serveTC(t, tc, req)
	a := corsAnswer{status: resp.StatusCode, next: body == "next", headers: map[string]string{}}
	for _, name := range corsHeaders {
		if vs := resp.Header.Values(name); len(vs) > 0 {
			a.headers[name] = strings.Join(vs, ", ")
		}
	}
	return a
}

const expressMethodList = "GET,HEAD,PUT,PATCH,POST,DELETE"

// TestCORSAgainstExpress encodes, case by case, what Express's cors
// package (2.8.5, as configured in the comment) answers and what weft's
// CORS answers. Where they differ, why is written down; a difference
// without a reason, or a reason without a difference, fails the test.
func TestCORSAgainstExpress(t *testing.T) {
	origins := []string{"https://a.example"}
	preflight := func(origin, method string, more ...string) string {
		hs := []string{"Origin: " + origin, "Access-Control-Request-Method: " + method}
		return request("OPTIONS", "/r", append(hs, more...)...)
	}
	tests := []struct {
		name    string
		express string // the Express configuration it corresponds to
		cfg     middleware.CORSConfig
		req     string
		want    corsAnswer // weft
		expr    corsAnswer // Express's cors
		why     string     // why they differ
	}{
		{
			name: "default, simple request", express: "cors()",
			req:  get("/r", "Origin: https://a.example"),
			want: corsAnswer{200, true, h("Access-Control-Allow-Origin", "*")},
			expr: corsAnswer{200, true, h("Access-Control-Allow-Origin", "*")},
		},
		{
			name: "default, no Origin", express: "cors()",
			req:  get("/r"),
			want: corsAnswer{200, true, h()},
			expr: corsAnswer{200, true, h("Access-Control-Allow-Origin", "*")},
			why:  "a request without Origin is not a CORS request: weft sends no CORS header (browsers never read it)",
		},
		{
			name: "default, preflight", express: "cors()",
			req: preflight("https://a.example", "PUT", "Access-Control-Request-Headers: x-token,content-type"),
			want: corsAnswer{204, false, h("Access-Control-Allow-Origin", "*", "Access-Control-Allow-Methods", expressMethodList,
				"Access-Control-Allow-Headers", "x-token,content-type", "Vary", "Access-Control-Request-Method, Access-Control-Request-Headers")},
			expr: corsAnswer{204, false, h("Access-Control-Allow-Origin", "*", "Access-Control-Allow-Methods", expressMethodList,
				"Access-Control-Allow-Headers", "x-token,content-type", "Vary", "Access-Control-Request-Headers")},
			why: "weft checks the requested method, so the answer also varies by Access-Control-Request-Method",
		},
		{
			name: "default, OPTIONS without Access-Control-Request-Method", express: "cors()",
			req:  request("OPTIONS", "/r", "Origin: https://a.example"),
			want: corsAnswer{200, true, h("Access-Control-Allow-Origin", "*")},
			expr: corsAnswer{204, false, h("Access-Control-Allow-Origin", "*", "Access-Control-Allow-Methods", expressMethodList, "Vary", "Access-Control-Request-Headers")},
			why:  "Express answers every OPTIONS as a preflight; weft only real preflights (the Fetch standard's), and lets other OPTIONS reach the handler (the router's Allow answer)",
		},
		{
			name: "default, preflight for a method outside the list", express: "cors()",
			req:  preflight("https://a.example", "PROPFIND"),
			want: corsAnswer{204, false, h("Vary", "Access-Control-Request-Method, Access-Control-Request-Headers")},
			expr: corsAnswer{204, false, h("Access-Control-Allow-Origin", "*", "Access-Control-Allow-Methods", expressMethodList, "Vary", "Access-Control-Request-Headers")},
			why:  "weft refuses a disallowed preflight by sending no CORS header; Express sends them and leaves the refusal to the browser (same outcome)",
		},
		{
			name: "list, allowed origin", express: "cors({origin: ['https://a.example']})",
			cfg:  middleware.CORSConfig{AllowOrigins: origins},
			req:  get("/r", "Origin: https://a.example"),
			want: corsAnswer{200, true, h("Access-Control-Allow-Origin", "https://a.example", "Vary", "Origin")},
			expr: corsAnswer{200, true, h("Access-Control-Allow-Origin", "https://a.example", "Vary", "Origin")},
		},
		{
			name: "list, other origin", express: "cors({origin: ['https://a.example']})",
			cfg:  middleware.CORSConfig{AllowOrigins: origins},
			req:  get("/r", "Origin: https://evil.example"),
			want: corsAnswer{200, true, h("Vary", "Origin")},
			expr: corsAnswer{200, true, h("Vary", "Origin")},
		},
		{
			name: "list, no Origin", express: "cors({origin: ['https://a.example']})",
			cfg:  middleware.CORSConfig{AllowOrigins: origins},
			req:  get("/r"),
			want: corsAnswer{200, true, h("Vary", "Origin")},
			expr: corsAnswer{200, true, h("Vary", "Origin")},
		},
		{
			name: "list, origin compared ignoring case", express: "cors({origin: ['https://a.example']})",
			cfg:  middleware.CORSConfig{AllowOrigins: origins},
			req:  get("/r", "Origin: https://A.example"),
			want: corsAnswer{200, true, h("Access-Control-Allow-Origin", "https://A.example", "Vary", "Origin")},
			expr: corsAnswer{200, true, h("Vary", "Origin")},
			why:  "scheme and host are case-insensitive; browsers send them in lower case, so this only matters to hand-made requests",
		},
		{
			name: "list, preflight from another origin", express: "cors({origin: ['https://a.example']})",
			cfg:  middleware.CORSConfig{AllowOrigins: origins},
			req:  preflight("https://evil.example", "PUT"),
			want: corsAnswer{204, false, h("Vary", "Origin, Access-Control-Request-Method, Access-Control-Request-Headers")},
			expr: corsAnswer{204, false, h("Access-Control-Allow-Methods", expressMethodList, "Vary", "Origin, Access-Control-Request-Headers")},
			why:  "weft sends no CORS header at all to a refused preflight; Express omits only Allow-Origin (same outcome)",
		},
		{
			name: "single fixed origin, other origin", express: "cors({origin: 'https://a.example'})",
			cfg:  middleware.CORSConfig{AllowOrigins: origins},
			req:  get("/r", "Origin: https://evil.example"),
			want: corsAnswer{200, true, h("Vary", "Origin")},
			expr: corsAnswer{200, true, h("Access-Control-Allow-Origin", "https://a.example", "Vary", "Origin")},
			why:  "Express sends a single configured origin to everyone; weft treats one origin as a list of one and sends it only to that origin (same outcome)",
		},
		{
			name: "allowed headers, preflight within them", express: "cors({allowedHeaders: ['Content-Type', 'X-Token']})",
			cfg: middleware.CORSConfig{AllowHeaders: []string{"Content-Type", "X-Token"}},
			req: preflight("https://a.example", "POST", "Access-Control-Request-Headers: x-token"),
			want: corsAnswer{204, false, h("Access-Control-Allow-Origin", "*", "Access-Control-Allow-Methods", expressMethodList,
				"Access-Control-Allow-Headers", "Content-Type,X-Token", "Vary", "Access-Control-Request-Method, Access-Control-Request-Headers")},
			expr: corsAnswer{204, false, h("Access-Control-Allow-Origin", "*", "Access-Control-Allow-Methods", expressMethodList,
				"Access-Control-Allow-Headers", "Content-Type,X-Token")},
			why: "weft checks the requested headers and method, so the answer varies by them",
		},
		{
			name: "allowed headers, preflight asking for another", express: "cors({allowedHeaders: ['Content-Type']})",
			cfg:  middleware.CORSConfig{AllowHeaders: []string{"Content-Type"}},
			req:  preflight("https://a.example", "POST", "Access-Control-Request-Headers: x-secret"),
			want: corsAnswer{204, false, h("Vary", "Access-Control-Request-Method, Access-Control-Request-Headers")},
			expr: corsAnswer{204, false, h("Access-Control-Allow-Origin", "*", "Access-Control-Allow-Methods", expressMethodList, "Access-Control-Allow-Headers", "Content-Type")},
			why:  "weft refuses a disallowed preflight by sending no CORS header (same outcome)",
		},
		{
			name: "credentials, allowed origin", express: "cors({origin: ['https://a.example'], credentials: true})",
			cfg:  middleware.CORSConfig{AllowOrigins: origins, AllowCredentials: true},
			req:  get("/r", "Origin: https://a.example"),
			want: corsAnswer{200, true, h("Access-Control-Allow-Origin", "https://a.example", "Access-Control-Allow-Credentials", "true", "Vary", "Origin")},
			expr: corsAnswer{200, true, h("Access-Control-Allow-Origin", "https://a.example", "Access-Control-Allow-Credentials", "true", "Vary", "Origin")},
		},
		{
			name: "credentials, preflight with max age", express: "cors({origin: ['https://a.example'], credentials: true, maxAge: 600})",
			cfg: middleware.CORSConfig{AllowOrigins: origins, AllowCredentials: true, MaxAge: 10 * time.Minute},
			req: preflight("https://a.example", "DELETE"),
			want: corsAnswer{204, false, h("Access-Control-Allow-Origin", "https://a.example", "Access-Control-Allow-Credentials", "true",
				"Access-Control-Allow-Methods", expressMethodList, "Access-Control-Max-Age", "600",
				"Vary", "Origin, Access-Control-Request-Method, Access-Control-Request-Headers")},
			expr: corsAnswer{204, false, h("Access-Control-Allow-Origin", "https://a.example", "Access-Control-Allow-Credentials", "true",
				"Access-Control-Allow-Methods", expressMethodList, "Access-Control-Max-Age", "600",
				"Vary", "Origin, Access-Control-Request-Headers")},
			why: "weft checks the requested method and headers, so the answer varies by them",
		},
		{
			name: "exposed headers, simple request", express: "cors({exposedHeaders: ['X-Total']})",
			cfg:  middleware.CORSConfig{ExposeHeaders: []string{"X-Total"}},
			req:  get("/r", "Origin: https://a.example"),
			want: corsAnswer{200, true, h("Access-Control-Allow-Origin", "*", "Access-Control-Expose-Headers", "X-Total")},
			expr: corsAnswer{200, true, h("Access-Control-Allow-Origin", "*", "Access-Control-Expose-Headers", "X-Total")},
		},
		{
			name: "exposed headers, preflight", express: "cors({exposedHeaders: ['X-Total']})",
			cfg: middleware.CORSConfig{ExposeHeaders: []string{"X-Total"}},
			req: preflight("https://a.example", "GET"),
			want: corsAnswer{204, false, h("Access-Control-Allow-Origin", "*", "Access-Control-Allow-Methods", expressMethodList,
				"Vary", "Access-Control-Request-Method, Access-Control-Request-Headers")},
			expr: corsAnswer{204, false, h("Access-Control-Allow-Origin", "*", "Access-Control-Allow-Methods", expressMethodList,
				"Access-Control-Expose-Headers", "X-Total", "Vary", "Access-Control-Request-Headers")},
			why: "Expose-Headers means nothing on a preflight (browsers read it on the actual response); the answer varies by the requested method and headers",
		},
		{
			name: "methods list, preflight within it", express: "cors({methods: ['GET', 'PUT']})",
			cfg: middleware.CORSConfig{AllowMethods: []string{"GET", "PUT"}},
			req: preflight("https://a.example", "PUT"),
			want: corsAnswer{204, false, h("Access-Control-Allow-Origin", "*", "Access-Control-Allow-Methods", "GET,PUT",
				"Vary", "Access-Control-Request-Method, Access-Control-Request-Headers")},
			expr: corsAnswer{204, false, h("Access-Control-Allow-Origin", "*", "Access-Control-Allow-Methods", "GET,PUT", "Vary", "Access-Control-Request-Headers")},
			why:  "weft checks the requested method and headers, so the answer varies by them",
		},
		{
			name: "options success status 200", express: "cors({optionsSuccessStatus: 200})",
			cfg: middleware.CORSConfig{OptionsSuccessStatus: 200},
			req: preflight("https://a.example", "GET"),
			want: corsAnswer{200, false, h("Access-Control-Allow-Origin", "*", "Access-Control-Allow-Methods", expressMethodList,
				"Vary", "Access-Control-Request-Method, Access-Control-Request-Headers")},
			expr: corsAnswer{200, false, h("Access-Control-Allow-Origin", "*", "Access-Control-Allow-Methods", expressMethodList, "Vary", "Access-Control-Request-Headers")},
			why:  "weft checks the requested method and headers, so the answer varies by them",
		},
		{
			name: "preflight continue", express: "cors({preflightContinue: true})",
			cfg: middleware.CORSConfig{PreflightContinue: true},
			req: preflight("https://a.example", "GET"),
			want: corsAnswer{200, true, h("Access-Control-Allow-Origin", "*", "Access-Control-Allow-Methods", expressMethodList,
				"Vary", "Access-Control-Request-Method, Access-Control-Request-Headers")},
			expr: corsAnswer{200, true, h("Access-Control-Allow-Origin", "*", "Access-Control-Allow-Methods", expressMethodList, "Vary", "Access-Control-Request-Headers")},
			why:  "weft checks the requested method and headers, so the answer varies by them",
		},
		{
			name: "origin function allows", express: "cors({origin: (o, cb) => cb(null, o.endsWith('.a.example'))})",
			cfg:  middleware.CORSConfig{AllowOriginFunc: func(o string) bool { return strings.HasSuffix(o, ".a.example") }},
			req:  get("/r", "Origin: https://app.a.example"),
			want: corsAnswer{200, true, h("Access-Control-Allow-Origin", "https://app.a.example", "Vary", "Origin")},
			expr: corsAnswer{200, true, h("Access-Control-Allow-Origin", "https://app.a.example", "Vary", "Origin")},
		},
		{
			name: "origin function refuses", express: "cors({origin: (o, cb) => cb(null, o.endsWith('.a.example'))})",
			cfg:  middleware.CORSConfig{AllowOriginFunc: func(o string) bool { return strings.HasSuffix(o, ".a.example") }},
			req:  get("/r", "Origin: https://evil.example"),
			want: corsAnswer{200, true, h("Vary", "Origin")},
			expr: corsAnswer{200, true, h()},
			why:  "Express skips its middleware entirely when the function refuses, so a cache may serve that answer to an allowed origin; weft keeps Vary: Origin",
		},
		{
			name: "wildcard among origins", express: "cors({origin: '*'})",
			cfg:  middleware.CORSConfig{AllowOrigins: []string{"*"}},
			req:  get("/r", "Origin: https://b.example"),
			want: corsAnswer{200, true, h("Access-Control-Allow-Origin", "*")},
			expr: corsAnswer{200, true, h("Access-Control-Allow-Origin", "*")},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := serveCORS(t, tt.cfg, tt.req)
			if !got.equal(tt.want) {
				t.Fatalf("weft answered\n%v\nwant\n%v", got, tt.want)
			}
			switch same := tt.want.equal(tt.expr); {
			case !same && tt.why == "":
				t.Fatalf("weft differs from Express (%s) without a reason:\nweft %v\nExpress %v", tt.express, tt.want, tt.expr)
			case same && tt.why != "":
				t.Fatalf("a reason is given, but weft answers as Express does")
			}
		})
	}
}

// TestCORSRefusals: a refused preflight carries no Allow-* header, whatever
// made it refused.
func TestCORSRefusals(t *testing.T) {
	cfg := middleware.CORSConfig{
		AllowOrigins:     []string{"https://a.example"},
		AllowMethods:     []string{"PUT"},
		AllowHeaders:     []string{"X-Token"},
		AllowCredentials: true,
	}
	tests := []struct {
		name, origin, method, headers string
		allowed                       bool
	}{
		{"all allowed", "https://a.example", "PUT", "x-token", true},
		{"safelisted method always allowed", "https://a.example", "POST", "", true},
		{"no headers asked", "https://a.example", "PUT", "", true},
		{"headers with spaces and case", "https://a.example", "PUT", " X-TOKEN , x-token", true},
		{"origin not listed", "https://b.example", "PUT", "", false},
		{"origin with another port", "https://a.example:8443", "PUT", "", false},
		{"method not listed", "https://a.example", "DELETE", "", false},
		{"methods are case-sensitive", "https://a.example", "put", "", false},
		{"one header not listed", "https://a.example", "PUT", "x-token, x-other", false},
		{"not a header name", "https://a.example", "PUT", "x token", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hs := []string{"Origin: " + tt.origin, "Access-Control-Request-Method: " + tt.method}
			if tt.headers != "" {
				hs = append(hs, "Access-Control-Request-Headers: "+tt.headers)
			}
			got := serveCORS(t, cfg, request("OPTIONS", "/r", hs...))
			if got.status != 204 || got.next {
				t.Fatalf("status %d, next %v: want 204 from the middleware", got.status, got.next)
			}
			_, hasOrigin := got.headers["Access-Control-Allow-Origin"]
			_, hasMethods := got.headers["Access-Control-Allow-Methods"]
			if hasOrigin != tt.allowed || hasMethods != tt.allowed {
				t.Fatalf("allowed %v, want %v:\n%v", hasOrigin, tt.allowed, got)
			}
			if !tt.allowed && len(got.headers) != 1 {
				t.Fatalf("refused preflight carries more than Vary:\n%v", got)
			}
		})
	}
}

func TestCORSMethodAndHeaderWildcards(t *testing.T) {
	cfg := middleware.CORSConfig{AllowOrigins: []string{"https://a.example"}, AllowMethods: []string{"*"}, AllowHeaders: []string{"*"}, AllowCredentials: true}
	got := serveCORS(t, cfg, request("OPTIONS", "/r", "Origin: https://a.example", "Access-Control-Request-Method: PURGE", "Access-Control-Request-Headers: x-a"))
	want := corsAnswer{204, false, h("Access-Control-Allow-Origin", "https://a.example", "Access-Control-Allow-Credentials", "true",
		"Access-Control-Allow-Methods", "PURGE", "Access-Control-Allow-Headers", "x-a",
		"Vary", "Origin, Access-Control-Request-Method, Access-Control-Request-Headers")}
	if !got.equal(want) {
		t.Fatalf("got\n%v\nwant\n%v", got, want)
	}
}

// TestCORSKeepsOtherVary: CORS adds to the Vary of other middleware and of
// the handler instead of replacing it.
func TestCORSKeepsOtherVary(t *testing.T) {
	next := func(c *net.Ctx) net.Result {
		c.AddHeader("Vary", "Accept-Encoding")
		return c.Text(200, "next")
	}
	tc := testConn(t, net.Chain(next, middleware.CORS(middleware.CORSConfig{AllowOrigins: []string{"https://a.example"}})))
	resp, _ := serveTC(t, tc, get("/r", "Origin: https://a.example"))
	if got := resp.Header.Values("Vary"); !slices.Equal(got, []string{"Origin", "Accept-Encoding"}) {
		t.Fatalf("Vary %q, want Origin and Accept-Encoding", got)
	}
}

// TestCORSWithRouter: with Router.Use, CORS answers preflights before
// routing, for routes with no OPTIONS handler and for unknown paths, while
// other OPTIONS requests still get the router's automatic answer.
func TestCORSWithRouter(t *testing.T) {
	r := router.New()
	r.Use(middleware.CORS(middleware.CORSConfig{AllowOrigins: []string{"https://a.example"}, AllowHeaders: []string{"Content-Type"}}))
	r.GET("/items/:id", func(c *net.Ctx) net.Result { return c.Text(200, "item "+c.Param("id")) })
	r.PUT("/items/:id", func(c *net.Ctx) net.Result { return c.Text(200, "put") })
	_, addr := startServer(t, r.Serve, 1)
	cl := httpClient(t)
	do := func(method, path string, hdr ...string) *http.Response {
		req, _ := http.NewRequest(method, "http://"+addr+path, nil)
		for i := 0; i < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		resp, err := cl.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	tests := []struct {
		name, method, path string
		hdr                []string
		status             int
		allowOrigin, allow string
	}{
		{"preflight of a route", "OPTIONS", "/items/1", []string{"Origin", "https://a.example", "Access-Control-Request-Method", "PUT", "Access-Control-Request-Headers", "content-type"}, 204, "https://a.example", ""},
		{"refused preflight", "OPTIONS", "/items/1", []string{"Origin", "https://b.example", "Access-Control-Request-Method", "PUT"}, 204, "", ""},
		{"preflight of an unknown path", "OPTIONS", "/nothing", []string{"Origin", "https://a.example", "Access-Control-Request-Method", "PUT"}, 204, "https://a.example", ""},
		{"plain OPTIONS goes to the router", "OPTIONS", "/items/1", []string{"Origin", "https://a.example"}, 204, "https://a.example", "GET, HEAD, OPTIONS, PUT"},
		{"simple request", "GET", "/items/1", []string{"Origin", "https://a.example"}, 200, "https://a.example", ""},
		{"404 still gets CORS headers", "GET", "/nothing", []string{"Origin", "https://a.example"}, 404, "https://a.example", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := do(tt.method, tt.path, tt.hdr...)
			if resp.StatusCode != tt.status || resp.Header.Get("Access-Control-Allow-Origin") != tt.allowOrigin || resp.Header.Get("Allow") != tt.allow {
				t.Fatalf("%d, Allow-Origin %q, Allow %q; want %d, %q, %q", resp.StatusCode,
					resp.Header.Get("Access-Control-Allow-Origin"), resp.Header.Get("Allow"), tt.status, tt.allowOrigin, tt.allow)
			}
			if got := resp.Header.Values("Vary"); !slices.Contains(got, "Origin") {
				t.Fatalf("Vary %q lacks Origin", got)
			}
		})
	}
}

func TestCORSAllocations(t *testing.T) {
	tests := []struct {
		name string
		cfg  middleware.CORSConfig
		req  string
	}{
		{"any origin", middleware.CORSConfig{}, get("/r", "Origin: https://a.example")},
		{"listed origin with credentials", middleware.CORSConfig{AllowOrigins: []string{"https://a.example"}, AllowCredentials: true, ExposeHeaders: []string{"X-Total"}}, get("/r", "Origin: https://a.example")},
		{"refused origin", middleware.CORSConfig{AllowOrigins: []string{"https://a.example"}}, get("/r", "Origin: https://b.example")},
		{"preflight", middleware.CORSConfig{AllowOrigins: []string{"https://a.example"}, MaxAge: time.Hour},
			request("OPTIONS", "/r", "Origin: https://a.example", "Access-Control-Request-Method: PUT", "Access-Control-Request-Headers: x-a")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if allocs := allocsPerRequest(t, net.Chain(plainText, middleware.CORS(tt.cfg)), tt.req); allocs != 0 {
				t.Fatalf("%v allocations per request, want 0", allocs)
			}
		})
	}
}

func TestCORSConfigPanics(t *testing.T) {
	tests := []struct {
		name, field string
		cfg         middleware.CORSConfig
	}{
		{"credentials with every origin", "CORSConfig.AllowCredentials", middleware.CORSConfig{AllowCredentials: true}},
		{"credentials with a wildcard", "CORSConfig.AllowCredentials", middleware.CORSConfig{AllowOrigins: []string{"*"}, AllowCredentials: true}},
		{"origin with a trailing slash", "CORSConfig.AllowOrigins", middleware.CORSConfig{AllowOrigins: []string{"https://a.example/"}}},
		{"origin without a scheme", "CORSConfig.AllowOrigins", middleware.CORSConfig{AllowOrigins: []string{"a.example"}}},
		{"method that is not a token", "CORSConfig.AllowMethods", middleware.CORSConfig{AllowMethods: []string{"GET,PUT"}}},
		{"header that is not a token", "CORSConfig.AllowHeaders", middleware.CORSConfig{AllowHeaders: []string{"X Token"}}},
		{"exposed header that is not a token", "CORSConfig.ExposeHeaders", middleware.CORSConfig{ExposeHeaders: []string{"a:b"}}},
		{"status not 2xx", "CORSConfig.OptionsSuccessStatus", middleware.CORSConfig{OptionsSuccessStatus: 302}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			expectPanic(t, tt.field, func() { middleware.CORS(tt.cfg) })
		})
	}
}

func ExampleCORS() {
	r := router.New()
	r.Use(middleware.CORS(middleware.CORSConfig{
		AllowOrigins:     []string{"https://app.example.com"},
		AllowHeaders:     []string{"Content-Type", "Authorization"},
		AllowCredentials: true,
		MaxAge:           10 * time.Minute,
	}))
	r.PUT("/items/:id", func(c *net.Ctx) net.Result { return c.Text(200, "saved") })

	tc, _ := net.NewTestConn(&net.Server{Handler: r.Serve})
	defer tc.Close()
	out, _ := tc.Serve([]byte("OPTIONS /items/7 HTTP/1.1\r\nHost: api.example.com\r\n"+
		"Origin: https://app.example.com\r\nAccess-Control-Request-Method: PUT\r\n"+
		"Access-Control-Request-Headers: content-type\r\n\r\n"), time.Second)
	resp, _ := http.ReadResponse(bufioReader(out), nil)
	fmt.Println(resp.StatusCode)
	for _, name := range []string{"Access-Control-Allow-Origin", "Access-Control-Allow-Credentials", "Access-Control-Allow-Methods", "Access-Control-Allow-Headers", "Access-Control-Max-Age"} {
		fmt.Printf("%s: %s\n", name, resp.Header.Get(name))
	}
	// Output:
	// 204
	// Access-Control-Allow-Origin: https://app.example.com
	// Access-Control-Allow-Credentials: true
	// Access-Control-Allow-Methods: GET,HEAD,PUT,PATCH,POST,DELETE
	// Access-Control-Allow-Headers: Content-Type,Authorization
	// Access-Control-Max-Age: 600
}

func BenchmarkCORS(b *testing.B) {
	listed := middleware.CORS(middleware.CORSConfig{AllowOrigins: []string{"https://a.example"}, AllowCredentials: true})
	runBench(b, []benchCase{
		{"bare", plainText, get("/r", "Origin: https://a.example")},
		{"simple/any-origin", net.Chain(plainText, middleware.CORS(middleware.CORSConfig{})), get("/r", "Origin: https://a.example")},
		{"simple/listed-origin", net.Chain(plainText, listed), get("/r", "Origin: https://a.example")},
		{"preflight", net.Chain(plainText, listed), request("OPTIONS", "/r", "Origin: https://a.example", "Access-Control-Request-Method: PUT")},
	})
}
