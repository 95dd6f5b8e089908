package main

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"
	"go.uber.org/goleak"

	"github.com/weftgo/weft/net"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		goleak.IgnoreAnyFunction("github.com/panjf2000/ants/v2.(*goWorker).run.func1"),
		goleak.IgnoreTopFunction("github.com/panjf2000/ants/v2.(*poolCommon).purgeStaleWorkers"),
		goleak.IgnoreTopFunction("github.com/panjf2000/ants/v2.(*poolCommon).ticktock"),
	)
}

// serve starts the chat on addr; hits gets a value for each /ws request.
func serve(t *testing.T, addr string, hits chan<- struct{}) *net.Server {
	t.Helper()
	h := handler(newRoom())
	srv := &net.Server{Addr: addr, Handler: func(c *net.Ctx) net.Result {
		if c.Path() == "/ws" && hits != nil {
			select {
			case hits <- struct{}{}:
			default:
			}
		}
		return h(c)
	}}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	return srv
}

func shutdown(t *testing.T, srv *net.Server) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		t.Error(err)
	}
}

// TestRoom checks broadcast to every member, history for newcomers, and
// close 1001 when the server shuts down.
func TestRoom(t *testing.T) {
	srv := serve(t, "127.0.0.1:0", nil)
	url := "ws://" + srv.ListenAddr().String() + "/ws"
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	dial := func() *websocket.Conn {
		c, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{Subprotocols: []string{"chat.v1"}})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	read := func(c *websocket.Conn) chatMessage {
		_, b, err := c.Read(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var m chatMessage
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	a, b := dial(), dial()
	defer a.CloseNow()
	defer b.CloseNow()
	if err := a.Write(ctx, websocket.MessageText, []byte(`{"name":"ann","text":"hi"}`)); err != nil {
		t.Fatal(err)
	}
	for _, c := range []*websocket.Conn{a, b} {
		if m := read(c); m.Name != "ann" || m.Text != "hi" {
			t.Fatalf("got %+v", m)
		}
	}
	late := dial()
	defer late.CloseNow()
	if m := read(late); m.Text != "hi" {
		t.Fatalf("history: %+v", m)
	}
	go shutdown(t, srv)
	_, _, err := a.Read(ctx)
	if got := websocket.CloseStatus(err); got != websocket.StatusGoingAway {
		t.Fatalf("on shutdown: %v (%v), want 1001", got, err)
	}
}

// TestBrowserReconnects opens the page in headless Chromium, restarts the
// server on the same address, and waits for the page to connect again.
func TestBrowserReconnects(t *testing.T) {
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("chromium not found, and CI=true")
		}
		t.Skip("chromium not found")
	}
	hits := make(chan struct{}, 1)
	srv := serve(t, "127.0.0.1:0", hits)
	addr := srv.ListenAddr().String()
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
		"--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir="+t.TempDir(), "--remote-debugging-port=0", "http://"+addr+"/")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cancel()
		cmd.Wait()
	}()
	wait := func(what string) {
		select {
		case <-hits:
		case <-ctx.Done():
			t.Fatalf("page did not %s", what)
		}
	}
	wait("connect")
	shutdown(t, srv)
	srv2 := serve(t, addr, hits)
	defer shutdown(t, srv2)
	wait("reconnect after the restart")
}
