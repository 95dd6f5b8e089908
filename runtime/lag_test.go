package runtime_test

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/weftgo/weft/runtime"
	"github.com/weftgo/weft/runtime/runtimetest"
)

func TestLagMonitorSeesABusyLoop(t *testing.T) {
	l := runtimetest.NewLoop(t)
	var blocked atomic.Int64
	m := runtime.NewLagMonitor(l, runtime.LagConfig{
		Interval:     5 * time.Millisecond,
		BlockedAfter: 100 * time.Millisecond,
		OnBlocked:    func(d time.Duration) { blocked.Store(int64(d)) },
	})
	defer m.Stop()
	time.Sleep(50 * time.Millisecond)
	if lag := m.Lag(); lag > 20*time.Millisecond {
		t.Fatalf("idle loop lag %v, want small", lag)
	}
	// Block the loop for 300 ms; meanwhile Lag must grow without waiting
	// for the loop to recover.
	go l.Do(func() { time.Sleep(300 * time.Millisecond) })
	time.Sleep(200 * time.Millisecond)
	if lag := m.Lag(); lag < 100*time.Millisecond {
		t.Fatalf("lag %v while the loop is blocked, want at least 100ms", lag)
	}
	if lag := m.RecentLag(); lag < 100*time.Millisecond {
		t.Fatalf("RecentLag %v while the loop is blocked, want at least 100ms (the pending probe)", lag)
	}
	time.Sleep(250 * time.Millisecond)
	if d := time.Duration(blocked.Load()); d < 100*time.Millisecond {
		t.Fatalf("OnBlocked got %v, want a call after 100ms", d)
	}
	if mx := m.Max(true); mx < 200*time.Millisecond {
		t.Fatalf("Max %v, want the blocked episode (about 300ms)", mx)
	}
	// One slow probe in the window (of 100, however few have run) does
	// not count once it has run: RecentLag is back to a small lag.
	if lag := m.RecentLag(); lag >= 100*time.Millisecond {
		t.Fatalf("RecentLag %v after the episode, want its one probe not to count", lag)
	}
	time.Sleep(50 * time.Millisecond)
	if lag := m.Lag(); lag > 50*time.Millisecond {
		t.Fatalf("lag %v after the loop recovered", lag)
	}
}
