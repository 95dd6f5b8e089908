package middleware_test

import (
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/weftgo/weft/middleware"
	"github.com/weftgo/weft/net"
)

// echoID answers with the id RequestIDFrom gives.
func echoID(c *net.Ctx) net.Result { return c.Text(200, middleware.RequestIDFrom(c)) }

var generatedIDPattern = regexp.MustCompile(`^[0-9a-v]{20}$`)

func TestRequestID(t *testing.T) {
	long := strings.Repeat("a", 129)
	tests := []struct {
		name   string
		cfg    middleware.RequestIDConfig
		header string // response and request header
		sent   string // request header line, or ""
		want   string // the id kept; "" means a generated one
	}{
		{"generated when absent", middleware.RequestIDConfig{}, "X-Request-ID", "", ""},
		{"kept when valid", middleware.RequestIDConfig{}, "X-Request-ID", "X-Request-ID: abc-123_XYZ", "abc-123_XYZ"},
		{"header name is case-insensitive", middleware.RequestIDConfig{}, "X-Request-ID", "x-request-id: lower", "lower"},
		{"128 characters kept", middleware.RequestIDConfig{}, "X-Request-ID", "X-Request-ID: " + long[:128], long[:128]},
		{"129 characters replaced", middleware.RequestIDConfig{}, "X-Request-ID", "X-Request-ID: " + long, ""},
		{"inner space replaced", middleware.RequestIDConfig{}, "X-Request-ID", "X-Request-ID: a b", ""},
		{"non-ASCII replaced", middleware.RequestIDConfig{}, "X-Request-ID", "X-Request-ID: caf\xc3\xa9", ""},
		{"tab replaced", middleware.RequestIDConfig{}, "X-Request-ID", "X-Request-ID: a\tb", ""},
		{"ignored when configured", middleware.RequestIDConfig{IgnoreIncoming: true}, "X-Request-ID", "X-Request-ID: abc", ""},
		{"custom header", middleware.RequestIDConfig{Header: "X-Trace"}, "X-Trace", "X-Trace: t-1", "t-1"},
		{"custom header ignores the default one", middleware.RequestIDConfig{Header: "X-Trace"}, "X-Trace", "X-Request-ID: abc", ""},
		{"custom max length", middleware.RequestIDConfig{MaxLength: 3}, "X-Request-ID", "X-Request-ID: abcd", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tc := testConn(t, net.Chain(echoID, middleware.RequestID(tt.cfg)))
			var headers []string
			if tt.sent != "" {
				headers = append(headers, tt.sent)
			}
			resp, body := serveTC(t, tc, get("/", headers...))
			got := resp.Header.Get(tt.header)
			if got != body {
				t.Fatalf("response header %q, RequestIDFrom %q: want the same", got, body)
			}
			if tt.want != "" && got != tt.want {
				t.Fatalf("id %q, want %q", got, tt.want)
			}
			if tt.want == "" && !generatedIDPattern.MatchString(got) {
				t.Fatalf("id %q, want a generated one (20 base32hex characters)", got)
			}
		})
	}
}

func TestRequestIDCustomGenerator(t *testing.T) {
	n := 0
	gen := func() string { n++; return fmt.Sprintf("gen-%d", n) }
	tc := testConn(t, net.Chain(echoID, middleware.RequestID(middleware.RequestIDConfig{Generate: gen})))
	for i := 1; i <= 2; i++ {
		resp, body := serveTC(t, tc, get("/"))
		want := fmt.Sprintf("gen-%d", i)
		if body != want || resp.Header.Get("X-Request-ID") != want {
			t.Fatalf("request %d: id %q, header %q, want %q", i, body, resp.Header.Get("X-Request-ID"), want)
		}
	}
}

func TestRequestIDFromWithoutMiddleware(t *testing.T) {
	tc := testConn(t, echoID)
	if _, body := serveTC(t, tc, get("/", "X-Request-ID: abc")); body != "" {
		t.Fatalf("RequestIDFrom without RequestID = %q, want \"\"", body)
	}
}

// TestRequestIDsAreUnique serves requests on every loop of a real server at
// once: ids never repeat, and share the middleware's prefix.
func TestRequestIDsAreUnique(t *testing.T) {
	_, addr := startServer(t, net.Chain(echoID, middleware.RequestID(middleware.RequestIDConfig{})), 2)
	cl := httpClient(t)
	const workers, each = 4, 50
	var mu sync.Mutex
	seen := map[string]bool{}
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each {
				resp, err := cl.Get("http://" + addr + "/")
				if err != nil {
					t.Error(err)
					return
				}
				id := resp.Header.Get("X-Request-ID")
				resp.Body.Close()
				mu.Lock()
				seen[id] = true
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(seen) != workers*each {
		t.Fatalf("%d distinct ids for %d requests", len(seen), workers*each)
	}
	prefixes := map[string]bool{}
	for id := range seen {
		if !generatedIDPattern.MatchString(id) {
			t.Fatalf("id %q is not 20 base32hex characters", id)
		}
		prefixes[id[:10]] = true
	}
	if len(prefixes) != 1 {
		t.Fatalf("%d prefixes, want the middleware's one", len(prefixes))
	}
}

func TestRequestIDAllocations(t *testing.T) {
	mw := middleware.RequestID(middleware.RequestIDConfig{})
	tests := []struct {
		name string
		req  string
		max  float64
	}{
		{"id from the request", get("/", "X-Request-ID: abc-123"), 0},
		{"generated id", get("/"), 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if allocs := allocsPerRequest(t, net.Chain(echoID, mw), tt.req); allocs != tt.max {
				t.Fatalf("%v allocations per request, want %v", allocs, tt.max)
			}
		})
	}
}

func TestRequestIDConfigPanics(t *testing.T) {
	tests := []struct {
		name, field string
		cfg         middleware.RequestIDConfig
	}{
		{"header with a space", "RequestIDConfig.Header", middleware.RequestIDConfig{Header: "X Request"}},
		{"header with a colon", "RequestIDConfig.Header", middleware.RequestIDConfig{Header: "X-Id:"}},
		{"negative max length", "RequestIDConfig.MaxLength", middleware.RequestIDConfig{MaxLength: -1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			expectPanic(t, tt.field, func() { middleware.RequestID(tt.cfg) })
		})
	}
}

func ExampleRequestID() {
	h := net.Chain(func(c *net.Ctx) net.Result {
		return c.Text(200, "your id is "+middleware.RequestIDFrom(c))
	}, middleware.RequestID(middleware.RequestIDConfig{}))

	tc, _ := net.NewTestConn(&net.Server{Handler: h})
	defer tc.Close()
	out, _ := tc.Serve([]byte("GET / HTTP/1.1\r\nHost: x\r\nX-Request-ID: 7f3a\r\n\r\n"), time.Second)
	resp, _ := http.ReadResponse(bufioReader(out), nil)
	fmt.Println(resp.Header.Get("X-Request-ID"))
	// Output: 7f3a
}

func BenchmarkRequestID(b *testing.B) {
	mw := middleware.RequestID(middleware.RequestIDConfig{})
	runBench(b, []benchCase{
		{"bare", plainText, get("/")},
		{"incoming", net.Chain(plainText, mw), get("/", "X-Request-ID: abc-123")},
		{"generated", net.Chain(plainText, mw), get("/")},
	})
}
