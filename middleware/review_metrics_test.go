package middleware_test

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/weftgo/weft/middleware"
	"github.com/weftgo/weft/net"
	"github.com/weftgo/weft/runtime"
)

// The server's HandlerTimeout answers 503 and cancels the request's
// context; the handler's Result then fails with the context's error. The
// client got a 503: metrics and the access line must say 503, not the 500
// that StatusOf(context.Canceled) gives.
func TestStatusOfARequestAnsweredByHandlerTimeout(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := middleware.NewMetrics(middleware.MetricsConfig{Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	log, sink := newLogSink(zap.InfoLevel)
	h := func(c *net.Ctx) net.Result {
		net.SetRoute(c, "/slow")
		f := runtime.Blocking(c, func(ctx context.Context) (struct{}, error) {
			<-ctx.Done()
			return struct{}{}, ctx.Err()
		})
		return runtime.Then(c, f, func(struct{}) net.Result { return c.Text(net.StatusOK, "late") })
	}
	srv := &net.Server{Addr: "127.0.0.1:0", Loops: 1, HandlerTimeout: 10 * time.Millisecond,
		Handler: net.Chain(h, m.Middleware(), middleware.Logger(middleware.LoggerConfig{Logger: log}))}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	})
	if resp, _ := rawRequest(t, srv.ListenAddr().String(), "GET", get("/slow")); resp.StatusCode != 503 {
		t.Fatalf("status %d, want HandlerTimeout's 503", resp.StatusCode)
	}
	// Wait for the handler's Result to settle: the request is then counted.
	statuses := func() (active float64, counted map[string]uint64) {
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		counted = map[string]uint64{}
		for _, mf := range mfs {
			for _, mm := range mf.Metric {
				switch mf.GetName() {
				case "http_server_active_requests":
					active = mm.GetGauge().GetValue()
				case "http_server_request_duration_seconds":
					for _, lp := range mm.Label {
						if lp.GetName() == "http_response_status_code" {
							counted[lp.GetValue()] += mm.GetHistogram().GetSampleCount()
						}
					}
				}
			}
		}
		return active, counted
	}
	active, counted := statuses()
	for ; active != 0 || len(counted) == 0; active, counted = statuses() {
		time.Sleep(time.Millisecond)
	}
	if len(counted) != 1 || counted["503"] != 1 {
		t.Errorf("requests counted by status %v, want one 503", counted)
	}
	checkFields(t, sink.one(t), map[string]any{"status": 503.0})
}
