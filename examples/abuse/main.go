// Command abuse drives a running weft server (or any HTTP/1.1 server) with
// hostile or demanding clients and reports what the server did. It is how
// docs/operations.md measures memory under abuse and shutdown under load:
//
//	abuse flood    -addr 127.0.0.1:8080 -pid PID   # a client pipelines 10,000 16 KiB
//	                                               # requests and never reads; RSS and
//	                                               # another client's latency meanwhile
//	abuse shutdown -addr 127.0.0.1:8080 -pid PID   # keep-alive load, SIGTERM mid-run:
//	                                               # complete, truncated and unanswered
//	                                               # requests, and how long the exit took
//
// The server must serve GET /plaintext (the benchserver does). Send traffic
// only to servers you run.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: abuse flood|shutdown -addr host:port -pid PID")
		os.Exit(2)
	}
	fs := flag.NewFlagSet(os.Args[1], flag.ExitOnError)
	addr := fs.String("addr", "127.0.0.1:8080", "server address")
	pid := fs.Int("pid", 0, "server process id (RSS sampling, SIGTERM)")
	n := fs.Int("n", 10000, "flood: pipelined requests")
	size := fs.Int("size", 16<<10, "flood: body bytes per request")
	conns := fs.Int("c", 64, "shutdown: connections")
	after := fs.Duration("after", time.Second, "shutdown: load before SIGTERM")
	deadline := fs.Duration("deadline", 5*time.Second, "shutdown: the server's shutdown deadline")
	_ = fs.Parse(os.Args[2:])
	switch os.Args[1] {
	case "flood":
		flood(*addr, *pid, *n, *size)
	case "shutdown":
		shutdown(*addr, *pid, *conns, *after, *deadline)
	default:
		fmt.Fprintln(os.Stderr, "unknown command", os.Args[1])
		os.Exit(2)
	}
}

// rssKiB reads a process's resident set size.
func rssKiB(pid int) int {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			v, _ := strconv.Atoi(f[1])
			return v
		}
	}
	return -1
}

func flood(addr string, pid, n, size int) {
	base := rssKiB(pid)
	var peak atomic.Int64
	stop := make(chan struct{})
	go func() { // sample RSS every 50 ms
		for {
			if r := int64(rssKiB(pid)); r > peak.Load() {
				peak.Store(r)
			}
			select {
			case <-stop:
				return
			case <-time.After(50 * time.Millisecond):
			}
		}
	}()
	// The flooding client: one connection, n pipelined POSTs, never reads.
	c, err := net.Dial("tcp", addr)
	if err != nil {
		fmt.Println("dial:", err)
		os.Exit(1)
	}
	_ = c.(*net.TCPConn).SetReadBuffer(4 << 10)
	req := []byte(fmt.Sprintf("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s", size, strings.Repeat("b", size)))
	var sent atomic.Int64
	floodDone := make(chan error, 1)
	go func() {
		_ = c.SetWriteDeadline(time.Now().Add(20 * time.Second))
		for range n {
			if _, err := c.Write(req); err != nil {
				floodDone <- err
				return
			}
			sent.Add(1)
		}
		floodDone <- nil
	}()
	// A normal client meanwhile: one request every 20 ms on a keep-alive
	// connection.
	cl := &http.Client{Timeout: 5 * time.Second}
	var lat []time.Duration
	failures := 0
	end := time.Now().Add(5 * time.Second)
	for time.Now().Before(end) {
		t0 := time.Now()
		resp, err := cl.Get("http://" + addr + "/plaintext")
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			lat = append(lat, time.Since(t0))
		} else {
			failures++
		}
		time.Sleep(20 * time.Millisecond)
	}
	var ferr error
	select {
	case ferr = <-floodDone:
	case <-time.After(time.Second):
		ferr = fmt.Errorf("still writing (blocked: the server stopped reading)")
	}
	c.Close()
	time.Sleep(300 * time.Millisecond)
	close(stop)
	slices.Sort(lat)
	q := func(p float64) time.Duration {
		if len(lat) == 0 {
			return 0
		}
		return lat[min(int(p*float64(len(lat))), len(lat)-1)]
	}
	fmt.Printf("flood: %d of %d requests of %d bytes written (%.1f MiB); writer ended with: %v\n",
		sent.Load(), n, size, float64(sent.Load())*float64(len(req))/(1<<20), ferr)
	fmt.Printf("server RSS: %d KiB before, %d KiB peak (+%.1f MiB), %d KiB after\n",
		base, peak.Load(), float64(peak.Load()-int64(base))/1024, rssKiB(pid))
	fmt.Printf("other client: %d requests, %d failed, latency p50 %v p99 %v max %v\n",
		len(lat), failures, q(0.5), q(0.99), q(1))
}

func shutdown(addr string, pid, conns int, after, deadline time.Duration) {
	var complete, truncated, unanswered, refused atomic.Int64
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				c, err := net.Dial("tcp", addr)
				if err != nil {
					refused.Add(1)
					select {
					case <-stop:
						return
					case <-time.After(10 * time.Millisecond):
					}
					continue
				}
				serveConn(c, &complete, &truncated, &unanswered, stop)
				c.Close()
			}
		}()
	}
	time.Sleep(after)
	t0 := time.Now()
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
		fmt.Println("kill:", err)
		os.Exit(1)
	}
	// Wait for the process to exit (a zombie has exited; its parent has
	// just not reaped it yet).
	for running(pid) && time.Since(t0) < deadline+5*time.Second {
		time.Sleep(5 * time.Millisecond)
	}
	exit := time.Since(t0)
	close(stop)
	wg.Wait()
	fmt.Printf("shutdown under load (%d connections): %d responses complete, %d truncated, %d requests unanswered (sent on a connection the server closed before reading them), %d dials refused after SIGTERM\n",
		conns, complete.Load(), truncated.Load(), unanswered.Load(), refused.Load())
	fmt.Printf("process exited %v after SIGTERM (deadline %v)\n", exit.Round(time.Millisecond), deadline)
}

// running reports whether a process exists and has not exited.
func running(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return false
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "State:") {
			return !strings.Contains(line, "Z")
		}
	}
	return true
}

// serveConn sends GET /plaintext requests one at a time on c until the
// server closes it, classifying each request.
func serveConn(c net.Conn, complete, truncated, unanswered *atomic.Int64, stop <-chan struct{}) {
	br := bufio.NewReader(c)
	cr := &countingReader{r: br}
	for {
		select {
		case <-stop:
			return
		default:
		}
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		if _, err := io.WriteString(c, "GET /plaintext HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
			unanswered.Add(1)
			return
		}
		cr.n = 0
		resp, err := http.ReadResponse(bufio.NewReader(cr), nil)
		if err != nil {
			if cr.n == 0 {
				unanswered.Add(1) // closed before a byte of a response
			} else {
				truncated.Add(1)
			}
			return
		}
		body, err := io.ReadAll(resp.Body)
		if err != nil || string(body) != "Hello, World!" {
			truncated.Add(1)
			return
		}
		complete.Add(1)
		if resp.Close {
			return
		}
	}
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r *bufio.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	// One byte at a time keeps the outer bufio.Reader from reading ahead
	// into the next response.
	b, err := c.r.ReadByte()
	if err != nil {
		return 0, err
	}
	p[0] = b
	c.n++
	return 1, nil
}
