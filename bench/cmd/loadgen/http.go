package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/weftgo/weft/bench/internal/common"
)

// client returns an HTTP client for one server: no compression, no proxy,
// up to conns connections kept alive.
func client(conns int, timeout time.Duration) *http.Client {
	return &http.Client{
		Timeout: timeout,
		Transport: &http.Transport{
			Proxy:               nil,
			DialContext:         (&net.Dialer{Timeout: 10 * time.Second}).DialContext,
			DisableCompression:  true,
			MaxIdleConns:        conns,
			MaxIdleConnsPerHost: conns,
			MaxConnsPerHost:     conns,
			IdleConnTimeout:     time.Minute,
		},
	}
}

// patternChecker is an io.Writer that checks the /bytes/:n pattern.
type patternChecker struct {
	off int64
	bad error
}

func (p *patternChecker) Write(b []byte) (int, error) {
	n := len(b)
	for len(b) > 0 && p.bad == nil {
		want := common.PatternAt(p.off, len(b))
		k := len(want)
		if i := firstDiff(b[:k], want); i >= 0 {
			p.bad = fmt.Errorf("byte %d is %q, want %q", p.off+int64(i), b[i], want[i])
			break
		}
		p.off += int64(k)
		b = b[k:]
	}
	if p.bad != nil {
		return 0, p.bad
	}
	return n, nil
}

// ReadFrom checks everything r yields.
func (p *patternChecker) ReadFrom(r io.Reader) (int64, error) {
	return io.Copy(struct{ io.Writer }{p}, r)
}

func firstDiff(a, b []byte) int {
	if bytes.Equal(a, b) {
		return -1
	}
	for i := range a {
		if a[i] != b[i] {
			return i
		}
	}
	return len(a)
}

// download GETs a /bytes/:n URL -requests times on one keep-alive
// connection, checking every byte.
func download(args []string) error {
	fs := newFlags("download")
	rawURL := fs.String("url", "", "a /bytes/N URL")
	requests := fs.Int("requests", 1, "GETs, one after another on one connection")
	pid := fs.Int("pid", 0, "server PID: RSS and CPU")
	timeout := fs.Duration("timeout", 5*time.Minute, "timeout of each request")
	fs.Parse(args)
	if _, err := checkLoopback(*rawURL); err != nil {
		return err
	}
	srv, err := watch(*pid)
	if err != nil {
		return err
	}
	c := client(1, *timeout)
	var total int64
	var per durations
	srv.startCPU()
	t0 := time.Now()
	for i := range *requests {
		r0 := time.Now()
		resp, err := c.Get(*rawURL)
		if err != nil {
			srv.stop()
			return fmt.Errorf("request %d: %w", i, err)
		}
		chk := &patternChecker{}
		n, err := io.Copy(chk, resp.Body)
		resp.Body.Close()
		if err == nil && resp.StatusCode != http.StatusOK {
			err = fmt.Errorf("status %d", resp.StatusCode)
		}
		if err == nil && resp.ContentLength >= 0 && n != resp.ContentLength {
			err = fmt.Errorf("%d bytes, Content-Length %d", n, resp.ContentLength)
		}
		if err != nil {
			srv.stop()
			return fmt.Errorf("request %d: %w", i, err)
		}
		total += n
		per = append(per, time.Since(r0))
	}
	el := time.Since(t0)
	srv.reportCPU("server_cpu_us_per_request", int64(*requests))
	srv.stop()
	out("requests", *requests)
	out("bytes", total)
	out("seconds", fmt.Sprintf("%.3f", el.Seconds()))
	out("mib_per_s", fmt.Sprintf("%.1f", float64(total)/(1<<20)/el.Seconds()))
	out("request_p50_ms", ms(per.percentile(50)))
	out("request_max_ms", ms(per.percentile(100)))
	return nil
}

// upload POSTs -bytes bytes of the pattern to a /sha256 URL and checks the
// digest it answers.
func upload(args []string) error {
	fs := newFlags("upload")
	rawURL := fs.String("url", "", "a /sha256 URL")
	size := fs.Int64("bytes", 1<<30, "body size")
	chunked := fs.Bool("chunked", false, "send the body chunked instead of with Content-Length")
	pid := fs.Int("pid", 0, "server PID: RSS and CPU")
	timeout := fs.Duration("timeout", 10*time.Minute, "timeout of the request")
	fs.Parse(args)
	if _, err := checkLoopback(*rawURL); err != nil {
		return err
	}
	srv, err := watch(*pid)
	if err != nil {
		return err
	}
	sum := sha256.New()
	body := io.TeeReader(common.PatternReader(*size), sum)
	req, err := http.NewRequest(http.MethodPost, *rawURL, struct{ io.Reader }{body})
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/octet-stream")
	if !*chunked {
		req.ContentLength = *size
	}
	srv.startCPU()
	t0 := time.Now()
	resp, err := client(1, *timeout).Do(req)
	if err != nil {
		srv.stop()
		return err
	}
	got, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	el := time.Since(t0)
	srv.reportCPU("server_cpu_us", 1)
	srv.stop()
	if err != nil {
		return err
	}
	want := hex.EncodeToString(sum.Sum(nil))
	if resp.StatusCode != http.StatusOK || strings.TrimSpace(string(got)) != want {
		return fmt.Errorf("status %d, body %.80q, want digest %s", resp.StatusCode, got, want)
	}
	out("bytes", *size)
	out("seconds", fmt.Sprintf("%.3f", el.Seconds()))
	out("mib_per_s", fmt.Sprintf("%.1f", float64(*size)/(1<<20)/el.Seconds()))
	return nil
}

// slowRead reads a large body at -rate bytes per second for -for, then
// closes the connection: what a slow reader costs the server. With -pid it
// also prints the server's CPU per GiB read and its minor page faults over
// the reading: at a high rate (the pacedread scenario) the reader keeps the
// socket full, and what the server does with what it cannot send shows.
func slowRead(args []string) error {
	fs := newFlags("slowread")
	rawURL := fs.String("url", "", "a /bytes/N URL, N larger than rate x for")
	rate := fs.Int64("rate", 1<<20, "bytes per second read")
	dur := fs.Duration("for", 10*time.Second, "how long to read")
	pid := fs.Int("pid", 0, "server PID: RSS")
	fs.Parse(args)
	if _, err := checkLoopback(*rawURL); err != nil {
		return err
	}
	srv, err := watch(*pid)
	if err != nil {
		return err
	}
	tr := &http.Transport{
		DisableCompression: true,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
			if tc, ok := c.(*net.TCPConn); ok {
				tc.SetReadBuffer(64 << 10) // a small window: the server, not the kernel, holds the rest
			}
			return c, err
		},
	}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr}).Get(*rawURL)
	if err != nil {
		srv.stop()
		return err
	}
	chk := &patternChecker{}
	buf := make([]byte, 16<<10)
	var n int64
	srv.startCPU()
	var flt0 int64
	if *pid != 0 {
		flt0, _ = minorFaults(*pid)
	}
	t0 := time.Now()
	for time.Since(t0) < *dur {
		want := int64(time.Since(t0).Seconds()*float64(*rate)) + int64(len(buf))
		if n >= want {
			time.Sleep(10 * time.Millisecond)
			continue
		}
		k, err := resp.Body.Read(buf)
		if k > 0 {
			chk.Write(buf[:k])
			n += int64(k)
		}
		if err != nil {
			break
		}
	}
	resp.Body.Close()
	if *pid != 0 && n > 0 {
		out("server_cpu_ms_per_gib", fmt.Sprintf("%.1f", float64(srv.cpuSince().Microseconds())/1e3/(float64(n)/(1<<30))))
		if flt, err := minorFaults(*pid); err == nil {
			out("server_minflt", flt-flt0)
		}
	}
	srv.stop()
	if chk.bad != nil {
		return chk.bad
	}
	out("bytes_read", n)
	out("seconds", fmt.Sprintf("%.3f", time.Since(t0).Seconds()))
	return nil
}

// sse opens -clients event streams at once and records, for every event,
// the delay between its data (the server's write time, Unix ns) and its
// arrival: when the client parsed it (delay_*), and when the kernel
// received its bytes (arrival_*, SO_TIMESTAMPNS on the client's sockets;
// Linux only). The first is late when the server wrote late or the client
// read late; the second only when the server wrote late. read_lag_* is
// their difference, event by event: the client's own lateness. And
// write_late_* is how late the server took each event's time against its
// stream's schedule (the first event's time + i·every): what a burst of
// streams due at once costs the last of them, which the delays, taken
// from the write, do not show.
func sse(args []string) error {
	fs := newFlags("sse")
	rawURL := fs.String("url", "", "a /sse?n=N&every=MS URL")
	clients := fs.Int("clients", 1000, "streams at once")
	pid := fs.Int("pid", 0, "server PID: RSS and CPU")
	timeout := fs.Duration("timeout", 5*time.Minute, "timeout of each stream")
	fs.Parse(args)
	u, err := checkLoopback(*rawURL)
	if err != nil {
		return err
	}
	wantEvents, _ := strconv.Atoi(u.Query().Get("n"))
	everyMS, _ := strconv.Atoi(u.Query().Get("every"))
	srv, err := watch(*pid)
	if err != nil {
		return err
	}
	c := sseClient(*clients, *timeout)
	var (
		mu       sync.Mutex
		all      eventDelays
		failed   atomic.Int64
		firstErr atomic.Value
		events   atomic.Int64
		wg       sync.WaitGroup
	)
	srv.startCPU()
	t0 := time.Now()
	for range *clients {
		wg.Go(func() {
			d, err := readEvents(c, *rawURL, wantEvents, time.Duration(everyMS)*time.Millisecond)
			events.Add(int64(len(d.parsed)))
			if err != nil {
				failed.Add(1)
				firstErr.CompareAndSwap(nil, err.Error())
			}
			mu.Lock()
			all.parsed = append(all.parsed, d.parsed...)
			all.arrived = append(all.arrived, d.arrived...)
			all.readLag = append(all.readLag, d.readLag...)
			all.writeLate = append(all.writeLate, d.writeLate...)
			mu.Unlock()
		})
	}
	wg.Wait()
	el := time.Since(t0)
	srv.reportCPU("server_cpu_us_per_event", events.Load())
	srv.stop()
	out("clients", *clients)
	out("clients_failed", failed.Load())
	out("events", events.Load())
	out("events_expected", int64(*clients)*int64(wantEvents))
	out("seconds", fmt.Sprintf("%.3f", el.Seconds()))
	out("delay_p50_ms", ms(all.parsed.percentile(50)))
	out("delay_p99_ms", ms(all.parsed.percentile(99)))
	out("delay_max_ms", ms(all.parsed.percentile(100)))
	if len(all.writeLate) > 0 {
		out("write_late_p50_ms", ms(all.writeLate.percentile(50)))
		out("write_late_p99_ms", ms(all.writeLate.percentile(99)))
	}
	out("events_stamped", len(all.arrived))
	if len(all.arrived) > 0 {
		out("arrival_p50_ms", ms(all.arrived.percentile(50)))
		out("arrival_p99_ms", ms(all.arrived.percentile(99)))
		out("arrival_max_ms", ms(all.arrived.percentile(100)))
		out("read_lag_p50_ms", ms(all.readLag.percentile(50)))
		out("read_lag_p99_ms", ms(all.readLag.percentile(99)))
	}
	if e := firstErr.Load(); e != nil {
		return fmt.Errorf("%d of %d streams failed, first: %s", failed.Load(), *clients, e)
	}
	return nil
}

// sseClient is client's transport with connections that take the kernel's
// receive time of what they read (stampConn).
func sseClient(conns int, timeout time.Duration) *http.Client {
	c := client(conns, timeout)
	d := &net.Dialer{Timeout: 10 * time.Second}
	c.Transport.(*http.Transport).DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		return dialStamped(ctx, d, network, addr)
	}
	return c
}

// eventDelays holds, for each event, the delay from its write time to its
// parse (parsed), and when the connection gave receive times, to the
// kernel's receive (arrived) and between the two (readLag); and with a
// period, how late its time was against the stream's schedule (writeLate).
type eventDelays struct {
	parsed, arrived, readLag, writeLate durations
}

// readEvents reads one event stream to its end and returns each event's
// delays. Event ids must count up by one from 0 or 1, and there must be
// want of them; every is their period (0: none).
func readEvents(c *http.Client, url string, want int, every time.Duration) (eventDelays, error) {
	var conn atomic.Pointer[stampConn]
	trace := &httptrace.ClientTrace{GotConn: func(info httptrace.GotConnInfo) {
		if sc, ok := info.Conn.(*stampConn); ok {
			conn.Store(sc)
		}
	}}
	req, err := http.NewRequestWithContext(httptrace.WithClientTrace(context.Background(), trace), http.MethodGet, url, nil)
	if err != nil {
		return eventDelays{}, err
	}
	resp, err := c.Do(req)
	if err != nil {
		return eventDelays{}, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return eventDelays{}, fmt.Errorf("status %d", resp.StatusCode)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") {
		return eventDelays{}, fmt.Errorf("Content-Type %q", ct)
	}
	var received func() time.Time
	if sc := conn.Load(); sc != nil {
		received = sc.received
	}
	return parseEvents(bufio.NewReader(resp.Body), want, every, time.Now, received)
}

// parseEvents reads events "id: i" / "data: <Unix ns>" separated by blank
// lines until EOF; now is the clock the parse delays are taken with, and
// received, when not nil, gives the kernel's receive time of the latest
// bytes read (zero: none), taken for an event once its blank line is read.
// With every > 0, the k-th event's time is also compared with the first's
// plus k·every (a ticker's schedule; a tick the server skipped because it
// was more than a period behind counts as lateness).
func parseEvents(r *bufio.Reader, want int, every time.Duration, now, received func() time.Time) (eventDelays, error) {
	d := eventDelays{parsed: make(durations, 0, want)}
	if every > 0 {
		d.writeLate = make(durations, 0, want)
	}
	var first int64
	if received != nil {
		d.arrived = make(durations, 0, want)
		d.readLag = make(durations, 0, want)
	}
	id, next := -1, -1
	var data int64
	var haveData bool
	for {
		line, err := readLine(r)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return d, err
		}
		switch {
		case len(line) == 0:
			if !haveData {
				continue // a comment-only or empty event
			}
			parsed := now()
			if next < 0 && (id == 0 || id == 1) {
				next = id
			}
			if id != next {
				return d, fmt.Errorf("event id %d, want %d", id, next)
			}
			next++
			written := time.Unix(0, data)
			if len(d.parsed) == 0 {
				first = data
			}
			if every > 0 {
				d.writeLate = append(d.writeLate, time.Duration(data-first)-time.Duration(len(d.parsed))*every)
			}
			d.parsed = append(d.parsed, parsed.Sub(written))
			if received != nil {
				if at := received(); !at.IsZero() {
					d.arrived = append(d.arrived, at.Sub(written))
					d.readLag = append(d.readLag, parsed.Sub(at))
				}
			}
			haveData = false
		case bytes.HasPrefix(line, []byte("id:")):
			id, err = strconv.Atoi(strings.TrimSpace(string(line[3:])))
			if err != nil {
				return d, fmt.Errorf("bad id line %q", line)
			}
		case bytes.HasPrefix(line, []byte("data:")):
			data, err = strconv.ParseInt(strings.TrimSpace(string(line[5:])), 10, 64)
			if err != nil {
				return d, fmt.Errorf("bad data line %q", line)
			}
			haveData = true
		}
	}
	if len(d.parsed) != want {
		return d, fmt.Errorf("%d events, want %d", len(d.parsed), want)
	}
	return d, nil
}

// hammer sends requests on -c connections in a closed loop for -d and
// counts every outcome second by second: statuses, client timeouts (a
// request left without an answer for -timeout), connection errors.
func hammer(args []string) error {
	fs := newFlags("hammer")
	rawURL := fs.String("url", "", "URL to GET")
	conns := fs.Int("c", 16, "connections (one request at a time each)")
	dur := fs.Duration("d", 20*time.Second, "duration")
	timeout := fs.Duration("timeout", 6*time.Second, "a request unanswered this long counts as a hang")
	fs.Parse(args)
	if _, err := checkLoopback(*rawURL); err != nil {
		return err
	}
	type second struct{ ok, other, hang, errs int64 }
	secs := make([]second, int(dur.Seconds())+int(timeout.Seconds())+2)
	var mu sync.Mutex
	statuses := map[int]int64{}
	c := client(*conns, *timeout)
	t0 := time.Now()
	var wg sync.WaitGroup
	for range *conns {
		wg.Go(func() {
			for time.Since(t0) < *dur {
				resp, err := c.Get(*rawURL)
				s := int(time.Since(t0).Seconds())
				mu.Lock()
				switch {
				case err != nil && isTimeout(err):
					secs[s].hang++
				case err != nil:
					secs[s].errs++
				default:
					statuses[resp.StatusCode]++
					if resp.StatusCode == http.StatusOK {
						secs[s].ok++
					} else {
						secs[s].other++
					}
				}
				mu.Unlock()
				if err == nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				} else {
					time.Sleep(10 * time.Millisecond) // a refused connection must not spin
				}
			}
		})
	}
	wg.Wait()
	var ok, other, hang, errs int64
	var timeline []string
	for i, s := range secs[:int(dur.Seconds())] {
		ok, other, hang, errs = ok+s.ok, other+s.other, hang+s.hang, errs+s.errs
		timeline = append(timeline, fmt.Sprintf("%d:%d/%d/%d/%d", i, s.ok, s.other, s.hang, s.errs))
	}
	for _, s := range secs[int(dur.Seconds()):] {
		ok, other, hang, errs = ok+s.ok, other+s.other, hang+s.hang, errs+s.errs
	}
	keys := make([]string, 0, len(statuses))
	for code, n := range statuses {
		keys = append(keys, fmt.Sprintf("%d:%d", code, n))
	}
	out("ok", ok)
	out("non_200", other)
	out("hangs", hang)
	out("conn_errors", errs)
	out("statuses", strings.Join(slices.Sorted(slices.Values(keys)), ","))
	out("timeline_ok_other_hang_err", strings.Join(timeline, " "))
	out("rps", fmt.Sprintf("%.1f", float64(ok)/dur.Seconds()))
	return nil
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
