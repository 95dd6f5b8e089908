// Command worker takes weft offload jobs from NATS: any number of them, on
// any machines, share the jobs of the services on the same NATS (a queue
// group). It serves the benchmark's /cpu job (see ../../internal/cpujob).
//
//	NATS_URL=nats://127.0.0.1:4222 WORKERS=2 go run ./examples/worker
//
// NATS_URL is required. WORKERS is how many jobs run at once (default one
// per CPU); CPU_ITERS, CPU_BUF_BYTES and CPU_CHECK_EVERY size the job as
// for examples/benchserver. OFFLOAD_NICE is its pool's Config.Nice
// (negative: jobs on ordinary goroutines) and OFFLOAD_YIELD_US its
// YieldEvery in µs: by default it never yields (see poolConfig). It
// prints "ready" once it takes jobs, and on
// SIGTERM or SIGINT stops taking them, finishes the running ones (5 s at
// most) and exits.
package main

import (
	"context"
	"fmt"
	"log"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/weftgo/weft/offload"
	weftnats "github.com/weftgo/weft/offload/nats"
	"github.com/weftgo/weft/offload/nats/internal/cpujob"
)

// poolConfig is the worker's pool: workers jobs at once (0: one per CPU),
// nice and yieldUS as the environment gives them (OFFLOAD_NICE,
// OFFLOAD_YIELD_US; "" for the default).
//
// Unlike a service's pool, a worker's never yields by default
// (YieldEvery -1): the yield lets a waiting event loop run, and a worker
// has none. While jobs queue here, the NATS client's goroutines then run
// at Go's preemption (every 10 ms) or when the queue empties, not after
// each job: each of their turns reads several jobs and sends several
// answers, and NATS, the service and this process wake once for all of
// them (docs/offload.md, "Past one machine", "Figures": half the NATS
// server's CPU per job). A job's answer waits meanwhile, at most the
// 10 ms or the job after it, only while others queue behind it.
func poolConfig(workers int, nice, yieldUS string) (offload.Config, error) {
	cfg := offload.Config{Name: "worker", Workers: workers, YieldEvery: -1}
	if nice != "" {
		n, err := strconv.Atoi(nice)
		if err != nil || n > 19 {
			return cfg, fmt.Errorf("OFFLOAD_NICE=%q: want an integer up to 19 (0: the default, negative: none)", nice)
		}
		cfg.Nice = n
	}
	if yieldUS != "" {
		n, err := strconv.Atoi(yieldUS)
		if err != nil || n == 0 {
			return cfg, fmt.Errorf("OFFLOAD_YIELD_US=%q: want microseconds (negative: never, the default)", yieldUS)
		}
		cfg.YieldEvery = time.Duration(n) * time.Microsecond
	}
	return cfg, nil
}

func main() {
	url := os.Getenv("NATS_URL")
	if url == "" {
		log.Fatal("worker: NATS_URL is required (a worker with an embedded server would serve nobody)")
	}
	backend, err := weftnats.New(weftnats.Config{URL: url})
	if err != nil {
		log.Fatal(err)
	}
	workers, err := cpujob.EnvInt("WORKERS", 0) // 0: one per CPU
	if err != nil {
		log.Fatal("worker: ", err)
	}
	job, err := cpujob.FromEnv()
	if err != nil {
		log.Fatal("worker: ", err)
	}
	cfg, err := poolConfig(workers, os.Getenv("OFFLOAD_NICE"), os.Getenv("OFFLOAD_YIELD_US"))
	if err != nil {
		log.Fatal("worker: ", err)
	}
	pool, err := offload.New(cfg)
	if err != nil {
		log.Fatal(err)
	}
	if err := backend.Serve(pool, job); err != nil {
		log.Fatal(err)
	}
	fmt.Println("ready")
	stop, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	<-stop.Done()
	ctx, cancelClose := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancelClose()
	// The backend first: no new jobs, and the running ones answer.
	if err := backend.Close(ctx); err != nil {
		log.Print(err)
	}
	if err := pool.Close(ctx); err != nil {
		log.Print(err)
	}
}
