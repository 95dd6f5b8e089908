package runtime_test

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/weftgo/weft/runtime"
	"github.com/weftgo/weft/runtime/runtimetest"
)

func TestActivityMarksTurns(t *testing.T) {
	var a runtime.Activity
	if s := a.Sample(); s.Busy || s.Turn != 0 {
		t.Fatalf("zero Activity: %+v, want idle at turn 0", s)
	}
	steps := []struct {
		name string
		do   func()
		want runtime.ActivitySample
	}{
		{"enter", func() { a.Enter(3) }, runtime.ActivitySample{Turn: 1, Kind: 3, Busy: true}},
		{"nested enter keeps the outer kind", func() { a.Enter(5) }, runtime.ActivitySample{Turn: 1, Kind: 3, Busy: true}},
		{"nested exit stays busy", func() { a.Exit() }, runtime.ActivitySample{Turn: 1, Kind: 3, Busy: true}},
		{"exit", func() { a.Exit() }, runtime.ActivitySample{Turn: 1}},
		{"next callback is a new turn", func() { a.Enter(127) }, runtime.ActivitySample{Turn: 2, Kind: 127, Busy: true}},
		{"exit again", func() { a.Exit() }, runtime.ActivitySample{Turn: 2}},
	}
	for _, st := range steps {
		st.do()
		if got := a.Sample(); got != st.want {
			t.Fatalf("%s: %+v, want %+v", st.name, got, st.want)
		}
	}
}

func TestActivityEnterExitDoNotAllocate(t *testing.T) {
	var a runtime.Activity
	if n := testing.AllocsPerRun(1000, func() { a.Enter(1); a.Exit() }); n != 0 {
		t.Fatalf("Enter+Exit: %v allocs, want 0", n)
	}
}

func blockedHere(release <-chan struct{}) { <-release }

func TestOwnerStackIsTheLoopGoroutines(t *testing.T) {
	l := runtimetest.NewLoop(t)
	var o runtime.Owner
	if o.Stack() != nil {
		t.Fatal("Stack of an unowned Owner is not nil")
	}
	release := make(chan struct{})
	claimed := make(chan struct{})
	go l.Do(func() {
		o.Claim()
		close(claimed)
		blockedHere(release)
		o.Release()
	})
	<-claimed
	st := o.Stack()
	close(release)
	if !bytes.HasPrefix(st, []byte("goroutine ")) {
		t.Fatalf("stack does not start with its goroutine header:\n%s", st)
	}
	if !strings.Contains(string(st), "runtime_test.blockedHere") {
		t.Fatalf("stack does not name the function the loop is in:\n%s", st)
	}
	if strings.Contains(string(st), "TestOwnerStackIsTheLoopGoroutines(") {
		t.Fatalf("stack holds another goroutine's frames:\n%s", st)
	}
}

func TestLagHistogramCountsProbes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := runtimetest.NewLoop(t)
		m := runtime.NewLagMonitor(l, runtime.LagConfig{Interval: time.Millisecond})
		defer m.Stop()
		time.Sleep(10 * time.Millisecond) // idle: probes answered at once
		// Block the loop for 60 ms; the probe waiting behind it lands in
		// a bucket above 25 ms when it runs.
		l.Do(func() { time.Sleep(60 * time.Millisecond) })
		time.Sleep(10 * time.Millisecond)
		h := m.Histogram()
		bounds := runtime.LagBuckets()
		if len(h.Counts) != len(bounds)+1 {
			t.Fatalf("%d counts for %d bounds, want one more (+Inf)", len(h.Counts), len(bounds))
		}
		var total, fast, slow uint64
		for i, c := range h.Counts {
			total += c
			switch {
			case i == 0:
				fast += c
			case bounds[i-1] >= 50*time.Millisecond:
				slow += c
			}
		}
		if total != h.Count || fast == 0 || slow != 1 || h.Sum < 50*time.Millisecond {
			t.Fatalf("histogram %+v: want idle probes in the first bucket, one over 50ms, Count = sum of Counts", h)
		}
	})
}

// activityLoop is a test loop that shows an Activity, as net's loops do.
type activityLoop struct {
	*runtimetest.Loop
	act *runtime.Activity
}

func (l activityLoop) Activity() *runtime.Activity { return l.act }

// An idle loop (no callback since the last probe) is probed every
// IdleEvery intervals; one that runs callbacks, every interval.
func TestLagMonitorProbesIdleLoopsLess(t *testing.T) {
	tests := []struct {
		name      string
		busy      bool // a callback runs between ticks
		idleEvery int
		min, max  uint64 // probes in 100 intervals
	}{
		{"idle", false, 10, 9, 11},
		{"idle, IdleEvery 1", false, 1, 99, 101},
		{"busy", true, 10, 99, 101},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				act := new(runtime.Activity)
				l := activityLoop{runtimetest.NewLoop(t), act}
				m := runtime.NewLagMonitor(l, runtime.LagConfig{Interval: time.Millisecond, IdleEvery: tt.idleEvery})
				defer m.Stop()
				time.Sleep(time.Millisecond / 2) // between ticks from now on
				for range 100 {
					if tt.busy {
						l.Do(func() { act.Enter(1); act.Exit() })
					}
					time.Sleep(time.Millisecond)
					synctest.Wait()
				}
				if n := m.Histogram().Count; n < tt.min || n > tt.max {
					t.Fatalf("%d probes in 100 intervals, want %d to %d", n, tt.min, tt.max)
				}
			})
		})
	}
}

// One slow callback does not count in RecentLag, even before the window
// holds 100 probes: a loop that runs one slow callback soon after it
// starts and then idles (probed every IdleEvery intervals, so the window
// fills in 10 s, not 1) must not report it for seconds, or LoadShed sheds
// and Health reports pressure after a single slow request. Two do count.
func TestRecentLagIgnoresOneSlowCallbackAtStart(t *testing.T) {
	for _, slow := range []int{1, 2} {
		t.Run(fmt.Sprint(slow, " slow"), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				act := new(runtime.Activity)
				l := activityLoop{runtimetest.NewLoop(t), act}
				m := runtime.NewLagMonitor(l, runtime.LagConfig{})
				defer m.Stop()
				time.Sleep(55 * time.Millisecond) // a few quick probes
				for range slow {
					l.Do(func() { act.Enter(1); time.Sleep(300 * time.Millisecond); act.Exit() })
					time.Sleep(100 * time.Millisecond)
				}
				time.Sleep(2 * time.Second) // idle: probed every 100 ms
				synctest.Wait()
				if n := m.Histogram().Count; n >= runtime.LagWindow {
					t.Fatalf("%d probes: the window is full, the test shows nothing", n)
				}
				lag := m.RecentLag()
				if slow == 1 && lag >= 100*time.Millisecond {
					t.Fatalf("RecentLag %v two seconds after one slow callback, want it not to count", lag)
				}
				if slow == 2 && lag < 200*time.Millisecond {
					t.Fatalf("RecentLag %v after two slow callbacks, want them to count (about 300ms)", lag)
				}
			})
		})
	}
}
