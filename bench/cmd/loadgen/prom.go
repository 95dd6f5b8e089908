package main

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// promLag reads a Prometheus histogram (by default weft_loop_lag_seconds)
// from a /metrics URL at the start and at the end of -d, optionally
// scraping it every -every meanwhile (the load being measured), and prints
// the p50 and p99 of the observations made in between, summed over every
// label set, and the size of a scrape. With -probe, a GET of that URL
// every 10 ms on a connection of its own measures the same lag from
// outside, finer than the histogram's buckets.
func promLag(args []string) error {
	fs := newFlags("promlag")
	rawURL := fs.String("url", "", "a /metrics URL")
	metric := fs.String("metric", "weft_loop_lag_seconds", "histogram name")
	dur := fs.Duration("d", 5*time.Second, "window")
	every := fs.Duration("every", 0, "scrape this often during the window (0: only at its ends)")
	probe := fs.String("probe", "", "a URL to GET every 10 ms during the window (e.g. /plaintext)")
	fs.Parse(args)
	if *probe != "" {
		if _, err := checkLoopback(*probe); err != nil {
			return err
		}
	}
	if _, err := checkLoopback(*rawURL); err != nil {
		return err
	}
	c := client(1, 30*time.Second)
	before, series, err := scrape(c, *rawURL, *metric)
	if err != nil {
		return err
	}
	var (
		wg       sync.WaitGroup
		scrapes  int
		worst    time.Duration
		firstErr error
		done     = make(chan struct{})
	)
	if *every > 0 {
		wg.Go(func() {
			t := time.NewTicker(*every)
			defer t.Stop()
			for {
				select {
				case <-done:
					return
				case <-t.C:
					t0 := time.Now()
					if _, _, err := scrape(c, *rawURL, *metric); err != nil && firstErr == nil {
						firstErr = err
					}
					worst = max(worst, time.Since(t0))
					scrapes++
				}
			}
		})
	}
	var probes durations
	if *probe != "" {
		pc := client(1, 10*time.Second)
		wg.Go(func() {
			t := time.NewTicker(10 * time.Millisecond)
			defer t.Stop()
			for {
				select {
				case <-done:
					return
				case <-t.C:
					t0 := time.Now()
					resp, err := pc.Get(*probe)
					if err != nil {
						continue
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					probes = append(probes, time.Since(t0))
				}
			}
		})
	}
	time.Sleep(*dur)
	close(done)
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	after, _, err := scrape(c, *rawURL, *metric)
	if err != nil {
		return err
	}
	delta := after.minus(before)
	out("series", series)
	out("scrapes", scrapes)
	out("scrape_max_ms", ms(worst))
	out("observations", delta.count())
	out("lag_p50_ms", fmt.Sprintf("%.3f", delta.quantile(0.50)*1e3))
	out("lag_p99_ms", fmt.Sprintf("%.3f", delta.quantile(0.99)*1e3))
	if *probe != "" {
		out("probes", len(probes))
		out("probe_p50_ms", ms(probes.percentile(50)))
		out("probe_p99_ms", ms(probes.percentile(99)))
	}
	return nil
}

// histogram is cumulative bucket counts by upper bound, summed over label
// sets.
type histogram map[float64]float64

func (h histogram) minus(o histogram) histogram {
	d := histogram{}
	for le, n := range h {
		d[le] = n - o[le]
	}
	return d
}

func (h histogram) bounds() []float64 {
	b := make([]float64, 0, len(h))
	for le := range h {
		b = append(b, le)
	}
	sort.Float64s(b)
	return b
}

func (h histogram) count() float64 {
	b := h.bounds()
	if len(b) == 0 {
		return 0
	}
	return h[b[len(b)-1]] // the +Inf bucket
}

// quantile interpolates linearly inside the bucket that holds q, as
// Prometheus's histogram_quantile does; a quantile in the +Inf bucket is
// the largest finite bound.
func (h histogram) quantile(q float64) float64 {
	b := h.bounds()
	total := h.count()
	if total <= 0 {
		return math.NaN()
	}
	rank := q * total
	prevLe, prevN := 0.0, 0.0
	for _, le := range b {
		n := h[le]
		if n >= rank {
			if math.IsInf(le, 1) {
				return prevLe
			}
			if n == prevN {
				return le
			}
			return prevLe + (le-prevLe)*(rank-prevN)/(n-prevN)
		}
		prevLe, prevN = le, n
	}
	return prevLe
}

// scrape GETs a /metrics page and returns metric's buckets and the number
// of series (sample lines) on the page.
func scrape(c *http.Client, url, metric string) (histogram, int, error) {
	resp, err := c.Get(url)
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, 0, fmt.Errorf("%s: status %d", url, resp.StatusCode)
	}
	return parseHistogram(resp.Body, metric)
}

func parseHistogram(r io.Reader, metric string) (histogram, int, error) {
	h := histogram{}
	series := 0
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	prefix := metric + "_bucket{"
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		series++
		if !strings.HasPrefix(line, prefix) {
			continue
		}
		_, rest, ok := strings.Cut(line, `le="`)
		if !ok {
			return nil, 0, fmt.Errorf("bucket without le: %q", line)
		}
		les, _, _ := strings.Cut(rest, `"`)
		le, err := strconv.ParseFloat(les, 64) // "+Inf" parses as +Inf
		if err != nil {
			return nil, 0, fmt.Errorf("bad le in %q", line)
		}
		f := strings.Fields(line[strings.LastIndexByte(line, '}')+1:])
		if len(f) == 0 {
			return nil, 0, fmt.Errorf("no value in %q", line)
		}
		v, err := strconv.ParseFloat(f[0], 64)
		if err != nil {
			return nil, 0, fmt.Errorf("bad value in %q", line)
		}
		h[le] += v
	}
	if len(h) == 0 {
		return nil, series, fmt.Errorf("no %s histogram on the page", metric)
	}
	return h, series, sc.Err()
}
