package net

import (
	"bufio"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

// TestReview6MemServerUnreadOutputAcrossASweep (8921fda, e12085a):
// noteAckedOnLoop runs on every sweep while output waits in the
// connection's buffer and asks TCP_INFO of cn.gc.Fd(). A MemServer's
// connection (memPipe) embeds a nil gnet.Conn and has no Fd of its own: all
// its output waits in p.out until the client reads, so the first sweep that
// finds a response unread calls Fd on a nil interface and panics inside the
// serviceTask (recovered by runTaskOnLoop, which logs it): the pass is cut
// short with cn.inPass still true, and the other connections on the ready
// list are dropped with queued still set.
func TestReview6MemServerUnreadOutputAcrossASweep(t *testing.T) {
	core, logs := observer.New(zapcore.ErrorLevel)
	body := strings.Repeat("x", 4096)
	srv := &Server{
		Loops:  1,
		Logger: zap.New(core),
		Handler: func(c *Ctx) Result {
			return c.Text(StatusOK, body)
		},
	}
	srv.tick = 5 * time.Millisecond
	m, err := NewMemServer(srv)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	conn, err := m.Dial(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := io.WriteString(conn, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	// Let sweeps run while the answer sits unread (events: the loop's
	// sweep count, then a task behind them).
	var l *loop
	m.st.forEachLoop(func(x *loop) { l = x })
	for {
		var ws int64
		onLoop(t, l, func() {
			for _, cn := range l.conns {
				ws = cn.writeStart
			}
		})
		if ws != 0 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	start := l.sweeps.Load()
	for l.sweeps.Load() < start+3 {
		time.Sleep(time.Millisecond)
	}
	onLoop(t, l, func() {})
	onLoop(t, l, func() {})
	for _, e := range logs.All()[:min(1, logs.Len())] {
		t.Errorf("logged %q: %v\n%s", e.Message, e.ContextMap()["panic"], firstLines(e.ContextMap()["stack"], 12))
	}
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(res.Body)
	if err != nil || string(got) != body {
		t.Fatalf("%d bytes, %v", len(got), err)
	}
}

func firstLines(v any, n int) string {
	s, _ := v.(string)
	ls := strings.SplitN(s, "\n", n+1)
	if len(ls) > n {
		ls = ls[:n]
	}
	return strings.Join(ls, "\n")
}
