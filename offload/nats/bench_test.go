package nats_test

import (
	"context"
	"testing"
	"time"

	"github.com/weftgo/weft/offload"
	weftnats "github.com/weftgo/weft/offload/nats"
	"github.com/weftgo/weft/runtime"
)

var empty = offload.NewJob("empty", func(context.Context, int) (int, error) { return 1, nil }, offload.JobConfig{})

// BenchmarkRoundTrip: an empty job by name and back, waited for off any
// loop: on the local pool, through the embedded server to this process's
// own worker, and over loopback TCP to a worker backend.
func BenchmarkRoundTrip(b *testing.B) {
	bg := runtime.Detached(context.Background())
	run := func(b *testing.B, p *offload.Pool) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := offload.Call(bg, p, empty, 1).Wait(context.Background()); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.Run("local", func(b *testing.B) {
		p, err := offload.New(offload.Config{Workers: 1})
		if err != nil {
			b.Fatal(err)
		}
		defer p.Close(context.Background())
		run(b, p)
	})
	b.Run("embedded", func(b *testing.B) {
		be, err := weftnats.New(weftnats.Config{})
		if err != nil {
			b.Fatal(err)
		}
		defer be.Close(context.Background())
		worker, err := offload.New(offload.Config{Workers: 1})
		if err != nil {
			b.Fatal(err)
		}
		defer worker.Close(context.Background())
		if err := be.Serve(worker, empty); err != nil {
			b.Fatal(err)
		}
		p, err := offload.New(offload.Config{Workers: offload.NoWorkers, Remote: be})
		if err != nil {
			b.Fatal(err)
		}
		defer p.Close(context.Background())
		run(b, p)
	})
	b.Run("loopback-tcp", func(b *testing.B) {
		url := benchServer(b)
		wb, err := weftnats.New(weftnats.Config{URL: url})
		if err != nil {
			b.Fatal(err)
		}
		defer wb.Close(context.Background())
		worker, err := offload.New(offload.Config{Workers: 1})
		if err != nil {
			b.Fatal(err)
		}
		defer worker.Close(context.Background())
		if err := wb.Serve(worker, empty); err != nil {
			b.Fatal(err)
		}
		cb, err := weftnats.New(weftnats.Config{URL: url})
		if err != nil {
			b.Fatal(err)
		}
		defer cb.Close(context.Background())
		p, err := offload.New(offload.Config{Workers: offload.NoWorkers, Remote: cb})
		if err != nil {
			b.Fatal(err)
		}
		defer p.Close(context.Background())
		run(b, p)
	})
}

// BenchmarkCancelReachesTheWorker: the time from cancelling a caller's
// context to the remote job's context being done, over loopback TCP
// (reported as cancel-µs; the contract is 100 ms).
func BenchmarkCancelReachesTheWorker(b *testing.B) {
	url := benchServer(b)
	started, stopped := make(chan struct{}), make(chan time.Time)
	blocks := offload.NewJob("blocks", func(ctx context.Context, _ int) (int, error) {
		started <- struct{}{}
		<-ctx.Done()
		stopped <- time.Now()
		return 0, ctx.Err()
	}, offload.JobConfig{})
	wb, err := weftnats.New(weftnats.Config{URL: url})
	if err != nil {
		b.Fatal(err)
	}
	defer wb.Close(context.Background())
	worker, err := offload.New(offload.Config{Workers: 1})
	if err != nil {
		b.Fatal(err)
	}
	defer worker.Close(context.Background())
	if err := wb.Serve(worker, blocks); err != nil {
		b.Fatal(err)
	}
	cb, err := weftnats.New(weftnats.Config{URL: url})
	if err != nil {
		b.Fatal(err)
	}
	defer cb.Close(context.Background())
	p, err := offload.New(offload.Config{Workers: offload.NoWorkers, Remote: cb})
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close(context.Background())
	var total time.Duration
	for b.Loop() {
		ctx, cancel := context.WithCancel(context.Background())
		f := offload.Call(runtime.Detached(ctx), p, blocks, 0)
		<-started
		// The ack may still be on its way: the cancel then goes out when
		// it arrives, which is part of what is measured.
		at := time.Now()
		cancel()
		total += (<-stopped).Sub(at)
		_, _ = f.Wait(context.Background())
	}
	b.ReportMetric(float64(total.Microseconds())/float64(b.N), "cancel-µs")
}

// benchServer starts a nats-server on a random loopback port for b.
func benchServer(b *testing.B) string {
	b.Helper()
	ns, url := startServerTB(b)
	b.Cleanup(func() { ns.Shutdown(); ns.WaitForShutdown() })
	return url
}
