// Command benchserver is examples/benchserver with its /cpu jobs sent
// through NATS: the same endpoints for the benchmark harness, and the same
// CPU job, registered by name (../../internal/cpujob) so that worker processes
// (../worker) take the jobs the local workers cannot.
//
// It lives in the offload/nats module, not beside examples/benchserver,
// because weft's own module must not require NATS: examples/benchserver
// stays the build every other benchmark uses, and this one adds only the
// backend.
//
//	PORT=8080                  listen on 127.0.0.1:$PORT
//	NATS_URL=nats://host:4222  use that NATS (empty: NATS in-process, no
//	                           listener: only this process's workers)
//	LOCAL_WORKERS=0            no local workers: every /cpu job goes out
//	                           (unset: one per CPU; n: n); GOMAXPROCS is
//	                           then the loops plus 2, unless set
//	WEFT_LOOPS=n               n event loops (default one per CPU)
//	LOCAL_FALLBACK=1           run /cpu locally when no worker is reachable
//	PLACEMENT=spread           /cpu jobs alternate between the local workers
//	                           and NATS (a pool of each), instead of offload's
//	                           placement (local while a local worker is idle,
//	                           overflow out): the round-robin side of the
//	                           placement comparison (examples/bench.sh
//	                           placement, docs/offload.md)
//	CPU_ITERS, CPU_BUF_BYTES   the job's size, as for examples/benchserver
//	                           (read by whoever runs the job)
//	OFFLOAD_NICE, OFFLOAD_YIELD_US, OFFLOAD_FASTLANE_US
//	                           as for examples/benchserver
//
// Each /cpu request has a 5 s deadline, which travels with the job: with no
// worker reachable it gets a 503 at once, a 504 at the deadline, never a
// hang.
package main

import (
	"cmp"
	"context"
	"log"
	"os"
	"os/signal"
	goruntime "runtime"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/weftgo/weft/net"
	"github.com/weftgo/weft/offload"
	weftnats "github.com/weftgo/weft/offload/nats"
	"github.com/weftgo/weft/offload/nats/internal/cpujob"
	"github.com/weftgo/weft/router"
	"github.com/weftgo/weft/runtime"
)

// cpuDeadline bounds each /cpu request, queueing and remote round trip
// included.
const cpuDeadline = 5 * time.Second

type message struct {
	Message string `json:"message"`
}

type user struct {
	ID string `json:"id"`
}

// withContext is a handler's scope (its loop, and its Tracker for the
// request's resources and timings) with a shorter context.
type withContext struct {
	*net.Ctx
	ctx context.Context
}

func (s withContext) Context() context.Context { return s.ctx }

// roundRobin hands out its pools in turn; it may be called from any loop.
type roundRobin struct {
	pools []*offload.Pool
	next  atomic.Uint64
}

func (rr *roundRobin) pool() *offload.Pool {
	return rr.pools[(rr.next.Add(1)-1)%uint64(len(rr.pools))]
}

func routes(pools *roundRobin, job *offload.Job[struct{}, string]) *router.Router {
	r := router.New()
	r.GET("/cpu", func(c *net.Ctx) net.Result {
		ctx, cancel := context.WithTimeout(c.Context(), cpuDeadline)
		digest := offload.Call(withContext{c, ctx}, pools.pool(), job, struct{}{}).Finally(c, func(string, error) { cancel() })
		return runtime.Then(c, digest, func(hex string) net.Result {
			return c.Text(net.StatusOK, hex)
		})
	})
	r.GET("/plaintext", func(c *net.Ctx) net.Result {
		return c.Text(net.StatusOK, "Hello, World!")
	})
	r.GET("/json", func(c *net.Ctx) net.Result {
		return c.JSON(net.StatusOK, message{Message: "Hello, World!"})
	})
	r.GET("/users/:id", func(c *net.Ctx) net.Result {
		return c.JSON(net.StatusOK, user{ID: c.Param("id")})
	})
	r.POST("/echo", func(c *net.Ctx) net.Result {
		ct := c.Header("Content-Type")
		if ct == "" {
			ct = "application/octet-stream"
		}
		return c.Send(net.StatusOK, ct, c.Body())
	})
	return r
}

// envInt is cpujob.EnvInt, fatal on a bad value.
func envInt(name string, def int) int {
	n, err := cpujob.EnvInt(name, def)
	if err != nil {
		log.Fatal("benchserver: ", err)
	}
	return n
}

// envMicros is the duration in microseconds in the environment variable
// name: unset or 0 gives offload's default, a negative value "never" (as
// examples/benchserver reads OFFLOAD_YIELD_US and OFFLOAD_FASTLANE_US);
// anything but an integer is fatal.
func envMicros(name string) time.Duration {
	v := os.Getenv(name)
	if v == "" {
		return 0
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		log.Fatalf("benchserver: %s=%q: want an integer (microseconds; negative: off)", name, v)
	}
	return time.Duration(n) * time.Microsecond
}

// dispatchProcs returns the GOMAXPROCS to set, or 0 to leave it alone:
// with no local workers (workers is offload.NoWorkers) and GOMAXPROCS not
// set in the environment, the loops (loops, or cpus for net's default)
// plus 2.
//
// Such a process only dispatches jobs. Its loops wait for the network in
// a system call (gnet's epoll_wait), each holding a processor (P)
// meanwhile. With as many Ps as loops, every P is often so held: Go's
// sysmon then takes them back, wakes every 20 µs to do it again (about
// 5,000 times a second at 300 jobs/s, half this process's CPU), and the
// NATS client's goroutines wait for a P. Two Ps more than the loops leave
// the client one that is free. Not with local workers: spare Ps would run
// jobs beside the loops (docs/offload.md, "Extra processors are the wrong
// tool"). See docs/offload.md, "Past one machine", "Figures".
func dispatchProcs(workers, loops, cpus int, env string) int {
	if workers != offload.NoWorkers || env != "" {
		return 0
	}
	return cmp.Or(loops, cpus) + 2
}

func main() {
	port := os.Getenv("PORT")
	if port == "" {
		port = "8080"
	}
	backend, err := weftnats.New(weftnats.Config{URL: os.Getenv("NATS_URL")})
	if err != nil {
		log.Fatal(err)
	}
	workers := envInt("OFFLOAD_WORKERS", 0)
	if v, ok := os.LookupEnv("LOCAL_WORKERS"); ok {
		n, err := strconv.Atoi(v)
		switch {
		case err != nil || n < 0:
			log.Fatalf("benchserver: LOCAL_WORKERS=%q: want 0 (none) or more", v)
		case n == 0:
			workers = offload.NoWorkers
		default:
			workers = n
		}
	}
	cfg := offload.Config{
		Name:          "cpu",
		Workers:       workers,
		Nice:          envInt("OFFLOAD_NICE", 0) % 20,
		YieldEvery:    envMicros("OFFLOAD_YIELD_US"),
		FastLane:      envMicros("OFFLOAD_FASTLANE_US"),
		Remote:        backend,
		LocalFallback: os.Getenv("LOCAL_FALLBACK") == "1",
	}
	job, err := cpujob.FromEnv()
	if err != nil {
		log.Fatal("benchserver: ", err)
	}
	var pools roundRobin
	switch placement := os.Getenv("PLACEMENT"); placement {
	case "":
		pool, err := offload.New(cfg)
		if err != nil {
			log.Fatal(err)
		}
		pools.pools = []*offload.Pool{pool}
		if workers != offload.NoWorkers {
			// This process is a worker too: jobs that overflow to NATS may
			// come back to its queue when no other worker is free.
			if err := backend.Serve(pool, job); err != nil {
				log.Fatal(err)
			}
		}
	case "spread":
		if workers == offload.NoWorkers {
			log.Fatal("benchserver: PLACEMENT=spread needs local workers (LOCAL_WORKERS > 0)")
		}
		local, remote := cfg, cfg
		local.Name, local.Remote = "cpu-local", nil
		remote.Name, remote.Workers = "cpu-remote", offload.NoWorkers
		for _, c := range []offload.Config{local, remote} {
			pool, err := offload.New(c)
			if err != nil {
				log.Fatal(err)
			}
			pools.pools = append(pools.pools, pool)
		}
	default:
		log.Fatalf("benchserver: PLACEMENT=%q: want spread, or unset", placement)
	}
	loops := envInt("WEFT_LOOPS", 0) // 0: net's default, one per CPU
	if n := dispatchProcs(workers, loops, goruntime.NumCPU(), os.Getenv("GOMAXPROCS")); n > 0 {
		goruntime.GOMAXPROCS(n)
	}
	srv := &net.Server{
		Addr:    "127.0.0.1:" + port,
		Handler: routes(&pools, job).Serve,
		Loops:   loops,
	}
	for _, pool := range pools.pools {
		srv.OnShutdown = append(srv.OnShutdown, pool.Close) // no new jobs; the running ones finish
	}
	srv.OnShutdown = append(srv.OnShutdown, backend.Close) // then the connection
	if err := srv.Start(); err != nil {
		log.Fatal(err)
	}
	log.Printf("benchserver (NATS) on 127.0.0.1:%s", port)
	stop, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	<-stop.Done()
	ctx, cancelShutdown := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancelShutdown()
	if err := srv.Shutdown(ctx); err != nil {
		log.Print(err)
	}
}
