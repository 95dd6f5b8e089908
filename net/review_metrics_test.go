package net_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap/zapcore"

	"github.com/weftgo/weft/net"
	"github.com/weftgo/weft/runtime"
)

// A handler is not only run from OnTraffic: the request after a pending
// one (a full pipeline) is dispatched by a service task once the first is
// answered. Blocking there is still a request, and the warning must name it.
func TestBlockedLoopWarningNamesARequestDispatchedByATask(t *testing.T) {
	log, events := newLogEvents(zapcore.WarnLevel)
	firstIn, firstGo := make(chan struct{}), make(chan struct{})
	entered, release := make(chan struct{}), make(chan struct{})
	srv := &net.Server{
		Logger:               log,
		MaxPipelined:         1,
		BlockedLoopThreshold: 20 * time.Millisecond,
		Handler: func(c *net.Ctx) net.Result {
			switch c.Path() {
			case "/first":
				close(firstIn)
				f := runtime.Blocking(c, func(context.Context) (struct{}, error) {
					<-firstGo
					return struct{}{}, nil
				})
				return runtime.Then(c, f, func(struct{}) net.Result { return c.Text(net.StatusOK, "first") })
			case "/block":
				net.SetRoute(c, "/block")
				net.SetRequestID(c, "req-9")
				stuckInHandler(entered, release)
			}
			return c.Text(net.StatusOK, "ok")
		},
	}
	net.SetBlockedQuiet(srv, time.Nanosecond)
	addr := startServer(t, srv)
	var once sync.Once
	unblock := func() { once.Do(func() { close(release) }) }
	t.Cleanup(unblock) // before Shutdown, even on failure
	rc := dial(t, addr)
	// One write: the second request waits in the buffer behind the first.
	rc.send("GET /first HTTP/1.1\r\nHost: x\r\n\r\nGET /block HTTP/1.1\r\nHost: x\r\n\r\n")
	<-firstIn
	close(firstGo)
	<-entered
	w := events.next(t, "event loop blocked")
	unblock()
	for _, want := range []string{"first", "ok"} {
		if _, body := rc.read("GET"); body != want {
			t.Fatalf("got %q, want %q", body, want)
		}
	}
	events.next(t, "event loop unblocked")
	for k, want := range map[string]any{"running": "request", "route": "/block", "request_id": "req-9"} {
		if w[k] != want {
			t.Errorf("warning field %s = %v, want %v (line %v)", k, w[k], want, w)
		}
	}
}

// A malformed request behind a pending one is answered 400 after it, in
// order. It must not be taken for a request still arriving: the sweep must
// neither count a 408 for it nor close the connection on the pending
// request's answer.
func TestRejectedRequestBehindAPendingOneIsNotTimedOut(t *testing.T) {
	log, events := newLogEvents(zapcore.DebugLevel)
	firstIn, firstGo := make(chan struct{}), make(chan struct{})
	srv := &net.Server{
		Logger:            log,
		ReadHeaderTimeout: time.Nanosecond, // every sweep finds a request still arriving overdue
		Handler: func(c *net.Ctx) net.Result {
			close(firstIn)
			f := runtime.Blocking(c, func(context.Context) (struct{}, error) {
				<-firstGo
				return struct{}{}, nil
			})
			return runtime.Then(c, f, func(struct{}) net.Result { return c.Text(net.StatusOK, "first") })
		},
	}
	net.SetTick(srv, 5*time.Millisecond)
	addr := startServer(t, srv)
	rc := dial(t, addr)
	rc.send("GET /first HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\nContent-Length: nope\r\n\r\n")
	<-firstIn
	if line := events.next(t, "request refused before any handler"); line["status"] != float64(400) {
		t.Fatalf("refused with %v, want 400", line["status"])
	}
	// Let the sweep look at the connection a few times while the first
	// request is pending.
	for s0 := net.Sweeps(srv); net.Sweeps(srv) < s0+4; {
		time.Sleep(time.Millisecond)
	}
	close(firstGo)
	if resp, body := rc.read("GET"); resp.StatusCode != 200 || body != "first" {
		t.Fatalf("first request: %d %q, want 200 first", resp.StatusCode, body)
	}
	if resp, _ := rc.read("GET"); resp.StatusCode != 400 {
		t.Fatalf("malformed request: %d, want 400", resp.StatusCode)
	}
	rc.expectClosed()
	if n := refusedCount(srv, 408); n != 0 {
		t.Errorf("Stats: %d requests refused with 408, want 0 (the only refusal was the 400)", n)
	}
	if n := refusedCount(srv, 400); n != 1 {
		t.Errorf("Stats: %d requests refused with 400, want 1", n)
	}
}

// Stats says it describes no loop after the server stopped.
func TestStatsAfterShutdownDescribesNoLoop(t *testing.T) {
	srv := &net.Server{Addr: "127.0.0.1:0", Loops: 2, Handler: func(c *net.Ctx) net.Result { return c.Text(200, "ok") }}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	var st net.ServerStats
	srv.Stats(&st)
	if len(st.Loops) != 2 {
		t.Fatalf("running: Stats describes %d loops, want 2", len(st.Loops))
	}
	if err := srv.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	srv.Stats(&st)
	if len(st.Loops) != 0 || st.Conns != 0 {
		t.Fatalf("after Shutdown: Stats describes %d loops and %d connections, want none", len(st.Loops), st.Conns)
	}
}

// A loop that blocks during start-up and is still blocked well after it is
// not warming up: it is stuck (a first request that deadlocks), and the
// warning must come once the quiet time is over.
func TestBlockedLoopFromStartupIsReportedAfterIt(t *testing.T) {
	log, events := newLogEvents(zapcore.WarnLevel)
	entered, release := make(chan struct{}), make(chan struct{})
	srv := &net.Server{
		Logger:               log,
		BlockedLoopThreshold: 5 * time.Millisecond,
		Handler: func(c *net.Ctx) net.Result {
			net.SetRoute(c, "/stuck")
			stuckInHandler(entered, release)
			return c.Text(net.StatusOK, "ok")
		},
	}
	net.SetBlockedQuiet(srv, time.Hour)
	addr := startServer(t, srv)
	var once sync.Once
	unblock := func() { once.Do(func() { close(release) }) }
	done := make(chan struct{})
	t.Cleanup(func() { unblock(); <-done }) // before Shutdown, even on failure
	go func() {
		defer close(done)
		if resp, err := client(t).Get("http://" + addr + "/"); err == nil {
			resp.Body.Close()
		}
	}()
	<-entered
	// The watchdog sees the loop busy for many thresholds while quiet.
	var st net.ServerStats
	for busy := uint64(0); busy < 50; {
		time.Sleep(time.Millisecond)
		srv.Stats(&st)
		busy = 0
		for _, l := range st.Loops {
			busy += l.BusySamples
		}
	}
	net.EndBlockedQuiet(srv)
	w := events.next(t, "event loop blocked")
	unblock()
	<-done
	events.next(t, "event loop unblocked")
	if w["route"] != "/stuck" {
		t.Errorf("warning %v, want route /stuck", w)
	}
}
