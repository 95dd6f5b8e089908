package middleware_test

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/weftgo/weft/middleware"
	"github.com/weftgo/weft/net"
)

// fakeClock is a settable clock, safe for concurrent use.
type fakeClock struct{ ns atomic.Int64 }

func newFakeClock() *fakeClock {
	c := &fakeClock{}
	c.ns.Store(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano())
	return c
}

func (c *fakeClock) Now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *fakeClock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

// counting answers "ok" and counts its calls.
func counting(n *atomic.Int64) net.Handler {
	return func(c *net.Ctx) net.Result {
		n.Add(1)
		return c.Text(200, "ok")
	}
}

func TestRateLimitExhaustAndRefill(t *testing.T) {
	clock := newFakeClock()
	var calls atomic.Int64
	mw := middleware.RateLimit(middleware.RateLimitConfig{Limit: 3, Window: time.Minute, Now: clock.Now})
	tc := testConn(t, net.Chain(counting(&calls), mw))

	steps := []struct {
		name    string
		advance time.Duration
		status  int
		// RateLimit-Remaining, RateLimit-Reset, Retry-After
		remaining, reset, retry string
	}{
		{"first", 0, 200, "2", "20", ""},
		{"second", 0, 200, "1", "40", ""},
		{"third", 0, 200, "0", "60", ""},
		{"exhausted", 0, 429, "0", "60", "20"},
		{"still exhausted 19s later", 19 * time.Second, 429, "0", "41", "1"},
		{"one token back after 20s", time.Second, 200, "0", "60", ""},
		{"spent again", 0, 429, "0", "60", "20"},
		{"full after a long idle", time.Hour, 200, "2", "20", ""},
	}
	for _, st := range steps {
		clock.Advance(st.advance)
		before := calls.Load()
		resp, body := serveTC(t, tc, get("/"))
		if resp.StatusCode != st.status {
			t.Fatalf("%s: status %d, want %d", st.name, resp.StatusCode, st.status)
		}
		h := resp.Header
		got := []string{h.Get("RateLimit-Limit"), h.Get("RateLimit-Remaining"), h.Get("RateLimit-Reset"), h.Get("Retry-After"), h.Get("RateLimit-Policy")}
		exp := []string{"3", st.remaining, st.reset, st.retry, "3;w=60"}
		if strings.Join(got, " ") != strings.Join(exp, " ") {
			t.Errorf("%s: Limit, Remaining, Reset, Retry-After, Policy = %q, want %q", st.name, got, exp)
		}
		ran := calls.Load() - before
		if (st.status == 200) != (ran == 1) {
			t.Errorf("%s: handler ran %d times", st.name, ran)
		}
		if st.status == 429 && body != "Too Many Requests" {
			t.Errorf("%s: body %q", st.name, body)
		}
	}
}

func TestRateLimitKeys(t *testing.T) {
	tests := []struct {
		name    string
		cfg     middleware.RateLimitConfig
		headers [][]string // one request each
		status  []int
	}{
		{
			"key func separates users",
			middleware.RateLimitConfig{Limit: 1, Key: func(c *net.Ctx) string { return c.Header("X-User") }},
			[][]string{{"X-User: a"}, {"X-User: b"}, {"X-User: a"}, {"X-User: b"}},
			[]int{200, 200, 429, 429},
		},
		{
			"empty key is not limited",
			middleware.RateLimitConfig{Limit: 1, Key: func(c *net.Ctx) string { return c.Header("X-User") }},
			[][]string{nil, nil, nil},
			[]int{200, 200, 200},
		},
		{
			"X-Forwarded-For ignored by default",
			middleware.RateLimitConfig{Limit: 1},
			[][]string{{"X-Forwarded-For: 203.0.113.1"}, {"X-Forwarded-For: 203.0.113.2"}},
			[]int{200, 429},
		},
		{
			"X-Forwarded-For from a trusted proxy",
			middleware.RateLimitConfig{Limit: 1, TrustedProxies: []string{"192.0.2.0/24"}},
			[][]string{{"X-Forwarded-For: 203.0.113.1"}, {"X-Forwarded-For: 203.0.113.2"}, {"X-Forwarded-For: 203.0.113.1"}},
			[]int{200, 200, 429},
		},
		{
			"forged leftmost entries do not escape",
			middleware.RateLimitConfig{Limit: 1, TrustedProxies: []string{"192.0.2.1", "10.0.0.0/8"}},
			[][]string{{"X-Forwarded-For: 6.6.6.6, 203.0.113.1, 10.0.0.7"}, {"X-Forwarded-For: 7.7.7.7, 203.0.113.1, 10.1.2.3"}},
			[]int{200, 429},
		},
		{
			"several X-Forwarded-For fields read right to left",
			middleware.RateLimitConfig{Limit: 1, TrustedProxies: []string{"192.0.2.1", "10.0.0.0/8"}},
			[][]string{{"X-Forwarded-For: 203.0.113.1", "X-Forwarded-For: 10.0.0.1"}, {"X-Forwarded-For: 203.0.113.1, 10.0.0.9"}},
			[]int{200, 429},
		},
		{
			"malformed X-Forwarded-For falls back to the proxy",
			middleware.RateLimitConfig{Limit: 1, TrustedProxies: []string{"192.0.2.1"}},
			[][]string{{"X-Forwarded-For: not-an-ip"}, {"X-Forwarded-For: garbage"}},
			[]int{200, 429},
		},
		{
			"skip",
			middleware.RateLimitConfig{Limit: 1, Skip: func(c *net.Ctx) bool { return c.Path() == "/health" }},
			[][]string{{"X-Path: /health"}, {"X-Path: /health"}, {"X-Path: /health"}},
			[]int{200, 200, 200},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var calls atomic.Int64
			tc := testConn(t, net.Chain(counting(&calls), middleware.RateLimit(tt.cfg)))
			for i, hdr := range tt.headers {
				path := "/"
				if len(hdr) == 1 && strings.HasPrefix(hdr[0], "X-Path: ") {
					path = strings.TrimPrefix(hdr[0], "X-Path: ")
				}
				resp, _ := serveTC(t, tc, get(path, hdr...))
				if resp.StatusCode != tt.status[i] {
					t.Fatalf("request %d (%q): status %d, want %d", i, hdr, resp.StatusCode, tt.status[i])
				}
			}
		})
	}
}

func TestRateLimitOmitHeaders(t *testing.T) {
	tc := testConn(t, net.Chain(plainOK, middleware.RateLimit(middleware.RateLimitConfig{Limit: 1, OmitHeaders: true})))
	resp, _ := serveTC(t, tc, get("/"))
	if resp.StatusCode != 200 || resp.Header.Get("RateLimit-Limit") != "" {
		t.Fatalf("allowed: %d %v", resp.StatusCode, resp.Header)
	}
	resp, _ = serveTC(t, tc, get("/"))
	if resp.StatusCode != 429 || resp.Header.Get("RateLimit-Remaining") != "0" || resp.Header.Get("Retry-After") != "60" {
		t.Fatalf("limited: %d %v", resp.StatusCode, resp.Header)
	}
}

func TestRateLimitBurstPolicy(t *testing.T) {
	clock := newFakeClock()
	tc := testConn(t, net.Chain(plainOK, middleware.RateLimit(middleware.RateLimitConfig{Limit: 10, Window: time.Second, Burst: 2, Now: clock.Now})))
	for i, want := range []int{200, 200, 429} {
		resp, _ := serveTC(t, tc, get("/"))
		if resp.StatusCode != want {
			t.Fatalf("request %d: %d", i, resp.StatusCode)
		}
		if p := resp.Header.Get("RateLimit-Policy"); p != "10;w=1;burst=2" {
			t.Fatalf("RateLimit-Policy %q", p)
		}
	}
	clock.Advance(100 * time.Millisecond) // 10 per second: one token
	if resp, _ := serveTC(t, tc, get("/")); resp.StatusCode != 200 {
		t.Fatalf("after 100 ms: %d", resp.StatusCode)
	}
}

// TestRateLimitSharedAcrossLoops hammers a two-loop server from many
// connections with a frozen clock: exactly Burst requests may pass in all,
// whichever loop they land on.
func TestRateLimitSharedAcrossLoops(t *testing.T) {
	const burst, clients, each = 50, 8, 20
	clock := newFakeClock()
	var calls atomic.Int64
	mw := middleware.RateLimit(middleware.RateLimitConfig{Limit: burst, Window: time.Hour, Now: clock.Now})
	_, addr := startServer(t, mw(counting(&calls)), 2)

	var ok, limited atomic.Int64
	var wg sync.WaitGroup
	for range clients {
		wg.Go(func() {
			client := &http.Client{Transport: &http.Transport{}, Timeout: 10 * time.Second}
			defer client.CloseIdleConnections()
			for range each {
				resp, err := client.Get("http://" + addr + "/")
				if err != nil {
					t.Error(err)
					return
				}
				resp.Body.Close()
				switch resp.StatusCode {
				case 200:
					ok.Add(1)
				case 429:
					limited.Add(1)
				default:
					t.Errorf("status %d", resp.StatusCode)
				}
			}
		})
	}
	wg.Wait()
	if ok.Load() != burst || limited.Load() != clients*each-burst || calls.Load() != burst {
		t.Fatalf("%d allowed, %d limited, handler ran %d times; want %d, %d, %d",
			ok.Load(), limited.Load(), calls.Load(), burst, clients*each-burst, burst)
	}
}

func TestRateLimitConfigPanics(t *testing.T) {
	tests := []struct {
		name  string
		cfg   middleware.RateLimitConfig
		field string
	}{
		{"negative limit", middleware.RateLimitConfig{Limit: -1}, "Limit"},
		{"negative window", middleware.RateLimitConfig{Window: -time.Second}, "Window"},
		{"negative burst", middleware.RateLimitConfig{Burst: -1}, "Burst"},
		{"negative max keys", middleware.RateLimitConfig{MaxKeys: -1}, "MaxKeys"},
		{"bad proxy", middleware.RateLimitConfig{TrustedProxies: []string{"10.0.0.0/33"}}, "TrustedProxies"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			expectPanic(t, "RateLimitConfig."+tt.field, func() { middleware.RateLimit(tt.cfg) })
		})
	}
}

// plainOK answers 200 "ok".
func plainOK(c *net.Ctx) net.Result { return c.Text(200, "ok") }

func ExampleRateLimit() {
	// 2 requests per second per client IP, with a burst of 5.
	limit := middleware.RateLimit(middleware.RateLimitConfig{Limit: 2, Window: time.Second, Burst: 5})
	h := net.Chain(func(c *net.Ctx) net.Result { return c.Text(200, "ok") }, limit)

	tc, _ := net.NewTestConn(&net.Server{Handler: h})
	defer tc.Close()
	for range 6 {
		out, _ := tc.Serve([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), time.Second)
		resp, _ := http.ReadResponse(bufioReader(out), nil)
		fmt.Println(resp.StatusCode, resp.Header.Get("RateLimit-Remaining"))
	}
	// Output:
	// 200 4
	// 200 3
	// 200 2
	// 200 1
	// 200 0
	// 429 0
}

func BenchmarkRateLimit(b *testing.B) {
	for _, bm := range []struct {
		name string
		mw   []net.Middleware
	}{
		{"bare", nil},
		{"ratelimit", []net.Middleware{middleware.RateLimit(middleware.RateLimitConfig{Limit: 1 << 30, Window: time.Second, Burst: 1000})}},
		{"ratelimit/no-headers", []net.Middleware{middleware.RateLimit(middleware.RateLimitConfig{Limit: 1 << 30, Window: time.Second, Burst: 1000, OmitHeaders: true})}},
	} {
		b.Run(bm.name, func(b *testing.B) {
			tc := testConn(b, net.Chain(plainOK, bm.mw...))
			req := []byte(get("/"))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := tc.Serve(req, time.Second); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
