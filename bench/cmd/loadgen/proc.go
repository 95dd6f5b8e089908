package main

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// clockTicks is USER_HZ, the unit of /proc/PID/stat's CPU times. It is 100
// on every Linux architecture Go supports.
const clockTicks = 100

// rssKiB reads VmRSS of pid, in KiB.
func rssKiB(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for line := range bytes.Lines(b) {
		if v, ok := bytes.CutPrefix(line, []byte("VmRSS:")); ok {
			f := strings.Fields(string(v))
			if len(f) == 0 {
				break
			}
			return strconv.ParseInt(f[0], 10, 64)
		}
	}
	return 0, fmt.Errorf("no VmRSS in /proc/%d/status", pid)
}

// statFields reads /proc/<pid>/stat and returns its fields from the third
// on (state, ppid, ...): fields[k] is the stat field k+3. The command name
// may hold spaces and parentheses, so fields start after the last ')'.
func statFields(pid, want int) ([]string, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return nil, err
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return nil, fmt.Errorf("/proc/%d/stat: no ')'", pid)
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < want {
		return nil, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(f))
	}
	return f, nil
}

// cpuTime reads the user+system CPU time of pid, all its threads.
func cpuTime(pid int) (time.Duration, error) {
	f, err := statFields(pid, 13)
	if err != nil {
		return 0, err
	}
	u, err1 := strconv.ParseInt(f[11], 10, 64) // utime, field 14
	s, err2 := strconv.ParseInt(f[12], 10, 64) // stime, field 15
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("/proc/%d/stat: bad utime/stime", pid)
	}
	return time.Duration(u+s) * time.Second / clockTicks, nil
}

// minorFaults reads the minor page faults of pid, all its threads.
func minorFaults(pid int) (int64, error) {
	f, err := statFields(pid, 8)
	if err != nil {
		return 0, err
	}
	return strconv.ParseInt(f[7], 10, 64) // minflt, field 10
}

// server watches a server process: its RSS, sampled every 10 ms from
// start until stop, and its CPU time at two points. A zero pid watches
// nothing. Safe for concurrent use.
type server struct {
	pid    int
	before int64
	peak   atomic.Int64
	done   chan struct{}
	wg     sync.WaitGroup
	cpu0   time.Duration
}

// watch starts sampling pid's RSS; the first sample is the "before" figure.
func watch(pid int) (*server, error) {
	s := &server{pid: pid, done: make(chan struct{})}
	if pid == 0 {
		return s, nil
	}
	var err error
	if s.before, err = rssKiB(pid); err != nil {
		return nil, err
	}
	s.peak.Store(s.before)
	s.wg.Go(func() {
		t := time.NewTicker(10 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-s.done:
				return
			case <-t.C:
				if v, err := rssKiB(pid); err == nil && v > s.peak.Load() {
					s.peak.Store(v)
				}
			}
		}
	})
	return s, nil
}

// startCPU marks the start of the measured window.
func (s *server) startCPU() {
	if s.pid != 0 {
		s.cpu0, _ = cpuTime(s.pid)
	}
}

// cpuSince returns the server's CPU time since startCPU (0 without a pid).
func (s *server) cpuSince() time.Duration {
	if s.pid == 0 {
		return 0
	}
	c, err := cpuTime(s.pid)
	if err != nil {
		return 0
	}
	return c - s.cpu0
}

// stop ends sampling and prints rss_before_kib, rss_peak_kib and
// rss_growth_kib.
func (s *server) stop() {
	if s.pid == 0 {
		return
	}
	if v, err := rssKiB(s.pid); err == nil && v > s.peak.Load() {
		s.peak.Store(v)
	}
	close(s.done)
	s.wg.Wait()
	out("rss_before_kib", s.before)
	out("rss_peak_kib", s.peak.Load())
	out("rss_growth_kib", s.peak.Load()-s.before)
}

// reportCPU prints the server's CPU per operation over the window.
func (s *server) reportCPU(key string, ops int64) {
	if s.pid == 0 || ops <= 0 {
		return
	}
	out(key, fmt.Sprintf("%.2f", float64(s.cpuSince().Microseconds())/float64(ops)))
}

// checkLoopback refuses URLs whose host is not a loopback IP.
func checkLoopback(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, err
	}
	if ip := net.ParseIP(u.Hostname()); ip == nil || !ip.IsLoopback() {
		return nil, fmt.Errorf("-url must name a loopback IP, got %q", u.Host)
	}
	return u, nil
}

// durations holds latencies; percentile sorts it once.
type durations []time.Duration

func (d durations) percentile(p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	if !sort.SliceIsSorted(d, func(i, j int) bool { return d[i] < d[j] }) {
		sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	}
	i := int(p/100*float64(len(d))+0.5) - 1
	return d[min(max(i, 0), len(d)-1)]
}

// ms formats d in milliseconds with three decimals.
func ms(d time.Duration) string { return fmt.Sprintf("%.3f", float64(d.Nanoseconds())/1e6) }

// readLine is bufio.Reader's ReadSlice without the trailing CRLF or LF.
func readLine(r *bufio.Reader) ([]byte, error) {
	line, err := r.ReadSlice('\n')
	if err != nil {
		return nil, err
	}
	line = bytes.TrimSuffix(line, []byte("\n"))
	return bytes.TrimSuffix(line, []byte("\r")), nil
}
