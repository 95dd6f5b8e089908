package nethttp_test

import (
	"io"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/weftgo/weft/net"
	"github.com/weftgo/weft/net/nethttp"
)

// Prometheus's own promhttp handler works unchanged: text and OpenMetrics
// formats, gzip.
func TestPromhttp(t *testing.T) {
	reg := prometheus.NewRegistry()
	hits := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "hits_total", Help: "Hits."}, []string{"code"})
	reg.MustRegister(hits)
	for i := range 500 {
		hits.WithLabelValues(strings.Repeat("x", i%50) + "c").Add(float64(i))
	}
	h := promhttp.HandlerFor(reg, promhttp.HandlerOpts{EnableOpenMetrics: true})
	srv := start(t, &net.Server{Handler: nethttp.Handler(h)})

	// net/http's client asks for gzip and decompresses it.
	resp, err := srv.Client().Get(srv.URL + "/metrics")
	must(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !resp.Uncompressed || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain; version=0.0.4") ||
		!strings.Contains(string(body), "# TYPE hits_total counter") || strings.Count(string(body), "hits_total{") != 50 {
		t.Fatalf("text: %d uncompressed=%v %q\n%.300s", resp.StatusCode, resp.Uncompressed, resp.Header.Get("Content-Type"), body)
	}

	req := httptest.NewRequest("GET", "/metrics", nil)
	req.Header.Set("Accept", "application/openmetrics-text;version=1.0.0")
	resp, b := get(t, srv, req)
	if !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/openmetrics-text") || !strings.HasSuffix(string(b), "# EOF\n") {
		t.Fatalf("openmetrics: %q\n%.300s", resp.Header.Get("Content-Type"), b)
	}
}
