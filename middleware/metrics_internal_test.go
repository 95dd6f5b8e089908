package middleware

import (
	"slices"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// TestRecordOnLoopBuckets: a duration lands in the first bucket whose upper
// bound is at or above it (Prometheus' "le"), one past every bound in +Inf,
// and the sum adds them all, as a binary search over the bounds would place
// them.
func TestRecordOnLoopBuckets(t *testing.T) {
	m, err := NewMetrics(MetricsConfig{Registerer: prometheus.NewRegistry(), Buckets: []float64{0.001, 0.002, 0.005}})
	if err != nil {
		t.Fatal(err)
	}
	sh := m.newShard(nil, false)
	ms := int64(time.Millisecond)
	durations := []int64{0, 1, ms - 1, ms, ms + 1, 2 * ms, 2*ms + 1, 5 * ms, 5*ms + 1, 10 * time.Second.Nanoseconds()}
	want := make([]uint64, len(m.bounds)+1)
	var sum int64
	for _, d := range durations {
		m.recordOnLoop(sh, "GET", "/x", 200, d)
		i, _ := slices.BinarySearch(m.bounds, d)
		want[i]++
		sum += d
	}
	s := (*sh.series.Load())[reqKey{method: "GET", route: "/x", status: 200}]
	if s == nil {
		t.Fatal("no series for GET /x 200")
	}
	got := make([]uint64, len(m.bounds)+1)
	for i := range got {
		got[i] = s.counts[i].Load()
	}
	if !slices.Equal(got, want) || !slices.Equal(want, []uint64{4, 2, 2, 2}) {
		t.Errorf("bucket counts %v, want %v and [4 2 2 2]", got, want)
	}
	if g := int64(s.counts[len(m.bounds)+1].Load()); g != sum {
		t.Errorf("sum %d ns, want %d", g, sum)
	}
}
