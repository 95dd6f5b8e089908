package net_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	stdnet "net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/weftgo/weft/net"
)

// TestEMFILE runs a server in a child process whose open-files limit is 64,
// then opens 150 connections: the server runs out of descriptors. It must
// keep serving the connections it has, never stop, and serve the others
// once some close.
func TestEMFILE(t *testing.T) {
	if os.Getenv("WEFT_EMFILE_CHILD") == "1" {
		emfileChild()
		return
	}
	if testing.Short() {
		t.Skip("starts a child process")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestEMFILE$", "-test.v=false")
	cmd.Env = append(os.Environ(), "WEFT_EMFILE_CHILD=1")
	stdout, _ := cmd.StdoutPipe()
	stdin, _ := cmd.StdinPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { stdin.Close(); cmd.Wait() }()
	out := bufio.NewReader(stdout)
	line, err := out.ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "ADDR ") {
		t.Fatalf("child said %q, %v", line, err)
	}
	addr := strings.TrimSpace(strings.TrimPrefix(line, "ADDR "))

	type client struct {
		c  stdnet.Conn
		br *bufio.Reader
	}
	ask := func(cl client, wait time.Duration) error {
		_ = cl.c.SetDeadline(time.Now().Add(wait))
		if _, err := io.WriteString(cl.c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
			return err
		}
		resp, err := http.ReadResponse(cl.br, nil)
		if err != nil {
			return err
		}
		b, _ := io.ReadAll(resp.Body)
		if string(b) != "ok" {
			return fmt.Errorf("body %q", b)
		}
		return nil
	}
	// 150 connections; the kernel completes every handshake, the server
	// can accept only some (64 descriptors, a dozen already used).
	var all []client
	for range 150 {
		c, err := stdnet.Dial("tcp", addr)
		if err != nil {
			t.Fatalf("dial: %v", err)
		}
		defer c.Close()
		all = append(all, client{c, bufio.NewReader(c)})
	}
	// Every client sends its request at once; those the server accepted
	// are answered, the others wait in the kernel's queue.
	for _, cl := range all {
		if _, err := io.WriteString(cl.c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(500 * time.Millisecond)
	var served, waiting []client
	for _, cl := range all {
		_ = cl.c.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
		if resp, err := http.ReadResponse(cl.br, nil); err == nil {
			io.ReadAll(resp.Body)
			served = append(served, cl)
		} else {
			waiting = append(waiting, cl)
		}
	}
	t.Logf("with 64 descriptors: %d connections served, %d waiting", len(served), len(waiting))
	if len(served) == 0 || len(waiting) == 0 {
		t.Fatalf("served %d, waiting %d: the test did not exhaust descriptors", len(served), len(waiting))
	}
	// The server keeps serving what it has.
	for i, cl := range served {
		if err := ask(cl, 2*time.Second); err != nil {
			t.Fatalf("held connection %d failed while descriptors ran out: %v", i, err)
		}
	}
	// Close the held ones: the waiting connections' requests (already
	// sent) are answered once the server can accept again.
	for _, cl := range served {
		cl.c.Close()
	}
	recovered := 0
	for _, cl := range waiting[:min(20, len(waiting))] {
		_ = cl.c.SetDeadline(time.Now().Add(5 * time.Second))
		resp, err := http.ReadResponse(cl.br, nil)
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			if string(b) == "ok" {
				recovered++
			}
		}
	}
	if recovered == 0 {
		t.Fatal("no waiting connection was served after descriptors were freed")
	}
	t.Logf("after freeing descriptors: %d of %d waiting connections served", recovered, min(20, len(waiting)))
	// Still alive: it must not have reported an engine stop.
	stdin.Close()
	rest, _ := io.ReadAll(out)
	if !strings.Contains(string(rest), "STOPPED weft/net: server closed") {
		t.Fatalf("child ended with %q; want a clean stop on request", rest)
	}
	// Each time it found no descriptor for a connection, the server
	// counted it (weft_connections_rejected_total{reason="descriptors"}).
	var refused int
	_, counts, _ := strings.Cut(string(rest), "REFUSED_FDS ")
	_, err = fmt.Sscanf(counts, "%d", &refused)
	t.Logf("refused for want of descriptors: %d", refused)
	if err != nil || refused == 0 {
		t.Fatalf("child ended with %q; want REFUSED_FDS above 0 (%v)", rest, err)
	}
}

func emfileChild() {
	lim := syscall.Rlimit{Cur: 64, Max: 64}
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		fmt.Println("ERR", err)
		return
	}
	log := zap.New(zapcore.NewCore(zapcore.NewConsoleEncoder(zap.NewDevelopmentEncoderConfig()), os.Stderr, zap.WarnLevel))
	srv := &net.Server{Addr: "127.0.0.1:0", Loops: 2, MaxConns: 1000, Logger: log, Handler: func(c *net.Ctx) net.Result {
		return c.Text(200, "ok")
	}}
	if err := srv.Start(); err != nil {
		fmt.Println("ERR", err)
		return
	}
	fmt.Println("ADDR", srv.ListenAddr())
	stopped := make(chan error, 1)
	go func() { stopped <- srv.Wait() }()
	quit := make(chan struct{})
	go func() { io.Copy(io.Discard, os.Stdin); close(quit) }()
	select {
	case err := <-stopped:
		fmt.Println("STOPPED early:", err)
	case <-quit:
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		fmt.Println("STOPPED", <-stopped)
		var st net.ServerStats
		srv.Stats(&st)
		fmt.Println("REFUSED_FDS", st.RefusedDescriptors)
	}
}
