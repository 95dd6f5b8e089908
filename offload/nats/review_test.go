package nats_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	natsgo "github.com/nats-io/nats.go"
	"go.uber.org/goleak"

	"github.com/weftgo/weft/offload"
	weftnats "github.com/weftgo/weft/offload/nats"
	"github.com/weftgo/weft/runtime"
)

// startSmallServer runs a nats-server on a random loopback port whose max
// payload is maxPayload bytes.
func startSmallServer(t *testing.T, maxPayload int32) string {
	t.Helper()
	ns, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: server.RANDOM_PORT, NoSigs: true, NoLog: true, MaxPayload: maxPayload})
	if err != nil {
		t.Fatal(err)
	}
	ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats-server did not start")
	}
	t.Cleanup(func() { ns.Shutdown(); ns.WaitForShutdown() })
	return ns.ClientURL()
}

// TestPayloadsPastTheServersLimit: an input or an output too large for
// the NATS server fails the job with an error that says so, at once, and
// runs it at most once; not as "no remote worker is reachable" (the
// input), nor as a lost worker after LostAfter, tried again if idempotent
// (the output).
func TestPayloadsPastTheServersLimit(t *testing.T) {
	const limit = 4096
	url := startSmallServer(t, limit)
	var ran atomic.Int32
	big := offload.NewJob("big", func(_ context.Context, n int) (string, error) {
		ran.Add(1)
		return strings.Repeat("x", n), nil
	}, offload.JobConfig{Idempotent: true})
	echo := offload.NewJob("echo", func(_ context.Context, s string) (int, error) {
		ran.Add(1)
		return len(s), nil
	}, offload.JobConfig{Idempotent: true})
	cfg := weftnats.Config{URL: url, Heartbeat: 20 * time.Millisecond, LostAfter: 100 * time.Millisecond}
	worker(t, cfg, offload.Config{Workers: 1}, big, echo)
	p, _ := caller(t, cfg)
	bg := runtime.Detached(context.Background())
	cases := []struct {
		name string
		call func() error
	}{
		{"input", func() error { _, err := wait(t, offload.Call(bg, p, echo, strings.Repeat("y", 2*limit))); return err }},
		{"output", func() error { _, err := wait(t, offload.Call(bg, p, big, 2*limit)); return err }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ran.Store(0)
			err := tc.call()
			if err == nil || errors.Is(err, offload.ErrUnavailable) || errors.Is(err, offload.ErrLost) || !strings.Contains(err.Error(), "max payload") {
				t.Fatalf("err = %v, want an error naming the max payload", err)
			}
			if n := ran.Load(); n > 1 {
				t.Fatalf("the job ran %d times, want at most once", n)
			}
		})
	}
	if s := p.Stats(); s.Remote.Retried != 0 {
		t.Fatalf("remote stats %+v: no job should be retried", s.Remote)
	}
}

// TestCancelBeforeTheJobReachesTheWorker: a cancel that reaches a worker
// before the job it cancels (the caller gave up before the worker acked,
// and then went away: a closed backend, a dead process, so that nobody
// answers the ack with a second cancel) still stops the job there, instead
// of letting it run to its deadline, or forever without one. The test
// speaks the wire protocol as a caller that never reads its replies.
func TestCancelBeforeTheJobReachesTheWorker(t *testing.T) {
	_, url := startServer(t, 0)
	started := make(chan string, 2)
	stopped := make(chan string, 2)
	holds := offload.NewJob("holdsuntilcancel", func(ctx context.Context, id string) (int, error) {
		started <- id
		<-ctx.Done()
		stopped <- id
		return 0, ctx.Err()
	}, offload.JobConfig{})
	// Closed with a done context: the jobs still running are cancelled,
	// so that a failure does not hang the cleanup.
	gone, stop := context.WithCancel(context.Background())
	stop()
	wb, err := weftnats.New(weftnats.Config{URL: url})
	if err != nil {
		t.Fatal(err)
	}
	wp, err := offload.New(offload.Config{Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { wb.Close(gone); wp.Close(gone) })
	must(wb.Serve(wp, holds))
	nc, err := natsgo.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	send := func(id string) {
		msg := natsgo.NewMsg("weft.offload.job.holdsuntilcancel")
		msg.Reply = "test.reply." + id
		msg.Data = []byte(`"` + id + `"`)
		must(nc.PublishMsg(msg))
	}
	cancel := func(id string) { must(nc.Publish("weft.offload.cancel", []byte("test.reply."+id))) }
	replies := make(chan *natsgo.Msg, 16)
	sub, err := nc.ChanSubscribe("test.reply.*", replies)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	must(nc.Flush())

	// A probe job runs; cancelling it after the early cancel tells when
	// the worker has heard the early one (cancels are heard in order).
	send("probe")
	if id := <-started; id != "probe" {
		t.Fatalf("started %q", id)
	}
	cancel("late")
	cancel("probe")
	if id := <-stopped; id != "probe" {
		t.Fatalf("stopped %q", id)
	}
	send("late") // no deadline: only the cancel heard earlier can stop it
	for {
		select {
		case m := <-replies:
			if m.Subject == "test.reply.late" && m.Header.Get("Weft-Kind") == "done" {
				return // answered: refused, or stopped
			}
		case <-time.After(10 * time.Second):
			t.Fatal("the job cancelled before it arrived was not answered in 10s: it runs on")
		}
	}
}

// TestCloseWithADoneContextLeavesNoGoroutine: a worker's Close given a
// context already done (or done while its job subscriptions drain) leaves
// nothing behind once it returns.
func TestCloseWithADoneContextLeavesNoGoroutine(t *testing.T) {
	ns, url := startServerTB(t)
	defer func() { ns.Shutdown(); ns.WaitForShutdown() }()
	before := goleak.IgnoreCurrent()
	for range 5 {
		b, err := weftnats.New(weftnats.Config{URL: url})
		if err != nil {
			t.Fatal(err)
		}
		p, err := offload.New(offload.Config{Workers: 1})
		if err != nil {
			t.Fatal(err)
		}
		must(b.Serve(p, describe))
		gone, stop := context.WithCancel(context.Background())
		stop()
		b.Close(gone)
		p.Close(gone)
	}
	goleak.VerifyNone(t, before,
		goleak.IgnoreTopFunction("github.com/panjf2000/ants/v2.(*poolCommon).ticktock"),
		goleak.IgnoreTopFunction("github.com/panjf2000/ants/v2.(*poolCommon).purgeStaleWorkers"))
}

// TestAClosedWorkerPoolIsNotTheCallersClosedPool: a worker whose pool is
// closed (a rolling restart) did not run the job, which may run elsewhere:
// the caller sees ErrUnavailable (and falls back locally if so
// configured), not ErrClosed, which says that the caller's own pool is
// closed.
func TestAClosedWorkerPoolIsNotTheCallersClosedPool(t *testing.T) {
	_, url := startServer(t, 0)
	_, wp := worker(t, weftnats.Config{URL: url}, offload.Config{Workers: 1}, describe)
	must(wp.Close(context.Background()))
	p, _ := caller(t, weftnats.Config{URL: url})
	_, err := wait(t, offload.Call(runtime.Detached(context.Background()), p, describe, shape{"square", 4}))
	if !errors.Is(err, offload.ErrUnavailable) {
		t.Fatalf("err = %v, want ErrUnavailable (the job did not run; the caller's pool is open)", err)
	}
}
