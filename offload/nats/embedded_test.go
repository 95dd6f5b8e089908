package nats

import (
	"context"
	"testing"

	"github.com/weftgo/weft/offload"
	"github.com/weftgo/weft/runtime"
)

var square = offload.NewJob("square", func(_ context.Context, n int) (int, error) { return n * n, nil }, offload.JobConfig{})

// TestEmbeddedServer: with no URL, NATS runs in-process without a TCP
// listener, and this process's own workers take the jobs that overflow.
func TestEmbeddedServer(t *testing.T) {
	b, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close(context.Background())
	if b.embedded == nil || b.embedded.Addr() != nil {
		t.Fatalf("embedded server %v listening on %v; want one with no listener", b.embedded, b.embedded.Addr())
	}
	p, err := offload.New(offload.Config{Workers: 1, Remote: b})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(context.Background())
	if err := b.Serve(p, square); err != nil {
		t.Fatal(err)
	}
	// The only worker is busy: the job goes through NATS and back to the
	// same pool's queue.
	gate, busy := make(chan struct{}), make(chan struct{})
	offload.Run(runtime.Detached(context.Background()), p, func(context.Context) (int, error) {
		close(busy)
		<-gate
		return 0, nil
	})
	<-busy
	f := offload.Call(runtime.Detached(context.Background()), p, square, 7)
	close(gate)
	v, err := f.Wait(context.Background())
	if err != nil || v != 49 {
		t.Fatalf("(%d, %v), want 49", v, err)
	}
	if s := p.Stats(); s.Remote.Sent != 1 || s.Remote.Completed != 1 {
		t.Fatalf("remote stats %+v: want the job sent through the embedded server", s.Remote)
	}
}
