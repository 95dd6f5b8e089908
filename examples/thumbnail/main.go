// Command thumbnail shows weft's offload in a service a user would write:
// POST an image to /thumbnail and get a PNG thumbnail back, computed on the
// offload pool, while GET /health, on the same loops, stays fast however
// many thumbnails are being made.
//
//	go run ./examples/thumbnail
//	curl --data-binary @photo.jpg 'localhost:8080/thumbnail?width=200&blur=2' > thumb.png
//	curl localhost:8080/health
//
// When the pool's queue is full, /thumbnail answers 503 with Retry-After at
// once instead of letting the backlog grow.
package main

import (
	"context"
	"errors"
	"log"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/weftgo/weft/net"
	"github.com/weftgo/weft/offload"
	"github.com/weftgo/weft/router"
	"github.com/weftgo/weft/runtime"
)

func routes(pool *offload.Pool) *router.Router {
	r := router.New()
	r.GET("/health", func(c *net.Ctx) net.Result {
		return c.Text(200, "ok")
	})
	r.POST("/thumbnail", func(c *net.Ctx) net.Result {
		width, err := queryInt(c, "width", 128, 1, 2048)
		if err != nil {
			return net.Fail(err)
		}
		blur, err := queryInt(c, "blur", 0, 0, 32)
		if err != nil {
			return net.Fail(err)
		}
		// c.Body() stays valid until this request's Result settles, so the
		// job may read it without a copy. The job must not touch c itself.
		body := c.Body()
		png := offload.Run(c, pool, func(ctx context.Context) ([]byte, error) {
			return thumbnail(ctx, body, width, blur)
		})
		return runtime.Then(c, png, func(b []byte) net.Result {
			return c.Send(200, "image/png", b)
		}).Catch(c, func(err error) net.Result {
			if errors.Is(err, errTooLarge) {
				return net.Fail(net.NewError(413, "image too large"))
			}
			if net.StatusOf(err) == 500 && !isPanic(err) {
				return net.Fail(net.NewError(415, err.Error()))
			}
			return net.Fail(err) // overload (503), panics (500), cancellation
		})
	})
	return r
}

func isPanic(err error) bool {
	var pe *runtime.PanicError
	return errors.As(err, &pe)
}

// queryInt is c.QueryInt with bounds: the 400 of a value that is not an
// integer comes from weft, naming the parameter; the range is ours.
func queryInt(c *net.Ctx, name string, def, lo, hi int) (int, error) {
	n, err := c.QueryInt(name, def)
	if err != nil {
		return 0, err
	}
	if n < lo || n > hi {
		return 0, net.Errorf(400, "%s must be from %d to %d", name, lo, hi)
	}
	return n, nil
}

func main() {
	pool, err := offload.New(offload.Config{})
	if err != nil {
		log.Fatal(err)
	}
	addr := ":8080"
	if p := os.Getenv("PORT"); p != "" {
		addr = ":" + p
	}
	srv := &net.Server{
		Addr:         addr,
		Handler:      routes(pool).Serve,
		MaxBodyBytes: 16 << 20,
		OnShutdown:   []func(context.Context) error{pool.Close},
	}
	if err := srv.Start(); err != nil {
		log.Fatal(err)
	}
	log.Printf("thumbnail: listening on %s", srv.ListenAddr())
	stop, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	<-stop.Done()
	ctx, cancelShutdown := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancelShutdown()
	if err := srv.Shutdown(ctx); err != nil {
		log.Print(err)
	}
}
