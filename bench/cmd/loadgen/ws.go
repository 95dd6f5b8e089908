package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

// dialer returns a gorilla/websocket dialer, offering permessage-deflate
// when compress is set.
func dialer(compress bool) *websocket.Dialer {
	return &websocket.Dialer{
		HandshakeTimeout:  10 * time.Second,
		ReadBufferSize:    4096,
		WriteBufferSize:   4096,
		EnableCompression: compress,
	}
}

// errNoWebSocket is what wsCheck reports for a server without the route.
var errNoWebSocket = errors.New("no WebSocket endpoint")

// wsCheck makes one echo exchange; it exits 3 when the server answers the
// upgrade with 404 or 405 (the route is not served), 1 on any other failure.
func wsCheck(args []string) error {
	fs := newFlags("wscheck")
	rawURL := fs.String("url", "", "a ws:// URL")
	fs.Parse(args)
	if _, err := checkLoopback(*rawURL); err != nil {
		return err
	}
	c, resp, err := dialer(false).Dial(*rawURL, nil)
	if err != nil {
		if resp != nil && (resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusMethodNotAllowed) {
			out("absent", resp.StatusCode)
			return errNoWebSocket
		}
		return err
	}
	defer c.Close()
	for _, m := range []struct {
		typ  int
		data []byte
	}{{websocket.TextMessage, []byte("echo-check-42")}, {websocket.BinaryMessage, []byte{0, 1, 2, 255}}} {
		if err := c.WriteMessage(m.typ, m.data); err != nil {
			return err
		}
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		typ, got, err := c.ReadMessage()
		if err != nil {
			return err
		}
		if typ != m.typ || !bytes.Equal(got, m.data) {
			return fmt.Errorf("echo of type %d %q came back as type %d %q", m.typ, m.data, typ, got)
		}
	}
	out("ok", true)
	return nil
}

// wsEcho runs -clients sessions, each sending a -size message and waiting
// for its echo in a loop: -warmup, then -d measured.
func wsEcho(args []string) error {
	fs := newFlags("ws")
	rawURL := fs.String("url", "", "a ws:// URL")
	clients := fs.Int("clients", 64, "sessions")
	size := fs.Int("size", 64, "message size in bytes (binary)")
	warmup := fs.Duration("warmup", time.Second, "warm-up, not measured")
	dur := fs.Duration("d", 5*time.Second, "measured duration")
	compress := fs.Bool("compress", false, "offer permessage-deflate")
	pid := fs.Int("pid", 0, "server PID: RSS and CPU")
	fs.Parse(args)
	if _, err := checkLoopback(*rawURL); err != nil {
		return err
	}
	conns := make([]*websocket.Conn, *clients)
	for i := range conns {
		c, _, err := dialer(*compress).Dial(*rawURL, nil)
		if err != nil {
			for _, c := range conns[:i] {
				c.Close()
			}
			return fmt.Errorf("session %d: %w", i, err)
		}
		conns[i] = c
	}
	srv, err := watch(*pid)
	if err != nil {
		return err
	}
	msg := bytes.Repeat([]byte("weft echo "), *size/10+1)[:*size] // compressible, like most real traffic
	var (
		measuring atomic.Bool
		stop      atomic.Bool
		count     atomic.Int64
		mu        sync.Mutex
		lat       durations
		firstErr  atomic.Value
		wg        sync.WaitGroup
	)
	for _, c := range conns {
		wg.Go(func() {
			var mine durations
			defer func() {
				mu.Lock()
				lat = append(lat, mine...)
				mu.Unlock()
			}()
			// The echo is read into one buffer per session: ReadMessage
			// (io.ReadAll) allocated about twice the message each time,
			// and the client's own GC, running several times a second
			// at 16 KiB, landed in every server's p99.
			got := make([]byte, len(msg)+1)
			for !stop.Load() {
				t0 := time.Now()
				if err := c.WriteMessage(websocket.BinaryMessage, msg); err != nil {
					firstErr.CompareAndSwap(nil, err.Error())
					return
				}
				c.SetReadDeadline(time.Now().Add(10 * time.Second))
				typ, n, err := readMessageInto(c, got)
				if err != nil {
					firstErr.CompareAndSwap(nil, err.Error())
					return
				}
				if typ != websocket.BinaryMessage || n != len(msg) {
					firstErr.CompareAndSwap(nil, fmt.Sprintf("echo of %d bytes came back as type %d, %d bytes", len(msg), typ, n))
					return
				}
				if measuring.Load() {
					count.Add(1)
					mine = append(mine, time.Since(t0))
				}
			}
		})
	}
	time.Sleep(*warmup)
	measuring.Store(true)
	srv.startCPU()
	n0 := count.Load()
	t0 := time.Now()
	time.Sleep(*dur)
	n := count.Load() - n0
	el := time.Since(t0)
	srv.reportCPU("server_cpu_us_per_message", n)
	measuring.Store(false)
	stop.Store(true)
	for _, c := range conns {
		c.SetReadDeadline(time.Now()) // unblock a reader whose echo will not come
	}
	wg.Wait()
	for _, c := range conns {
		c.Close()
	}
	srv.stop()
	out("clients", *clients)
	out("size", *size)
	out("messages", n)
	out("messages_per_s", fmt.Sprintf("%.0f", float64(n)/el.Seconds()))
	out("rtt_p50_ms", ms(lat.percentile(50)))
	out("rtt_p99_ms", ms(lat.percentile(99)))
	if e := firstErr.Load(); e != nil && !stop.Load() {
		return fmt.Errorf("%s", e)
	}
	return nil
}

// readMessageInto reads the next data message into buf and returns its
// type and length; a message longer than buf is read to its end and
// reported as len(buf)+1 bytes or more, without keeping the rest.
func readMessageInto(c *websocket.Conn, buf []byte) (int, int, error) {
	typ, r, err := c.NextReader()
	if err != nil {
		return 0, 0, err
	}
	n, err := io.ReadFull(r, buf)
	switch {
	case err == io.ErrUnexpectedEOF || err == io.EOF:
		return typ, n, nil
	case err != nil:
		return typ, n, err
	}
	rest, err := io.Copy(io.Discard, r) // longer than buf
	return typ, n + int(rest), err
}

// wsIdle opens -n sessions (64 dialing at a time), makes one echo on each,
// and holds them: the server's RSS growth per session.
func wsIdle(args []string) error {
	fs := newFlags("wsidle")
	rawURL := fs.String("url", "", "a ws:// URL")
	n := fs.Int("n", 10000, "sessions")
	compress := fs.Bool("compress", false, "offer permessage-deflate")
	settle := fs.Duration("settle", time.Second, "wait before reading RSS once every session is open")
	pid := fs.Int("pid", 0, "server PID: RSS")
	fs.Parse(args)
	if _, err := checkLoopback(*rawURL); err != nil {
		return err
	}
	srv, err := watch(*pid)
	if err != nil {
		return err
	}
	var (
		mu       sync.Mutex
		conns    []*websocket.Conn
		failed   atomic.Int64
		firstErr atomic.Value
		wg       sync.WaitGroup
	)
	sem := make(chan struct{}, 64)
	for range *n {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			c, _, err := dialer(*compress).Dial(*rawURL, nil)
			if err == nil {
				if err = c.WriteMessage(websocket.TextMessage, []byte("hello")); err == nil {
					c.SetReadDeadline(time.Now().Add(10 * time.Second))
					_, _, err = c.ReadMessage()
					c.SetReadDeadline(time.Time{})
				}
			}
			if err != nil {
				failed.Add(1)
				firstErr.CompareAndSwap(nil, err.Error())
				if c != nil {
					c.Close()
				}
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		})
	}
	wg.Wait()
	time.Sleep(*settle)
	var held int64
	if *pid != 0 {
		held, _ = rssKiB(*pid)
	}
	srv.stop()
	out("sessions", len(conns))
	out("failed", failed.Load())
	if *pid != 0 && len(conns) > 0 {
		out("rss_held_kib", held)
		out("kib_per_session", fmt.Sprintf("%.2f", float64(held-srv.before)/float64(len(conns))))
	}
	for _, c := range conns {
		c.Close()
	}
	if e := firstErr.Load(); e != nil {
		return fmt.Errorf("%d of %d sessions failed, first: %s", failed.Load(), *n, e)
	}
	return nil
}
