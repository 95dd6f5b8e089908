package offload_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/weftgo/weft/net"
	"github.com/weftgo/weft/offload"
	"github.com/weftgo/weft/runtime"
)

// A handler hands CPU-bound work to the pool and answers from the
// continuation, back on its loop; the loop serves other requests meanwhile.
// Close the pool in Server.OnShutdown.
func Example() {
	pool, err := offload.New(offload.Config{Workers: 2})
	if err != nil {
		panic(err)
	}
	handler := func(c *net.Ctx) net.Result {
		body := c.Body() // valid until the Result settles: the job may read it
		digest := offload.Run(c, pool, func(ctx context.Context) (string, error) {
			sum := sha256.Sum256(body)
			for i := 0; i < 1000; i++ {
				if i%100 == 0 && ctx.Err() != nil { // check now and then
					return "", ctx.Err()
				}
				sum = sha256.Sum256(sum[:])
			}
			return hex.EncodeToString(sum[:8]), nil
		})
		return runtime.Then(c, digest, func(hex string) net.Result {
			return c.Text(200, hex)
		})
	}
	srv := &net.Server{Handler: handler, OnShutdown: []func(context.Context) error{pool.Close}}
	tc, _ := net.NewTestConn(srv)
	defer tc.Close()
	defer pool.Close(context.Background())
	out, _ := tc.Serve([]byte("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"), 5*time.Second)
	fmt.Println(len(out) > 0, string(out[len(out)-16:]))
	// Output: true 424ff84246aabc15
}

// A job registered by name runs on the pool's workers, or on remote workers
// that registered the same name when the pool has a Config.Remote (see
// offload/nats); its caller cannot tell the difference.
func ExampleCall() {
	type resize struct{ W, H int }
	thumbnail := offload.NewJob("thumbnail", func(ctx context.Context, r resize) (string, error) {
		return fmt.Sprintf("%dx%d", r.W/4, r.H/4), nil
	}, offload.JobConfig{Idempotent: true})

	pool, err := offload.New(offload.Config{Workers: 1})
	if err != nil {
		panic(err)
	}
	defer pool.Close(context.Background())
	size, err := offload.Call(runtime.Detached(context.Background()), pool, thumbnail, resize{800, 600}).Wait(context.Background())
	fmt.Println(size, err)
	// Output: 200x150 <nil>
}
