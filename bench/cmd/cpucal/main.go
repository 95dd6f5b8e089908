// Command cpucal times the /cpu job (CPU_ITERS hashes of a CPU_BUF_BYTES
// buffer) on one core and prints its digest, so the job size can be checked
// or re-chosen:
//
//	cd bench && set -a && . ./bench.env && set +a && go run ./cmd/cpucal
package main

import (
	"fmt"
	"time"

	"github.com/weftgo/weft/bench/internal/common"
)

func main() {
	job := common.JobFromEnv()
	job.Run() // warm up
	const runs = 40
	best := time.Duration(1 << 62)
	var total time.Duration
	var digest string
	for i := 0; i < runs; i++ {
		t0 := time.Now()
		digest = job.Run()
		d := time.Since(t0)
		total += d
		best = min(best, d)
	}
	ms := func(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e6 }
	fmt.Printf("go CPU_ITERS=%d CPU_BUF_BYTES=%d mean=%.3fms best=%.3fms digest=%s\n",
		job.Iters, job.BufBytes, ms(total)/runs, ms(best), digest)
}
