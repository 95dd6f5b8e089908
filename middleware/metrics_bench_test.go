package middleware_test

import (
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/weftgo/weft/middleware"
	"github.com/weftgo/weft/net"
)

// The request metrics two ways, on the plaintext path through a TestConn:
// Metrics' per-loop counters added up at scrape time, and client_golang's
// HistogramVec and Gauge on the hot path (a locked map lookup by label
// values, shared atomics). "none" is the path without metrics.

func plaintext(c *net.Ctx) net.Result {
	net.SetRoute(c, "/plaintext")
	return c.Text(net.StatusOK, "Hello, World!")
}

func BenchmarkRequestMetrics(b *testing.B) {
	b.Run("none", func(b *testing.B) { benchServe(b, plaintext, get("/plaintext")) })
	b.Run("weft-per-loop", func(b *testing.B) {
		m, err := middleware.NewMetrics(middleware.MetricsConfig{Registerer: prometheus.NewRegistry()})
		if err != nil {
			b.Fatal(err)
		}
		benchServe(b, m.Middleware()(plaintext), get("/plaintext"))
	})
	b.Run("client_golang-vec", func(b *testing.B) {
		dur := prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "http_server_request_duration_seconds",
			Buckets: []float64{0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10},
		}, []string{"http_request_method", "http_route", "http_response_status_code"})
		active := prometheus.NewGauge(prometheus.GaugeOpts{Name: "http_server_active_requests"})
		statuses := map[int]string{}
		h := func(c *net.Ctx) net.Result {
			active.Inc()
			start := time.Now()
			res := plaintext(c)
			status, ok := statuses[c.StatusCode()]
			if !ok {
				status = strconv.Itoa(c.StatusCode())
				statuses[c.StatusCode()] = status
			}
			dur.WithLabelValues(c.Method(), c.Route(), status).Observe(time.Since(start).Seconds())
			active.Dec()
			return res
		}
		benchServe(b, h, get("/plaintext"))
	})
}
