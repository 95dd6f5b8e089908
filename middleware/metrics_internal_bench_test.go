package middleware

import (
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Is recording contended across loops? Each loop records into a shard of
// its own (its series' counters live on cache lines no other loop writes),
// so loops recording side by side should cost what one alone costs. These
// record one request per iteration with one goroutine per P (-cpu 1,2).
// per-loop: each goroutine its own shard, as each loop has. shared-locked:
// one shard behind its mutex, the path of loops of a second server sharing
// a Metrics. client_golang-vec: HistogramVec.WithLabelValues(...).Observe,
// as a middleware using client_golang on the hot path would.
// client_golang-observer: the same histogram's Observer looked up once, so
// only its shared atomics remain.
//
//	go test -run XXX -bench 'RecordContention' -cpu 1,2 -count 10 ./middleware/
func BenchmarkRecordContention(b *testing.B) {
	const d = int64(120 * time.Microsecond)
	m, err := NewMetrics(MetricsConfig{Registerer: prometheus.NewRegistry()})
	if err != nil {
		b.Fatal(err)
	}
	b.Run("per-loop", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			sh := m.newShard(nil, false)
			for pb.Next() {
				m.recordOnLoop(sh, "GET", "/plaintext", 200, d)
			}
		})
	})
	b.Run("shared-locked", func(b *testing.B) {
		sh := m.newShard(nil, false)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				sh.mu.Lock()
				m.recordOnLoop(sh, "GET", "/plaintext", 200, d)
				sh.mu.Unlock()
			}
		})
	})
	vec := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "http_server_request_duration_seconds",
		Buckets: defaultDurationBuckets,
	}, []string{"http_request_method", "http_route", "http_response_status_code"})
	b.Run("client_golang-vec", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				vec.WithLabelValues("GET", "/plaintext", "200").Observe(time.Duration(d).Seconds())
			}
		})
	})
	b.Run("client_golang-observer", func(b *testing.B) {
		var once sync.Once
		var obs prometheus.Observer
		once.Do(func() { obs = vec.WithLabelValues("GET", "/plaintext", "200") })
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				obs.Observe(time.Duration(d).Seconds())
			}
		})
	})
}
