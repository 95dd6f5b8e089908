// Command hello is the smallest weft service: two routes, one of them
// waiting on a timer without blocking its loop, served until Ctrl-C.
//
//	go run ./examples/hello
//	curl localhost:8080/hello/world
//	curl localhost:8080/slow
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
	"github.com/weftgo/weft/router"
	"github.com/weftgo/weft/runtime"
)

func main() {
	r := router.New()
	r.GET("/hello/:name", func(c *net.Ctx) net.Result {
		return c.Text(200, "Hello, "+c.Param("name")+"!\n")
	})
	r.GET("/slow", func(c *net.Ctx) net.Result {
		// The loop serves other requests during the 100 ms.
		return runtime.Then(c, runtime.After(c, 100*time.Millisecond), func(struct{}) net.Result {
			return c.Text(200, "done waiting\n")
		})
	})

	srv := &net.Server{Addr: addr(), Handler: r.Serve}
	if err := srv.Start(); err != nil {
		log.Fatal(err)
	}
	log.Printf("hello: listening on %s", srv.ListenAddr())

	stop, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	select {
	case <-stop.Done():
	case <-waitErr(srv):
	}
	ctx, cancelShutdown := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancelShutdown()
	if err := srv.Shutdown(ctx); err != nil {
		log.Printf("hello: shutdown: %v", err)
	}
	if err := srv.Wait(); err != nil && !errors.Is(err, net.ErrServerClosed) {
		log.Fatal(err)
	}
}

func addr() string {
	if p := os.Getenv("PORT"); p != "" {
		return ":" + p
	}
	return ":8080"
}

// waitErr reports the server stopping by itself (an engine failure).
func waitErr(srv *net.Server) <-chan error {
	ch := make(chan error, 1)
	go func() { ch <- srv.Wait() }()
	return ch
}
