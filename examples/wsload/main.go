// Command wsload measures a WebSocket echo server from outside, for
// docs/websocket.md: echo messages per second, latency percentiles and the
// server's CPU per message with N clients, or the server's memory per idle
// session. It speaks to any server (weft's benchserver, the gorilla and
// Node peers in peers/), so that all are measured the same way.
//
//	go run ./examples/wsload -url ws://127.0.0.1:8080/ws -clients 64 -size 64 -duration 20s -pid $SERVER_PID
//	go run ./examples/wsload -url ws://127.0.0.1:8080/ws -idle 10000 -pid $SERVER_PID
//
// With -pid it reads the server's CPU time and resident memory from /proc
// (Linux). It sends only to the address given; run it against 127.0.0.1.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"
)

func main() {
	url := flag.String("url", "ws://127.0.0.1:8080/ws", "the echo endpoint")
	clients := flag.Int("clients", 64, "concurrent clients, each with one message in flight")
	size := flag.Int("size", 64, "message size in bytes")
	duration := flag.Duration("duration", 10*time.Second, "how long to measure")
	deflate := flag.Bool("deflate", false, "offer permessage-deflate (no context takeover)")
	idle := flag.Int("idle", 0, "instead: open this many idle sessions and report the server's memory per session")
	pid := flag.Int("pid", 0, "the server's process id, to read its CPU time and memory from /proc")
	flag.Parse()
	mode := websocket.CompressionDisabled
	if *deflate {
		mode = websocket.CompressionNoContextTakeover
	}
	if *idle > 0 {
		idleRun(*url, *idle, mode, *pid)
		return
	}
	echoRun(*url, *clients, *size, *duration, mode, *pid)
}

func dial(ctx context.Context, url string, mode websocket.CompressionMode) *websocket.Conn {
	c, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{CompressionMode: mode})
	if err != nil {
		log.Fatalf("dial %s: %v", url, err)
	}
	c.SetReadLimit(64 << 20)
	return c
}

func echoRun(url string, clients, size int, d time.Duration, mode websocket.CompressionMode, pid int) {
	ctx := context.Background()
	conns := make([]*websocket.Conn, clients)
	for i := range conns {
		conns[i] = dial(ctx, url, mode)
	}
	msg := []byte(strings.Repeat("weft echo ", size/10+1)[:size])
	var mu sync.Mutex
	var lat []time.Duration
	cpu0 := cpuTime(pid)
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	for _, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			local := make([]time.Duration, 0, 1<<16)
			for time.Now().Before(deadline) {
				start := time.Now()
				if err := c.Write(ctx, websocket.MessageBinary, msg); err != nil {
					log.Fatal(err)
				}
				if _, _, err := c.Read(ctx); err != nil {
					log.Fatal(err)
				}
				local = append(local, time.Since(start))
			}
			mu.Lock()
			lat = append(lat, local...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	cpu := cpuTime(pid) - cpu0
	for _, c := range conns {
		c.Close(websocket.StatusNormalClosure, "")
	}
	slices.Sort(lat)
	n := len(lat)
	if n == 0 {
		log.Fatal("no message echoed")
	}
	fmt.Printf("clients=%d size=%d deflate=%v duration=%v\n", clients, size, mode != websocket.CompressionDisabled, d)
	fmt.Printf("echo: %.0f msg/s, p50 %v, p99 %v, max %v\n", float64(n)/d.Seconds(), lat[n/2], lat[n*99/100], lat[n-1])
	if pid > 0 {
		fmt.Printf("server CPU: %v, %.2f µs per message\n", cpu, float64(cpu.Microseconds())/float64(n))
	}
}

func idleRun(url string, n int, mode websocket.CompressionMode, pid int) {
	ctx := context.Background()
	before := rss(pid)
	conns := make([]*websocket.Conn, n)
	for i := range conns {
		conns[i] = dial(ctx, url, mode)
		// One message each, so that every session has been used once.
		if err := conns[i].Write(ctx, websocket.MessageText, []byte("hello")); err != nil {
			log.Fatal(err)
		}
		if _, _, err := conns[i].Read(ctx); err != nil {
			log.Fatal(err)
		}
	}
	time.Sleep(2 * time.Second) // let the server settle (GC) before reading its memory
	after := rss(pid)
	fmt.Printf("%d idle sessions, deflate=%v\n", n, mode != websocket.CompressionDisabled)
	if pid > 0 {
		fmt.Printf("server RSS: %d KiB before, %d KiB after: %.0f bytes per session\n", before>>10, after>>10, float64(after-before)/float64(n))
	}
	for _, c := range conns {
		c.CloseNow()
	}
}

// cpuTime returns the process's user+system CPU time, from /proc/pid/stat.
func cpuTime(pid int) time.Duration {
	if pid <= 0 {
		return 0
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		log.Fatal(err)
	}
	// Fields after the command name (which is in parentheses).
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	const hz = 100 // USER_HZ on Linux
	return time.Duration(utime+stime) * time.Second / hz
}

// rss returns the process's resident memory in bytes, from
// /proc/pid/status.
func rss(pid int) int64 {
	if pid <= 0 {
		return 0
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		log.Fatal(err)
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.Fields(v)[0], 10, 64)
			return kb << 10
		}
	}
	return 0
}
