// Command loopwait reads a Go execution trace of a weft server (the
// benchserver's WEFT_TRACE=file) and says how long its event loops waited
// for a processor (a P) while offload workers held them: for every gnet loop
// goroutine (one running netpoll.(*Poller).Polling), the times it spent
// runnable before it ran, and the lengths of its runs; for the workers
// (offload.(*Pool).work), what ran next on the processor a worker gave up
// at a yield, and how long the worker waited to run again. docs/offload.md
// ("Where the tail comes from") quotes it.
//
//	loopwait trace.out
package main

import (
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"golang.org/x/exp/trace"
)

type span struct {
	g          trace.GoID
	start, end trace.Time
}

type wait struct {
	g          trace.GoID
	start, end trace.Time
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: loopwait trace.out")
		os.Exit(2)
	}
	f, err := os.Open(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer f.Close()
	r, err := trace.NewReader(f)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	var (
		kind       = map[trace.GoID]string{}
		since      = map[trace.GoID]trace.Time{}
		runStart   = map[trace.GoID]trace.Time{}
		waitsOf    = map[trace.GoID][]float64{}
		yieldAt    = map[trace.GoID]trace.Time{}
		afterYield = map[trace.ProcID]bool{}
		nextAfter  = map[string]int{}
		runs       []float64
		yieldBack  []float64
		spans      []span
		long       []wait
		first      trace.Time
		last       trace.Time
	)
	for {
		ev, err := r.ReadEvent()
		if err == io.EOF {
			break
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		if first == 0 {
			first = ev.Time()
		}
		last = ev.Time()
		if ev.Kind() != trace.EventStateTransition {
			continue
		}
		st := ev.StateTransition()
		if st.Resource.Kind != trace.ResourceGoroutine {
			continue
		}
		g := st.Resource.Goroutine()
		from, to := st.Goroutine()
		for _, stk := range []trace.Stack{st.Stack, ev.Stack()} {
			if k := classify(stk); k != "" {
				kind[g] = k
			}
		}
		t := ev.Time()
		if from == trace.GoRunning {
			if s, ok := runStart[g]; ok {
				spans = append(spans, span{g, s, t})
				if kind[g] == "loop" {
					runs = append(runs, ms(t-s))
				}
				delete(runStart, g)
			}
		}
		if kind[g] == "worker" && from == trace.GoRunning && to == trace.GoRunnable {
			afterYield[ev.Proc()] = true
			yieldAt[g] = t
		}
		if to == trace.GoRunning {
			runStart[g] = t
			if afterYield[ev.Proc()] {
				afterYield[ev.Proc()] = false
				nextAfter[orOther(kind[g])]++
			}
			if y, ok := yieldAt[g]; ok {
				yieldBack = append(yieldBack, ms(t-y))
				delete(yieldAt, g)
			}
			if kind[g] == "loop" && from == trace.GoRunnable {
				d := ms(t - since[g])
				waitsOf[g] = append(waitsOf[g], d)
				if d > 5 {
					long = append(long, wait{g, since[g], t})
				}
			}
		}
		since[g] = t
	}
	total := ms(last - first)
	fmt.Printf("trace: %.0f ms\n", total)
	ids := make([]trace.GoID, 0, len(waitsOf))
	for g := range waitsOf {
		ids = append(ids, g)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	for _, g := range ids {
		xs := waitsOf[g]
		if len(xs) < 100 {
			continue // an idle loop
		}
		sum := summary(fmt.Sprintf("loop g%d: runnable before it ran", g), xs)
		fmt.Printf("    that is %.0f%% of the trace waiting for a processor\n", 100*sum/total)
	}
	summary("loops: length of a run", runs)
	fmt.Println("after a worker's yield, its processor ran:", nextAfter)
	summary("workers: from a yield to running again", yieldBack)
	// The waits over 5 ms: what held the processors meanwhile.
	held := map[string]float64{}
	var sum float64
	for _, w := range long {
		sum += ms(w.end - w.start)
		for _, s := range spans {
			a, b := max(s.start, w.start), min(s.end, w.end)
			if b > a {
				held[orOther(kind[s.g])] += ms(b - a)
			}
		}
	}
	fmt.Printf("loop waits over 5 ms: %d, %.0f ms; processor time meanwhile (ms):", len(long), sum)
	for _, k := range []string{"worker", "loop", "other"} {
		fmt.Printf(" %s %.0f", k, held[k])
	}
	fmt.Println()
}

// classify names a goroutine by its stack: a gnet loop, an offload worker,
// or "" (unknown yet).
func classify(st trace.Stack) string {
	var b strings.Builder
	for fr := range st.Frames() {
		b.WriteString(fr.Func)
		b.WriteByte(';')
	}
	s := b.String()
	switch {
	case strings.Contains(s, "netpoll.(*Poller).Polling"):
		return "loop"
	case strings.Contains(s, "offload.(*Pool).work"), strings.Contains(s, "offload.(*Pool).runFast"):
		return "worker"
	}
	return ""
}

func orOther(k string) string {
	if k == "" {
		return "other"
	}
	return k
}

func ms(d trace.Time) float64 { return float64(d) / 1e6 }

// summary prints the distribution of xs (ms) and returns its sum.
func summary(name string, xs []float64) float64 {
	if len(xs) == 0 {
		fmt.Println(name + ": none")
		return 0
	}
	sort.Float64s(xs)
	n := len(xs)
	q := func(p float64) float64 { return xs[min(n-1, int(p*float64(n)))] }
	var sum float64
	over := [3]int{}
	for _, x := range xs {
		sum += x
		for i, th := range []float64{1, 5, 10} {
			if x > th {
				over[i]++
			}
		}
	}
	fmt.Printf("%s: n %d, p50 %.3f p90 %.3f p99 %.3f max %.2f ms, sum %.0f ms; over 1 ms %d, 5 ms %d, 10 ms %d\n",
		name, n, q(.5), q(.9), q(.99), xs[n-1], sum, over[0], over[1], over[2])
	return sum
}
