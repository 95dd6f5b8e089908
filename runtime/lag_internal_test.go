package runtime

import "testing"

// RecentLag's percentile: nearest rank over the window of 100, empty slots
// counted as 0, so that one slow probe does not count and two do.
func TestLagWindowP99(t *testing.T) {
	const ms = 1_000_000
	tests := []struct {
		name string
		lags []int64 // recorded in order; the window keeps the last 100
		want int64
	}{
		{"none", nil, 0},
		{"one: does not count", []int64{3 * ms}, 0},
		{"ten: the second largest", []int64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10 * ms}, 9},
		{"two outliers among ten", []int64{1, 2, 3, 4, 5, 6, 7, 8, 100 * ms, 10 * ms}, 10 * ms},
		{"one outlier in 100", append(repeat(100*ms, 1), repeat(ms/10, 99)...), ms / 10},
		{"two outliers in 100", append(repeat(100*ms, 2), repeat(ms/10, 98)...), 100 * ms},
		{"outliers pushed out of the window", append(repeat(100*ms, 5), repeat(ms/10, 100)...), ms / 10},
		{"a window of distinct lags: 150..249", ramp(250), 248},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var w lagWindow
			var got int64
			for _, l := range tt.lags {
				got = w.add(l)
			}
			if got != tt.want {
				t.Fatalf("p99 %d, want %d", got, tt.want)
			}
		})
	}
}

func repeat(v int64, n int) []int64 {
	s := make([]int64, n)
	for i := range s {
		s[i] = v
	}
	return s
}

// ramp returns 0, 1, ..., n-1: the window keeps n-100 to n-1.
func ramp(n int) []int64 {
	s := make([]int64, n)
	for i := range s {
		s[i] = int64(i)
	}
	return s
}

func TestLagWindowAddDoesNotAllocate(t *testing.T) {
	var w lagWindow
	i := int64(0)
	if n := testing.AllocsPerRun(1000, func() { i = (i*7 + 3) % 1000; w.add(i) }); n != 0 {
		t.Fatalf("%v allocations per probe, want 0", n)
	}
}
