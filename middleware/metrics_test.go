package middleware_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/weftgo/weft/middleware"
	"github.com/weftgo/weft/net"
	"github.com/weftgo/weft/net/websocket"
	"github.com/weftgo/weft/offload"
	"github.com/weftgo/weft/router"
	"github.com/weftgo/weft/runtime"
)

// scrapeFamilies GETs url and parses the Prometheus text it answers.
func scrapeFamilies(t *testing.T, c *http.Client, url string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("scrape: %d %s", resp.StatusCode, b)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Fatalf("scrape Content-Type %q, want Prometheus text", ct)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return mfs
}

// series returns the metric of family name whose labels include want, or nil.
func series(mfs map[string]*dto.MetricFamily, name string, want map[string]string) *dto.Metric {
	mf := mfs[name]
	if mf == nil {
		return nil
	}
next:
	for _, m := range mf.Metric {
		for k, v := range want {
			found := false
			for _, lp := range m.Label {
				if lp.GetName() == k && lp.GetValue() == v {
					found = true
				}
			}
			if !found {
				continue next
			}
		}
		return m
	}
	return nil
}

func TestMetricsEveryFamilyFromTheFirstScrape(t *testing.T) {
	reg := prometheus.NewRegistry()
	srv := &net.Server{Addr: "127.0.0.1:0", Loops: 2}
	r := router.New()
	r.GET("/users/:id", func(c *net.Ctx) net.Result { return c.Text(net.StatusOK, c.Param("id")) })
	r.POST("/things", func(c *net.Ctx) net.Result { return c.Text(net.StatusCreated, "made") })
	r.GET("/later", func(c *net.Ctx) net.Result {
		return runtime.Then(c, runtime.After(c, time.Millisecond), func(struct{}) net.Result {
			return c.Text(net.StatusAccepted, "later")
		})
	})
	r.GET("/metrics", middleware.Handler(reg))
	var routes []middleware.RouteLabels
	for _, rt := range r.Routes() {
		routes = append(routes, middleware.RouteLabels{Method: rt.Method, Pattern: rt.Pattern})
	}
	m, err := middleware.NewMetrics(middleware.MetricsConfig{Registerer: reg, Server: srv, Routes: routes})
	if err != nil {
		t.Fatal(err)
	}
	srv.Handler = net.Chain(r.Serve, m.Middleware())
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	})
	base := "http://" + srv.ListenAddr().String()
	hc := httpClient(t)

	first := scrapeFamilies(t, hc, base+"/metrics")
	for _, name := range []string{
		"http_server_request_duration_seconds", "http_server_active_requests",
		"weft_loop_lag_seconds", "weft_loop_utilization", "weft_loop_blocked_total",
		"weft_connections", "weft_connections_rejected_total", "weft_requests_rejected_total",
		"weft_blocking_inflight",
	} {
		if first[name] == nil {
			t.Errorf("family %s missing from the first scrape", name)
		}
	}
	for _, loop := range []string{"0", "1"} {
		for _, name := range []string{"weft_loop_lag_seconds", "weft_loop_utilization", "weft_loop_blocked_total"} {
			if series(first, name, map[string]string{"loop": loop}) == nil {
				t.Errorf("%s{loop=%q} missing from the first scrape", name, loop)
			}
		}
	}
	for _, reason := range []string{"max_conns", "descriptors"} {
		if series(first, "weft_connections_rejected_total", map[string]string{"reason": reason}) == nil {
			t.Errorf("weft_connections_rejected_total{reason=%q} missing", reason)
		}
	}
	if series(first, "http_server_request_duration_seconds", map[string]string{"http_route": "/users/:id", "http_request_method": "GET"}) == nil {
		t.Error("the pre-initialised route /users/:id is missing from the first scrape")
	}

	for _, p := range []string{"/users/1", "/users/2", "/later", "/nowhere"} {
		resp, err := hc.Get(base + p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	if resp, err := hc.Post(base+"/things", "text/plain", strings.NewReader("x")); err != nil {
		t.Fatal(err)
	} else {
		resp.Body.Close()
	}
	// A malformed request, refused before any handler.
	resp, _ := rawRequest(t, srv.ListenAddr().String(), "GET", "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: nope\r\n\r\n")
	if resp.StatusCode != 400 {
		t.Fatalf("malformed request answered %d", resp.StatusCode)
	}

	// A probe is posted 10 ms after a loop starts: wait for one to have
	// run, rather than race it.
	for st := (net.ServerStats{}); ; time.Sleep(time.Millisecond) {
		srv.Stats(&st)
		var n uint64
		for _, l := range st.Loops {
			n += l.Lag.Count
		}
		if n > 0 {
			break
		}
	}
	mfs := scrapeFamilies(t, hc, base+"/metrics")
	tests := []struct {
		method, route, status string
		count                 uint64
	}{
		{"GET", "/users/:id", "200", 2},
		{"POST", "/things", "201", 1},
		{"GET", "/later", "202", 1},
		{"GET", "", "404", 1},
		{"GET", "/metrics", "200", 1}, // the first scrape; this one is still running
	}
	for _, tt := range tests {
		s := series(mfs, "http_server_request_duration_seconds", map[string]string{
			"http_request_method": tt.method, "http_route": tt.route, "http_response_status_code": tt.status})
		if s == nil || s.GetHistogram().GetSampleCount() != tt.count {
			t.Errorf("%s %q %s: series %v, want count %d", tt.method, tt.route, tt.status, s, tt.count)
		}
	}
	if s := series(mfs, "http_server_request_duration_seconds", map[string]string{"http_route": "/users/1"}); s != nil {
		t.Error("a raw path became a route label")
	}
	if later := series(mfs, "http_server_request_duration_seconds", map[string]string{"http_route": "/later", "http_response_status_code": "202"}); later.GetHistogram().GetSampleSum() < 0.001 {
		t.Errorf("/later took %v s, want at least its 1 ms timer", later.GetHistogram().GetSampleSum())
	}
	// The scrape's own request counts once its handler has returned its
	// pending Result, which races with the gathering it started
	// (TestMetricsActiveRequests pins the gauge down).
	if g := mfs["http_server_active_requests"].Metric[0].GetGauge().GetValue(); g != 0 && g != 1 {
		t.Errorf("active requests %v during a scrape, want 0 or 1 (the scrape)", g)
	}
	if c := series(mfs, "weft_requests_rejected_total", map[string]string{"status": "400"}); c.GetCounter().GetValue() != 1 {
		t.Errorf("weft_requests_rejected_total{status=400} = %v, want 1", c)
	}
	if g := mfs["weft_connections"].Metric[0].GetGauge().GetValue(); g < 1 {
		t.Errorf("weft_connections = %v during a scrape, want at least 1", g)
	}
	var probes uint64
	for _, mm := range mfs["weft_loop_lag_seconds"].Metric {
		probes += mm.GetHistogram().GetSampleCount()
	}
	if probes == 0 {
		t.Error("no lag probe counted")
	}

	// Nothing went to the default registry.
	def, err := prometheus.DefaultGatherer.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range def {
		if strings.HasPrefix(mf.GetName(), "weft_") || strings.HasPrefix(mf.GetName(), "http_server_") {
			t.Errorf("%s registered on the default registry", mf.GetName())
		}
	}
}

func TestMetricsScrapeRunsOffTheLoop(t *testing.T) {
	entered, release := make(chan struct{}), make(chan struct{})
	slow := gathererFunc(func() ([]*dto.MetricFamily, error) {
		close(entered)
		<-release
		return nil, nil
	})
	h := func(c *net.Ctx) net.Result {
		if c.Path() == "/metrics" {
			return middleware.Handler(slow)(c)
		}
		return c.Text(net.StatusOK, "fast")
	}
	_, addr := startServer(t, h, 1)
	done := make(chan int, 1)
	go func() {
		resp, err := http.Get("http://" + addr + "/metrics")
		if err != nil {
			done <- 0
			return
		}
		resp.Body.Close()
		done <- resp.StatusCode
	}()
	<-entered
	// The only loop answers while the scrape is being gathered.
	if resp, body := rawRequest(t, addr, "GET", get("/fast")); resp.StatusCode != 200 || body != "fast" {
		t.Fatalf("GET /fast during a scrape: %d %q", resp.StatusCode, body)
	}
	close(release)
	if code := <-done; code != 200 {
		t.Fatalf("scrape answered %d", code)
	}
}

type gathererFunc func() ([]*dto.MetricFamily, error)

func (f gathererFunc) Gather() ([]*dto.MetricFamily, error) { return f() }

func TestMetricsUtilizationOfABlockedLoop(t *testing.T) {
	reg := prometheus.NewRegistry()
	entered, release := make(chan struct{}), make(chan struct{})
	srv := &net.Server{Addr: "127.0.0.1:0", Loops: 2, BlockedLoopThreshold: -1}
	m, err := middleware.NewMetrics(middleware.MetricsConfig{Registerer: reg, Server: srv})
	if err != nil {
		t.Fatal(err)
	}
	var blockedLoop int
	srv.Handler = m.Middleware()(func(c *net.Ctx) net.Result {
		if c.Path() == "/block" {
			blockedLoop = c.LoopID()
			close(entered)
			<-release
		}
		return c.Text(net.StatusOK, "ok")
	})
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	})
	util := func() map[string]float64 {
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]float64{}
		for _, mf := range mfs {
			if mf.GetName() == "weft_loop_utilization" {
				for _, mm := range mf.Metric {
					out[mm.Label[0].GetValue()] = mm.GetGauge().GetValue()
				}
			}
		}
		return out
	}
	util() // the baseline
	done := make(chan struct{})
	go func() {
		resp, err := http.Get("http://" + srv.ListenAddr().String() + "/block")
		if err == nil {
			resp.Body.Close()
		}
		close(done)
	}()
	<-entered
	var st net.ServerStats
	for busy := uint64(0); busy < 100; {
		time.Sleep(time.Millisecond)
		srv.Stats(&st)
		busy = st.Loops[blockedLoop].BusySamples
	}
	u := util()
	close(release)
	<-done
	b, other := strconv.Itoa(blockedLoop), strconv.Itoa(1-blockedLoop)
	if u[b] < 0.5 || u[other] > 0.5 {
		t.Fatalf("utilization %v; want loop %s (blocked) above 0.5 and loop %s (idle) below", u, b, other)
	}
}

func TestMetricsOffloadPools(t *testing.T) {
	reg := prometheus.NewRegistry()
	pool, err := offload.New(offload.Config{Name: "thumbs", Workers: 1, MaxQueue: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close(context.Background())
	if _, err := middleware.NewMetrics(middleware.MetricsConfig{Registerer: reg, Pools: []middleware.OffloadSource{pool}}); err != nil {
		t.Fatal(err)
	}
	read := func() map[string]*dto.Metric {
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]*dto.Metric{}
		for _, mf := range mfs {
			for _, m := range mf.Metric {
				if len(m.Label) > 0 && m.Label[0].GetName() == "pool" && m.Label[0].GetValue() == "thumbs" {
					got[mf.GetName()] = m
				}
			}
		}
		return got
	}
	first := read()
	for _, name := range []string{"weft_offload_queue_wait_seconds", "weft_offload_run_seconds", "weft_offload_queued", "weft_offload_rejected_total"} {
		if first[name] == nil {
			t.Errorf("%s{pool=thumbs} missing before any job", name)
		}
	}

	// One job runs (held), one waits, one is refused.
	scope := runtime.Detached(context.Background())
	release, running := make(chan struct{}), make(chan struct{})
	held := offload.Run(scope, pool, func(context.Context) (int, error) { close(running); <-release; return 0, nil })
	<-running
	queued := offload.Run(scope, pool, func(context.Context) (int, error) { return 0, nil })
	if _, err := offload.Run(scope, pool, func(context.Context) (int, error) { return 0, nil }).Wait(context.Background()); err == nil {
		t.Fatal("a third job was accepted by a full queue")
	}
	mid := read()
	if q := mid["weft_offload_queued"].GetGauge().GetValue(); q != 1 {
		t.Errorf("queued %v while one job waits, want 1", q)
	}
	if r := mid["weft_offload_rejected_total"].GetCounter().GetValue(); r != 1 {
		t.Errorf("rejected %v, want 1", r)
	}
	close(release)
	for _, f := range []runtime.Future[int]{held, queued} {
		if _, err := f.Wait(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	end := read()
	wait, run := end["weft_offload_queue_wait_seconds"].GetHistogram(), end["weft_offload_run_seconds"].GetHistogram()
	if wait.GetSampleCount() != 2 || run.GetSampleCount() != 2 {
		t.Errorf("queue wait count %d, run count %d; want 2 and 2", wait.GetSampleCount(), run.GetSampleCount())
	}
	if b := wait.Bucket; len(b) == 0 || b[0].GetUpperBound() > 2e-6 || b[len(b)-1].GetCumulativeCount() > wait.GetSampleCount() {
		t.Errorf("queue wait buckets %v: want bounds from about 1 µs, cumulative", b)
	}
	if q := end["weft_offload_queued"].GetGauge().GetValue(); q != 0 {
		t.Errorf("queued %v after the jobs ran, want 0", q)
	}
}

// poolSeries reads every series of reg labelled pool=name, keyed by the
// metric's name and its other labels' values ("weft_offload_jobs_total/submitted").
func poolSeries(t *testing.T, reg *prometheus.Registry, name string) map[string]*dto.Metric {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]*dto.Metric{}
	for _, mf := range mfs {
		for _, m := range mf.Metric {
			key, ours := mf.GetName(), false
			for _, l := range m.Label {
				if l.GetName() == "pool" {
					ours = l.GetValue() == name
					continue
				}
				key += "/" + l.GetValue()
			}
			if ours {
				got[key] = m
			}
		}
	}
	return got
}

func TestMetricsOffloadJobCounts(t *testing.T) {
	reg := prometheus.NewRegistry()
	pool, err := offload.New(offload.Config{Name: "hash", Workers: 1, MaxQueue: 4})
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close(context.Background())
	if _, err := middleware.NewMetrics(middleware.MetricsConfig{Registerer: reg, Pools: []middleware.OffloadSource{pool}}); err != nil {
		t.Fatal(err)
	}
	scope := runtime.Detached(context.Background())
	if _, err := offload.Run(scope, pool, func(context.Context) (int, error) { panic("boom") }).Wait(context.Background()); err == nil {
		t.Fatal("a panicking job succeeded")
	}
	release, running := make(chan struct{}), make(chan struct{})
	held := offload.Run(scope, pool, func(context.Context) (int, error) { close(running); <-release; return 1, nil })
	<-running
	cancelled, cancel := context.WithCancel(context.Background())
	gone := offload.Run(runtime.Detached(cancelled), pool, func(context.Context) (int, error) { return 2, nil })
	cancel()

	mid := poolSeries(t, reg, "hash")
	for key, want := range map[string]float64{
		"weft_offload_workers":          1,
		"weft_offload_running":          1,
		"weft_offload_remote_in_flight": 0,
	} {
		if m := mid[key]; m == nil || m.GetGauge().GetValue() != want {
			t.Errorf("%s = %v, want %v", key, m.GetGauge().GetValue(), want)
		}
	}
	close(release)
	if _, err := held.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := gone.Wait(context.Background()); !errors.Is(err, context.Canceled) {
		t.Fatalf("the job whose context was cancelled in the queue returned %v, want context.Canceled", err)
	}
	end := poolSeries(t, reg, "hash")
	for key, want := range map[string]float64{
		"weft_offload_jobs_total/submitted": 3,
		"weft_offload_jobs_total/completed": 2,
		"weft_offload_jobs_total/panicked":  1,
		"weft_offload_jobs_total/cancelled": 1,
		"weft_offload_running":              0,
	} {
		m := end[key]
		var got float64
		switch {
		case m == nil:
			t.Errorf("%s missing", key)
			continue
		case m.Counter != nil:
			got = m.GetCounter().GetValue()
		default:
			got = m.GetGauge().GetValue()
		}
		if got != want {
			t.Errorf("%s = %v, want %v", key, got, want)
		}
	}
}

// remotePool reports fixed remote figures, each a different number, so that
// a field exported under the wrong event shows.
type remotePool struct{}

func (remotePool) Name() string { return "far" }
func (remotePool) Stats() offload.Stats {
	var rt offload.Distribution
	rt.Counts[20] = 5 // about 1 ms
	rt.Sum = 5 * time.Millisecond
	return offload.Stats{
		FastLane:     6,
		ExpectedWait: 250 * time.Millisecond,
		Remote: offload.RemoteStats{
			Sent: 11, InFlight: 2, Completed: 7, Failed: 3, Retried: 1, Fallback: 4,
			RoundTrip: rt,
		},
	}
}

func TestMetricsOffloadRemote(t *testing.T) {
	reg := prometheus.NewRegistry()
	if _, err := middleware.NewMetrics(middleware.MetricsConfig{Registerer: reg, Pools: []middleware.OffloadSource{remotePool{}}}); err != nil {
		t.Fatal(err)
	}
	got := poolSeries(t, reg, "far")
	for key, want := range map[string]float64{
		"weft_offload_remote_jobs_total/sent":      11,
		"weft_offload_remote_jobs_total/completed": 7,
		"weft_offload_remote_jobs_total/failed":    3,
		"weft_offload_remote_jobs_total/retried":   1,
		"weft_offload_remote_jobs_total/fallback":  4,
		"weft_offload_jobs_total/fast_lane":        6,
	} {
		if m := got[key]; m == nil || m.GetCounter().GetValue() != want {
			t.Errorf("%s = %v, want %v", key, m.GetCounter().GetValue(), want)
		}
	}
	if g := got["weft_offload_remote_in_flight"].GetGauge().GetValue(); g != 2 {
		t.Errorf("remote in flight %v, want 2", g)
	}
	if g := got["weft_offload_expected_wait_seconds"].GetGauge().GetValue(); g != 0.25 {
		t.Errorf("expected wait %v s, want 0.25", g)
	}
	h := got["weft_offload_remote_round_trip_seconds"].GetHistogram()
	if h.GetSampleCount() != 5 || h.GetSampleSum() != 0.005 {
		t.Errorf("round trip histogram: %d samples, sum %v s; want 5 and 0.005", h.GetSampleCount(), h.GetSampleSum())
	}
}

type fakePool struct{ name string }

func (p fakePool) Name() string         { return p.name }
func (p fakePool) Stats() offload.Stats { return offload.Stats{} }

func TestNewMetricsConfigErrors(t *testing.T) {
	tests := []struct {
		name string
		cfg  middleware.MetricsConfig
		want string
	}{
		{"no registerer", middleware.MetricsConfig{}, "Registerer is nil"},
		{"bad buckets", middleware.MetricsConfig{Registerer: prometheus.NewRegistry(), Buckets: []float64{1, 0.5}}, "increasing"},
		{"two pools, one name", middleware.MetricsConfig{Registerer: prometheus.NewRegistry(),
			Pools: []middleware.OffloadSource{fakePool{name: "a"}, fakePool{name: "a"}}}, `two pools named "a"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := middleware.NewMetrics(tt.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err %v, want one mentioning %q", err, tt.want)
			}
		})
	}
	reg := prometheus.NewRegistry()
	if _, err := middleware.NewMetrics(middleware.MetricsConfig{Registerer: reg}); err != nil {
		t.Fatal(err)
	}
	if _, err := middleware.NewMetrics(middleware.MetricsConfig{Registerer: reg}); err == nil {
		t.Fatal("registering twice on one registry succeeded")
	}
}

func TestMetricsMiddlewareDoesNotAllocate(t *testing.T) {
	m, err := middleware.NewMetrics(middleware.MetricsConfig{Registerer: prometheus.NewRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	h := m.Middleware()(func(c *net.Ctx) net.Result {
		net.SetRoute(c, "/plaintext")
		return c.Text(net.StatusOK, "Hello, World!")
	})
	tc := testConn(t, h)
	req := []byte(get("/plaintext"))
	serve := func() {
		if _, err := tc.Serve(req, time.Second); err != nil {
			t.Fatal(err)
		}
	}
	serve() // the first request of a series makes it
	if n := testing.AllocsPerRun(200, serve); n != 0 {
		t.Fatalf("%v allocations per request, want 0", n)
	}
}

func ExampleNewMetrics() {
	reg := prometheus.NewRegistry()
	srv := &net.Server{Addr: "127.0.0.1:0"}
	r := router.New()
	r.GET("/hello", func(c *net.Ctx) net.Result { return c.Text(net.StatusOK, "hello") })
	r.GET("/metrics", middleware.Handler(reg)) // gathered off the loop
	m, err := middleware.NewMetrics(middleware.MetricsConfig{
		Registerer: reg, // nothing goes to prometheus.DefaultRegisterer
		Server:     srv, // loop and connection families
		Routes:     []middleware.RouteLabels{{Method: "GET", Pattern: "/hello"}},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	srv.Handler = net.Chain(r.Serve, m.Middleware()) // outermost
	mfs, _ := reg.Gather()
	for _, mf := range mfs {
		fmt.Println(mf.GetName())
	}
	// Output:
	// http_server_active_requests
	// http_server_request_duration_seconds
	// weft_blocking_inflight
	// weft_connections
	// weft_connections_rejected_total
	// weft_requests_rejected_total
}

// TestMetricsSharedByTwoServers: two servers' loops with the same id record
// through one Metrics concurrently; nothing races (under -race) and every
// request is counted.
func TestMetricsSharedByTwoServers(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := middleware.NewMetrics(middleware.MetricsConfig{Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	h := m.Middleware()(func(c *net.Ctx) net.Result {
		net.SetRoute(c, "/x")
		return c.Text(net.StatusOK, "x")
	})
	const perConn = 200
	done := make(chan error, 2)
	for range 2 {
		go func() {
			tc, err := net.NewTestConn(&net.Server{Handler: h}) // each a loop 0
			if err != nil {
				done <- err
				return
			}
			defer tc.Close()
			for range perConn {
				if _, err := tc.Serve([]byte(get("/x")), 5*time.Second); err != nil {
					done <- err
					return
				}
			}
			done <- nil
		}()
	}
	for range 2 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var n uint64
	for _, mf := range mfs {
		if mf.GetName() == "http_server_request_duration_seconds" {
			for _, mm := range mf.Metric {
				n += mm.GetHistogram().GetSampleCount()
			}
		}
	}
	if n != 2*perConn {
		t.Fatalf("%d requests counted, want %d", n, 2*perConn)
	}
}

func TestMetricsHandlerFormats(t *testing.T) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(prometheus.NewCounter(prometheus.CounterOpts{Name: "things_total", Help: "Things."}))
	failing := gathererFunc(func() ([]*dto.MetricFamily, error) { return nil, errors.New("collector broke") })
	tests := []struct {
		name   string
		g      prometheus.Gatherer
		accept string
		status int
		ctype  string // prefix
		body   string // substring
	}{
		{"text by default", reg, "", 200, "text/plain; version=0.0.4", "things_total 0"},
		{"OpenMetrics when asked", reg, "application/openmetrics-text; version=1.0.0", 200, "application/openmetrics-text", "# EOF"},
		{"a gathering error", failing, "", 500, "text/plain", "Internal Server Error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var hdr []string
			if tt.accept != "" {
				hdr = append(hdr, "Accept: "+tt.accept)
			}
			resp, body := serveTC(t, testConn(t, middleware.Handler(tt.g)), get("/metrics", hdr...))
			if resp.StatusCode != tt.status || !strings.HasPrefix(resp.Header.Get("Content-Type"), tt.ctype) || !strings.Contains(body, tt.body) {
				t.Fatalf("%d %q %q; want %d, %q..., a body with %q", resp.StatusCode, resp.Header.Get("Content-Type"), body, tt.status, tt.ctype, tt.body)
			}
		})
	}
}

func TestMetricsWebSockets(t *testing.T) {
	reg := prometheus.NewRegistry()
	// websocket.Stats converts to WebSocketStats field for field.
	stats := websocket.Stats{Open: 2, Opened: 7, MessagesIn: 11, MessagesOut: 13, BytesIn: 17, BytesOut: 19}
	src := middleware.WebSocketSourceFunc("chat", func() middleware.WebSocketStats { return middleware.WebSocketStats(stats) })
	if _, err := middleware.NewMetrics(middleware.MetricsConfig{Registerer: reg, WebSockets: []middleware.WebSocketSource{src}}); err != nil {
		t.Fatal(err)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.Metric {
			key := mf.GetName()
			for _, l := range m.Label {
				key += "," + l.GetName() + "=" + l.GetValue()
			}
			if g := m.GetGauge(); g != nil {
				got[key] = g.GetValue()
			}
			if c := m.GetCounter(); c != nil {
				got[key] = c.GetValue()
			}
		}
	}
	want := map[string]float64{
		"weft_websocket_sessions,endpoint=chat":                          2,
		"weft_websocket_sessions_opened_total,endpoint=chat":             7,
		"weft_websocket_messages_total,direction=in,endpoint=chat":       11,
		"weft_websocket_messages_total,direction=out,endpoint=chat":      13,
		"weft_websocket_message_bytes_total,direction=in,endpoint=chat":  17,
		"weft_websocket_message_bytes_total,direction=out,endpoint=chat": 19,
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
	_, err = middleware.NewMetrics(middleware.MetricsConfig{Registerer: prometheus.NewRegistry(), WebSockets: []middleware.WebSocketSource{src, src}})
	if err == nil || !strings.Contains(err.Error(), `two WebSocket endpoints named "chat"`) {
		t.Errorf("duplicate endpoint names: %v", err)
	}
}

// gatherTask reads http_server_active_requests when the loop runs it, then
// settles the request's Result.
type gatherTask struct {
	t      *testing.T
	reg    *prometheus.Registry
	p      runtime.Promise[struct{}]
	active float64
}

func (g *gatherTask) Run() {
	g.active = activeRequests(g.t, g.reg)
	g.p.Resolve(struct{}{})
}

func activeRequests(t *testing.T, reg *prometheus.Registry) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == "http_server_active_requests" {
			return mf.Metric[0].GetGauge().GetValue()
		}
	}
	t.Fatal("no http_server_active_requests")
	return 0
}

// http_server_active_requests counts a request from its handler's return
// of a pending Result until that Result settles; a handler that answers at
// once is never counted.
func TestMetricsActiveRequests(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := middleware.NewMetrics(middleware.MetricsConfig{Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	var inSync float64
	g := &gatherTask{t: t, reg: reg}
	h := func(c *net.Ctx) net.Result {
		if c.Path() == "/sync" {
			inSync = activeRequests(t, reg)
			return c.Text(200, "now")
		}
		g.p = runtime.NewPromise[struct{}](c.Loop())
		c.Text(200, "later")
		if err := c.Loop().Post(g); err != nil {
			return net.Fail(err)
		}
		return g.p.Future()
	}
	tc := testConn(t, m.Middleware()(h))
	serveTC(t, tc, get("/later"))
	serveTC(t, tc, get("/sync"))
	if after := activeRequests(t, reg); g.active != 1 || inSync != 0 || after != 0 {
		t.Fatalf("active requests: %v while a Result was pending, %v in a synchronous handler, %v after; want 1, 0, 0", g.active, inSync, after)
	}
}
