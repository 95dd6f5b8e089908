package middleware_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/weftgo/weft/middleware"
	"github.com/weftgo/weft/net"
	"github.com/weftgo/weft/offload"
	"github.com/weftgo/weft/runtime"
)

// busyPool returns a one-worker pool with its worker held and queued jobs
// waiting; the jobs are released and the pool closed when the test ends.
func busyPool(t *testing.T, queued int) *offload.Pool {
	t.Helper()
	pool, err := offload.New(offload.Config{Workers: 1, MaxQueue: 16})
	if err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	block := func(context.Context) (int, error) { <-release; return 0, nil }
	scope := runtime.Detached(context.Background())
	jobs := []runtime.Future[int]{offload.Run(scope, pool, block)}
	for pool.Stats().Running == 0 {
		time.Sleep(time.Millisecond)
	}
	for range queued {
		jobs = append(jobs, offload.Run(scope, pool, block))
	}
	t.Cleanup(func() {
		close(release)
		for _, j := range jobs {
			_, _ = j.Wait(context.Background())
		}
		_ = pool.Close(context.Background())
	})
	return pool
}

func TestLoadShedTriggers(t *testing.T) {
	var inflight atomic.Int64
	inflightFn := func() int { return int(inflight.Load()) }
	tests := []struct {
		name     string
		cfg      func(t *testing.T) middleware.LoadShedConfig
		inflight int64
		path     string
		want     int
	}{
		{"calm", func(*testing.T) middleware.LoadShedConfig {
			return middleware.LoadShedConfig{MaxLoopLag: -1, InFlight: inflightFn, MaxInFlight: 10}
		}, 3, "/", 200},
		{"queue at the threshold", func(t *testing.T) middleware.LoadShedConfig {
			return middleware.LoadShedConfig{MaxLoopLag: -1, Pool: busyPool(t, 2), MaxQueue: 2}
		}, 0, "/", 200},
		{"queue above the threshold", func(t *testing.T) middleware.LoadShedConfig {
			return middleware.LoadShedConfig{MaxLoopLag: -1, Pool: busyPool(t, 3), MaxQueue: 2}
		}, 0, "/", 503},
		{"queue default threshold", func(t *testing.T) middleware.LoadShedConfig {
			return middleware.LoadShedConfig{MaxLoopLag: -1, Pool: busyPool(t, 3)}
		}, 0, "/", 200},
		{"in flight at the threshold", func(*testing.T) middleware.LoadShedConfig {
			return middleware.LoadShedConfig{MaxLoopLag: -1, InFlight: inflightFn, MaxInFlight: 10}
		}, 10, "/", 200},
		{"in flight above the threshold", func(*testing.T) middleware.LoadShedConfig {
			return middleware.LoadShedConfig{MaxLoopLag: -1, InFlight: inflightFn, MaxInFlight: 10}
		}, 11, "/", 503},
		{"exempt path", func(*testing.T) middleware.LoadShedConfig {
			return middleware.LoadShedConfig{MaxLoopLag: -1, InFlight: inflightFn, MaxInFlight: 10, Exempt: []string{"/health"}}
		}, 11, "/health", 200},
		{"exempt paths are exact", func(*testing.T) middleware.LoadShedConfig {
			return middleware.LoadShedConfig{MaxLoopLag: -1, InFlight: inflightFn, MaxInFlight: 10, Exempt: []string{"/health"}}
		}, 11, "/health/x", 503},
		{"exempt func", func(*testing.T) middleware.LoadShedConfig {
			return middleware.LoadShedConfig{MaxLoopLag: -1, InFlight: inflightFn, MaxInFlight: 10,
				ExemptFunc: func(c *net.Ctx) bool { return strings.HasPrefix(c.Path(), "/internal/") }}
		}, 11, "/internal/ready", 200},
		{"heap above the threshold", func(*testing.T) middleware.LoadShedConfig {
			return middleware.LoadShedConfig{MaxLoopLag: -1, MaxHeapBytes: 1}
		}, 0, "/", 503},
		{"heap below the threshold", func(*testing.T) middleware.LoadShedConfig {
			return middleware.LoadShedConfig{MaxLoopLag: -1, MaxHeapBytes: 1 << 50}
		}, 0, "/", 200},
		{"rss above the threshold", func(*testing.T) middleware.LoadShedConfig {
			return middleware.LoadShedConfig{MaxLoopLag: -1, MaxRSSBytes: 1}
		}, 0, "/", 503},
		{"rss below the threshold", func(*testing.T) middleware.LoadShedConfig {
			return middleware.LoadShedConfig{MaxLoopLag: -1, MaxRSSBytes: 1 << 50}
		}, 0, "/", 200},
		{"utilization of an idle loop", func(*testing.T) middleware.LoadShedConfig {
			return middleware.LoadShedConfig{MaxLoopLag: -1, MaxUtilization: 0.5}
		}, 0, "/", 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inflight.Store(tt.inflight)
			var calls atomic.Int64
			tc := testConn(t, net.Chain(counting(&calls), middleware.LoadShed(tt.cfg(t))))
			resp, _ := serveTC(t, tc, get(tt.path))
			if resp.StatusCode != tt.want {
				t.Fatalf("status %d, want %d", resp.StatusCode, tt.want)
			}
			if tt.want == 503 && (resp.Header.Get("Retry-After") != "10" || calls.Load() != 0) {
				t.Fatalf("Retry-After %q, handler ran %d times", resp.Header.Get("Retry-After"), calls.Load())
			}
		})
	}
}

func TestLoadShedConfigPanics(t *testing.T) {
	tests := []struct {
		name  string
		cfg   middleware.LoadShedConfig
		field string
	}{
		{"in flight without a threshold", middleware.LoadShedConfig{InFlight: func() int { return 0 }}, "MaxInFlight"},
		{"threshold without in flight", middleware.LoadShedConfig{MaxInFlight: 5}, "MaxInFlight"},
		{"negative queue", middleware.LoadShedConfig{MaxQueue: -1}, "MaxQueue"},
		{"negative retry", middleware.LoadShedConfig{RetryAfter: -time.Second}, "RetryAfter"},
		{"utilization over 1", middleware.LoadShedConfig{MaxUtilization: 1.5}, "MaxUtilization"},
		{"negative sample interval", middleware.LoadShedConfig{SampleInterval: -time.Second}, "SampleInterval"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			expectPanic(t, "LoadShedConfig."+tt.field, func() { middleware.LoadShed(tt.cfg) })
		})
	}
}

// TestLoadShedBlockedLoop blocks the only loop in a handler twice (one slow
// callback in the window does not count, two do); a request that arrives
// during the second is shed once the loop gets to it, a health check is
// not, and the service recovers once the loop is free again.
func TestLoadShedBlockedLoop(t *testing.T) {
	started, unblock := make(chan struct{}), make(chan struct{})
	h := func(c *net.Ctx) net.Result {
		if c.Path() == "/block" {
			started <- struct{}{}
			<-unblock // blocks the loop: what a handler must never do
		}
		return c.Text(200, "ok")
	}
	mw := middleware.LoadShed(middleware.LoadShedConfig{MaxLoopLag: 100 * time.Millisecond, RetryAfter: 2 * time.Second, Exempt: []string{"/health", "/block"}})
	srv, addr := startServer(t, mw(h), 1)
	// waitLag waits until the loop's current lag (the last probe's, or a
	// pending probe's wait if longer) is above or below 150 ms: above,
	// after a quick probe, while the loop is blocked means the lag
	// monitor's probe has waited that long behind it.
	waitLag := func(above bool) {
		t.Helper()
		var st net.ServerStats
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
			if srv.Stats(&st); (st.Loops[0].LagNow > 150*time.Millisecond) == above {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("lag %v, want it above 150ms: %v", st.Loops[0].LagNow, above)
			}
		}
	}

	blocker := dialRaw(t, addr)
	blocker.send(get("/block"))
	<-started
	waitLag(true)
	unblock <- struct{}{}
	if resp, _ := blocker.read("GET"); resp.StatusCode != 200 {
		t.Fatalf("first /block: %d", resp.StatusCode)
	}
	waitLag(false) // a quick probe ran since: the next wait is the next block's
	blocker.send(get("/block"))
	<-started
	waitLag(true)
	work, health := dialRaw(t, addr), dialRaw(t, addr)
	work.send(get("/work"))
	health.send(get("/health"))
	unblock <- struct{}{}

	if resp, _ := blocker.read("GET"); resp.StatusCode != 200 {
		t.Fatalf("/block: %d", resp.StatusCode)
	}
	resp, body := work.read("GET")
	if resp.StatusCode != 503 || resp.Header.Get("Retry-After") != "2" {
		t.Fatalf("/work behind a blocked loop: %d %q, Retry-After %q; want 503", resp.StatusCode, body, resp.Header.Get("Retry-After"))
	}
	if resp, _ := health.read("GET"); resp.StatusCode != 200 {
		t.Fatalf("/health behind a blocked loop: %d, want 200 (exempt)", resp.StatusCode)
	}

	// The lag monitor probes every 10 ms: the loop is healthy again once
	// the first blocked probe has left the window of 100 (MaxLoopLag reads
	// their 99th percentile), about a second later.
	client := httpClient(t)
	deadline := time.Now().Add(5 * time.Second)
	for {
		resp, err := client.Get("http://" + addr + "/work")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("still %d five seconds after the loop was freed", resp.StatusCode)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestLoadShedOtherLoopsServe checks that the lag is per loop: with two
// loops, one blocked, requests on the other are served.
func TestLoadShedOtherLoopsServe(t *testing.T) {
	release := make(chan struct{})
	var blocked atomic.Bool
	h := func(c *net.Ctx) net.Result {
		if c.Path() == "/block" && blocked.CompareAndSwap(false, true) {
			<-release
		}
		return c.Text(200, "ok")
	}
	mw := middleware.LoadShed(middleware.LoadShedConfig{MaxLoopLag: 50 * time.Millisecond})
	srv, addr := startServer(t, mw(h), 2)
	_ = srv

	// /work is pipelined behind /block on the same connection: the blocked
	// loop reads it once free, with its lag still high.
	blocker := dialRaw(t, addr)
	blocker.send(get("/block") + get("/work"))
	for !blocked.Load() {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond) // the blocked loop's lag passes 50 ms
	// A new connection goes to the other loop (the server keeps new
	// connections off a lagging loop) and is served at once.
	c := dialRaw(t, addr)
	served := make(chan int, 1)
	go func() {
		c.send(get("/work"))
		resp, err := http.ReadResponse(c.br, nil)
		if err != nil {
			served <- 0
			return
		}
		resp.Body.Close()
		served <- resp.StatusCode
	}()
	select {
	case code := <-served:
		if code != 200 {
			t.Errorf("the free loop answered %d, want 200", code)
		}
	case <-time.After(2 * time.Second):
		t.Error("no loop answered while one was blocked")
	}
	close(release)
	if resp, _ := blocker.read("GET"); resp.StatusCode != 200 {
		t.Errorf("/block: %d", resp.StatusCode)
	}
	if resp, _ := blocker.read("GET"); resp.StatusCode != 503 {
		t.Errorf("the blocked loop answered %d once free, want 503 (its lag was high)", resp.StatusCode)
	}
}

func ExampleLoadShed() {
	srv := &net.Server{Addr: ":8080"}
	shed := middleware.LoadShed(middleware.LoadShedConfig{
		MaxLoopLag:  200 * time.Millisecond,
		InFlight:    srv.InFlight,
		MaxInFlight: 10_000,
		Exempt:      []string{"/health"},
	})
	srv.Handler = net.Chain(func(c *net.Ctx) net.Result { return c.Text(200, "ok") }, shed)
	fmt.Println(srv.Handler != nil)
	// Output: true
}

func BenchmarkLoadShed(b *testing.B) {
	srv := &net.Server{}
	for _, bm := range []struct {
		name string
		mw   []net.Middleware
	}{
		{"bare", nil},
		{"lag", []net.Middleware{middleware.LoadShed(middleware.LoadShedConfig{MaxLoopLag: time.Hour})}},
		{"lag+inflight", []net.Middleware{middleware.LoadShed(middleware.LoadShedConfig{MaxLoopLag: time.Hour, InFlight: srv.InFlight, MaxInFlight: 1000})}},
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

func TestLoadShedCustomHandler(t *testing.T) {
	var calls atomic.Int64
	mw := middleware.LoadShed(middleware.LoadShedConfig{MaxLoopLag: -1, MaxHeapBytes: 1,
		Handler: func(c *net.Ctx) net.Result { return c.JSON(503, map[string]string{"error": "busy"}) }})
	resp, body := serveTC(t, testConn(t, net.Chain(counting(&calls), mw)), get("/"))
	if resp.StatusCode != 503 || body != `{"error":"busy"}` || resp.Header.Get("Retry-After") != "10" || calls.Load() != 0 {
		t.Fatalf("%d %q Retry-After %q, handler ran %d times; want the custom answer", resp.StatusCode, body, resp.Header.Get("Retry-After"), calls.Load())
	}
}

// TestLoadShedUtilization keeps one loop busy for long enough that its
// utilization over the last window passes the threshold; the next request
// on that loop (same connection) is shed, while the other loop serves.
func TestLoadShedUtilization(t *testing.T) {
	entered, release := make(chan struct{}), make(chan struct{})
	srv := &net.Server{Addr: "127.0.0.1:0", Loops: 2, BlockedLoopThreshold: 10 * time.Millisecond}
	mw := middleware.LoadShed(middleware.LoadShedConfig{MaxLoopLag: -1, MaxUtilization: 0.5, Exempt: []string{"/block"}})
	srv.Handler = mw(func(c *net.Ctx) net.Result {
		if c.Path() == "/block" {
			close(entered)
			<-release // holds the loop
		}
		return c.Text(200, "ok")
	})
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	})
	addr := srv.ListenAddr().String()
	busy := dialRaw(t, addr)
	busy.send(get("/block"))
	<-entered
	var st net.ServerStats
	for high := false; !high; {
		time.Sleep(time.Millisecond)
		srv.Stats(&st)
		for _, l := range st.Loops {
			high = high || l.Utilization > 0.9
		}
	}
	busy.send(get("/work"))
	close(release)
	if resp, _ := busy.read("GET"); resp.StatusCode != 200 {
		t.Fatalf("exempt /block answered %d", resp.StatusCode)
	}
	if resp, _ := busy.read("GET"); resp.StatusCode != 503 {
		t.Fatalf("a request on the busy loop answered %d, want 503", resp.StatusCode)
	}
}

func TestHealthReportsPressure(t *testing.T) {
	srv := &net.Server{Addr: "127.0.0.1:0", Loops: 2}
	tests := []struct {
		name     string
		cfg      middleware.LoadShedConfig
		status   int
		pressure []string
		loops    int
	}{
		{"calm, every loop", middleware.LoadShedConfig{Server: srv, MaxHeapBytes: 1 << 50}, 200, nil, 2},
		{"calm, this loop", middleware.LoadShedConfig{}, 200, nil, 1},
		{"heap and rss", middleware.LoadShedConfig{Server: srv, MaxHeapBytes: 1, MaxRSSBytes: 1}, 503, []string{"heap", "rss"}, 2},
		{"in flight", middleware.LoadShedConfig{InFlight: func() int { return 5 }, MaxInFlight: 4}, 503, []string{"in_flight"}, 1},
	}
	mux := map[string]net.Handler{}
	for i, tt := range tests {
		mux["/h"+fmt.Sprint(i)] = middleware.Health(tt.cfg)
	}
	srv.Handler = func(c *net.Ctx) net.Result { return mux[c.Path()](c) }
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	})
	hc := httpClient(t)
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := hc.Get(fmt.Sprintf("http://%s/h%d", srv.ListenAddr(), i))
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var rep middleware.PressureReport
			if err := json.NewDecoder(resp.Body).Decode(&rep); err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tt.status || !slices.Equal(rep.Pressure, tt.pressure) || len(rep.Loops) != tt.loops {
				t.Fatalf("%d %+v; want %d, pressure %v, %d loops", resp.StatusCode, rep, tt.status, tt.pressure, tt.loops)
			}
			if wantStatus := map[int]string{200: "ok", 503: "under pressure"}[tt.status]; rep.Status != wantStatus {
				t.Errorf("status %q, want %q", rep.Status, wantStatus)
			}
			if tt.status == 503 && resp.Header.Get("Retry-After") != "10" {
				t.Errorf("Retry-After %q, want 10", resp.Header.Get("Retry-After"))
			}
			if rep.HeapBytes == 0 || rep.RSSBytes == 0 {
				t.Errorf("heap %d, rss %d: want both measured", rep.HeapBytes, rep.RSSBytes)
			}
		})
	}
}

// TestLoadShedUnderTestConnAfterIdle is the regression test of issue 8
// §5.5: a TestConn's loop runs tasks only inside Serve, so the lag probe
// aged between calls and LoadShed shed a connection idle for 300 ms.
func TestLoadShedUnderTestConnAfterIdle(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := net.Chain(func(c *net.Ctx) net.Result { return c.Text(200, "ok") }, middleware.LoadShed(middleware.LoadShedConfig{}))
		tc, err := net.NewTestConn(&net.Server{Handler: h})
		if err != nil {
			t.Fatal(err)
		}
		defer tc.Close()
		for i := range 3 {
			out, err := tc.Serve([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), time.Second)
			if err != nil || !strings.HasPrefix(string(out), "HTTP/1.1 200") {
				t.Fatalf("request %d after %d s idle: %q, %v", i+1, i, out, err)
			}
			time.Sleep(time.Second) // idle, in the bubble's clock
		}
	})
}
