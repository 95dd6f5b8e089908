package offload_test

import (
	"context"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/weftgo/weft/offload"
	"github.com/weftgo/weft/runtime"
)

func TestWorkerThreadsAreNiced(t *testing.T) {
	threadNice := func(context.Context) (int, error) {
		// getpriority returns 20-nice for PRIO_PROCESS on Linux.
		prio, err := unix.Getpriority(unix.PRIO_PROCESS, unix.Gettid())
		return 20 - prio, err
	}
	base, err := threadNice(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		nice int
		want int
	}{
		{"default", 0, 15},
		{"explicit", 12, 12},
		{"none", -1, base},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := newPool(t, offload.Config{Workers: 1, Nice: tc.nice})
			got, err := wait(t, offload.Run(runtime.Detached(context.Background()), p, threadNice))
			if err != nil {
				t.Fatal(err)
			}
			if tc.nice != -1 {
				tc.want = max(tc.want, base) // nice cannot go below the process's
			}
			if got != tc.want {
				t.Fatalf("worker thread nice %d, want %d", got, tc.want)
			}
		})
	}
	// The test's own thread must be untouched: niced threads never run
	// other goroutines.
	if after, _ := threadNice(context.Background()); after != base {
		t.Fatalf("the test goroutine's thread went from nice %d to %d", base, after)
	}
}

func TestFastLaneRunsOffTheNicedThreads(t *testing.T) {
	threadNice := func(context.Context) (int, error) {
		prio, err := unix.Getpriority(unix.PRIO_PROCESS, unix.Gettid())
		return 20 - prio, err
	}
	base, _ := threadNice(context.Background())
	if base >= 15 {
		t.Skipf("the test runs at nice %d: the lanes cannot be told apart", base)
	}
	p := newPool(t, offload.Config{Workers: 1, FastLane: time.Second})
	var got []int
	for range 2 {
		n, err := wait(t, offload.Run(runtime.Detached(context.Background()), p, threadNice))
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, n)
	}
	if got[0] != 15 || got[1] != base {
		t.Fatalf("thread nice: first run %d (want 15, a locked worker), second %d (want %d, the fast lane)", got[0], got[1], base)
	}
}
