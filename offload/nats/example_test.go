package nats_test

import (
	"context"
	"fmt"

	"github.com/weftgo/weft/offload"
	weftnats "github.com/weftgo/weft/offload/nats"
	"github.com/weftgo/weft/runtime"
)

// With no URL, NATS runs in this process with no listener; the pool's own
// workers serve the jobs that overflow. With a URL (NATS_URL), the same
// code sends them to every worker on that NATS.
func Example() {
	upper := offload.NewJob("upper", func(_ context.Context, s string) (string, error) {
		return fmt.Sprintf("%q from a worker", s), nil
	}, offload.JobConfig{})

	backend, err := weftnats.New(weftnats.Config{}) // embedded
	if err != nil {
		panic(err)
	}
	defer backend.Close(context.Background())
	pool, err := offload.New(offload.Config{Workers: 1, Remote: backend})
	if err != nil {
		panic(err)
	}
	defer pool.Close(context.Background())
	if err := backend.Serve(pool, upper); err != nil {
		panic(err)
	}
	out, err := offload.Call(runtime.Detached(context.Background()), pool, upper, "weft").Wait(context.Background())
	fmt.Println(out, err)
	// Output: "weft" from a worker <nil>
}
