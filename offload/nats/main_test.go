package nats_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	natsgo "github.com/nats-io/nats.go"
	"go.uber.org/goleak"

	"github.com/weftgo/weft/offload"
	weftnats "github.com/weftgo/weft/offload/nats"
	"github.com/weftgo/weft/runtime"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		goleak.IgnoreTopFunction("github.com/panjf2000/ants/v2.(*poolCommon).ticktock"),
		goleak.IgnoreTopFunction("github.com/panjf2000/ants/v2.(*poolCommon).purgeStaleWorkers"),
		// nats-server's process-wide helpers, started once.
		goleak.IgnoreAnyFunction("github.com/nats-io/nats-server/v2/server.(*Server).logRejectedTLSConns"),
	)
}

// startServer runs a real nats-server on 127.0.0.1 at port (0: a random
// one) until the test ends, and returns it with its URL.
func startServer(t *testing.T, port int) (*server.Server, string) {
	t.Helper()
	ns, url := startServerAt(t, port)
	t.Cleanup(func() { ns.Shutdown(); ns.WaitForShutdown() })
	return ns, url
}

// startServerTB runs a nats-server on a random loopback port; the caller
// shuts it down.
func startServerTB(tb testing.TB) (*server.Server, string) { return startServerAt(tb, 0) }

func startServerAt(tb testing.TB, port int) (*server.Server, string) {
	tb.Helper()
	if port == 0 {
		port = server.RANDOM_PORT
	}
	ns, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: port, NoSigs: true, NoLog: true})
	if err != nil {
		tb.Fatal(err)
	}
	ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		tb.Fatal("nats-server did not start")
	}
	return ns, ns.ClientURL()
}

func newBackend(t *testing.T, cfg weftnats.Config) *weftnats.Backend {
	t.Helper()
	b, err := weftnats.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close(context.Background()) })
	return b
}

func newPool(t *testing.T, cfg offload.Config) *offload.Pool {
	t.Helper()
	p, err := offload.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close(context.Background()) })
	return p
}

// worker starts a worker backend serving jobs on a pool of its own.
func worker(t *testing.T, cfg weftnats.Config, pcfg offload.Config, jobs ...offload.Handler) (*weftnats.Backend, *offload.Pool) {
	t.Helper()
	b := newBackend(t, cfg)
	p := newPool(t, pcfg)
	if err := b.Serve(p, jobs...); err != nil {
		t.Fatal(err)
	}
	return b, p
}

// caller returns a pool with no local workers whose jobs go out through a
// backend on url.
func caller(t *testing.T, cfg weftnats.Config) (*offload.Pool, *weftnats.Backend) {
	t.Helper()
	b := newBackend(t, cfg)
	return newPool(t, offload.Config{Workers: offload.NoWorkers, Remote: b}), b
}

func wait[T any](t *testing.T, f runtime.Future[T]) (T, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	v, err := f.Wait(ctx)
	if ctx.Err() != nil {
		t.Fatal("future did not settle in 10s")
	}
	return v, err
}

// waitStatus waits for nc to reach status s.
func waitStatus(t *testing.T, nc *natsgo.Conn, s natsgo.Status) {
	t.Helper()
	ch := nc.StatusChanged(s)
	defer nc.RemoveStatusListener(ch)
	if nc.Status() == s {
		return
	}
	select {
	case <-ch:
	case <-time.After(10 * time.Second):
		t.Fatalf("connection still %v, want %v", nc.Status(), s)
	}
}

// freePort returns a TCP port free on 127.0.0.1 now.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// meter is a runtime.Tracker that records what it is told.
type meter struct{ queued, ran time.Duration }

func (m *meter) Measure(_ runtime.Work, queued, ran time.Duration) { m.queued, m.ran = queued, ran }
func (m *meter) Keep()                                             {}
func (m *meter) Release()                                          {}

// meteredScope is a Scope whose Tracker is a meter.
type meteredScope struct {
	runtime.Scope
	*meter
}

func (s meteredScope) Tracker() runtime.Tracker { return s.meter }

var errUser = errors.New("user error")

type teapot struct{}

func (teapot) Error() string   { return "teapot" }
func (teapot) HTTPStatus() int { return 418 }

func must(err error) {
	if err != nil {
		panic(fmt.Sprint(err))
	}
}
