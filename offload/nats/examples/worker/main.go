// Command worker takes weft offload jobs from NATS: any number of them, on
// any machines, share the jobs of the services on the same NATS (a queue
// group). It serves the benchmark's /cpu job (see ../../internal/cpujob).
//
//	NATS_URL=nats://127.0.0.1:4222 WORKERS=2 go run ./examples/worker
//
// NATS_URL is required. WORKERS is how many jobs run at once (default one
// per CPU); CPU_ITERS, CPU_BUF_BYTES and CPU_CHECK_EVERY size the job as
// for examples/benchserver. It prints "ready" once it takes jobs, and on
// SIGTERM or SIGINT stops taking them, finishes the running ones (5 s at
// most) and exits.
package main

import (
	"context"
	"fmt"
	"log"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/weftgo/weft/offload"
	weftnats "github.com/weftgo/weft/offload/nats"
	"github.com/weftgo/weft/offload/nats/internal/cpujob"
)

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
	pool, err := offload.New(offload.Config{Name: "worker", Workers: workers})
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
