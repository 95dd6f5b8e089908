package net_test

import (
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/weftgo/weft/net"
)

// logEvents is a zap sink that hands every line, decoded, to a channel.
type logEvents struct {
	mu    sync.Mutex
	lines chan map[string]any
}

func (e *logEvents) Write(p []byte) (int, error) {
	var m map[string]any
	if err := json.Unmarshal(p, &m); err == nil {
		e.lines <- m
	}
	return len(p), nil
}

func (e *logEvents) Sync() error { return nil }

func newLogEvents(level zapcore.Level) (*zap.Logger, *logEvents) {
	e := &logEvents{lines: make(chan map[string]any, 64)}
	enc := zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig())
	return zap.New(zapcore.NewCore(enc, zapcore.Lock(zapcore.AddSync(e)), level)), e
}

// next returns the next line whose message starts with msg, skipping others.
func (e *logEvents) next(t *testing.T, msg string) map[string]any {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case m := <-e.lines:
			if s, _ := m["msg"].(string); strings.HasPrefix(s, msg) {
				return m
			}
		case <-timeout:
			t.Fatalf("no log line %q within 10 s", msg)
		}
	}
}

// stuckInHandler blocks its loop until release is closed: the function the
// blocked-loop warning's stack must name.
func stuckInHandler(entered chan<- struct{}, release <-chan struct{}) {
	close(entered)
	<-release
}

func TestBlockedLoopWarningNamesTheCulprit(t *testing.T) {
	log, events := newLogEvents(zapcore.WarnLevel)
	entered, release := make(chan struct{}), make(chan struct{})
	srv := &net.Server{
		Logger:               log,
		Loops:                2,
		BlockedLoopThreshold: 20 * time.Millisecond,
		Handler: func(c *net.Ctx) net.Result {
			if c.Path() == "/block" {
				net.SetRoute(c, "/block")
				net.SetRequestID(c, "req-7")
				stuckInHandler(entered, release)
			}
			return c.Text(net.StatusOK, "ok")
		},
	}
	net.SetBlockedQuiet(srv, time.Nanosecond)
	addr := startServer(t, srv)
	hc := client(t)
	done := make(chan string, 1)
	go func() {
		_, _, body := get(t, hc, "http://"+addr+"/block")
		done <- body
	}()
	<-entered
	w := events.next(t, "event loop blocked")
	// The other loop keeps serving meanwhile, on a new connection.
	other := client(t)
	if code, _, _ := get(t, other, "http://"+addr+"/fast"); code != 200 {
		t.Fatalf("GET /fast while a loop is blocked: %d", code)
	}
	close(release)
	if body := <-done; body != "ok" {
		t.Fatalf("blocked request answered %q", body)
	}
	end := events.next(t, "event loop unblocked")

	for k, want := range map[string]any{"level": "warn", "running": "request", "route": "/block", "request_id": "req-7"} {
		if w[k] != want {
			t.Errorf("warning field %s = %v, want %v (line %v)", k, w[k], want, w)
		}
	}
	loop, ok := w["loop"].(float64)
	if !ok || loop < 0 || loop > 1 {
		t.Errorf("warning's loop = %v, want 0 or 1", w["loop"])
	}
	if d, _ := w["for"].(float64); d < 0.020 {
		t.Errorf("warning's for = %v s, want at least the 20ms threshold", w["for"])
	}
	stack, _ := w["stack"].(string)
	if !strings.Contains(stack, "net_test.stuckInHandler") || !strings.HasPrefix(stack, "goroutine ") {
		t.Errorf("warning's stack does not show the loop goroutine in the handler:\n%s", stack)
	}
	if strings.Contains(stack, "TestBlockedLoopWarningNamesTheCulprit(") {
		t.Errorf("warning's stack holds the test goroutine too:\n%s", stack)
	}
	if end["loop"] != w["loop"] {
		t.Errorf("end line's loop = %v, want %v", end["loop"], w["loop"])
	}
	if d, _ := end["blocked for"].(float64); d < w["for"].(float64) {
		t.Errorf("end line's total %v s is less than the warning's %v s", end["blocked for"], w["for"])
	}
	var st net.ServerStats
	srv.Stats(&st)
	var blocked uint64
	for _, l := range st.Loops {
		blocked += l.Blocked
	}
	if blocked != 1 {
		t.Errorf("Stats: %d blocked episodes, want 1", blocked)
	}
	select {
	case m := <-events.lines:
		t.Errorf("unexpected log line after the episode: %v", m)
	default:
	}
}

func TestBlockedLoopQuietDuringStartup(t *testing.T) {
	log, events := newLogEvents(zapcore.WarnLevel)
	entered, release := make(chan struct{}), make(chan struct{})
	srv := &net.Server{
		Logger:               log,
		BlockedLoopThreshold: 5 * time.Millisecond,
		Handler: func(c *net.Ctx) net.Result {
			stuckInHandler(entered, release)
			return c.Text(net.StatusOK, "ok")
		},
	}
	net.SetBlockedQuiet(srv, time.Hour)
	addr := startServer(t, srv)
	done := make(chan struct{})
	go func() { get(t, client(t), "http://"+addr+"/"); close(done) }()
	<-entered
	// Wait until the watchdog has seen the loop busy for many thresholds:
	// its samples are counted in Stats.
	var st net.ServerStats
	for busy := uint64(0); busy < 50; {
		time.Sleep(time.Millisecond)
		srv.Stats(&st)
		busy = 0
		for _, l := range st.Loops {
			busy += l.BusySamples
		}
	}
	close(release)
	<-done
	for _, l := range st.Loops {
		if l.Blocked != 0 {
			t.Errorf("loop %d: %d episodes reported during start-up", l.ID, l.Blocked)
		}
	}
	select {
	case m := <-events.lines:
		t.Errorf("logged during start-up: %v", m)
	default:
	}
}

func TestBlockedLoopOff(t *testing.T) {
	log, events := newLogEvents(zapcore.WarnLevel)
	entered, release := make(chan struct{}), make(chan struct{})
	srv := &net.Server{
		Logger:               log,
		BlockedLoopThreshold: -1,
		Handler: func(c *net.Ctx) net.Result {
			stuckInHandler(entered, release)
			return c.Text(net.StatusOK, "ok")
		},
	}
	net.SetBlockedQuiet(srv, time.Nanosecond)
	addr := startServer(t, srv)
	done := make(chan struct{})
	go func() { get(t, client(t), "http://"+addr+"/"); close(done) }()
	<-entered
	var st net.ServerStats
	for busy := uint64(0); busy < 30; {
		time.Sleep(time.Millisecond)
		srv.Stats(&st)
		busy = 0
		for _, l := range st.Loops {
			busy += l.BusySamples
		}
	}
	close(release)
	<-done
	select {
	case m := <-events.lines:
		t.Errorf("logged with the detector off: %v", m)
	default:
	}
}
