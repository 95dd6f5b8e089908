// Command hello is the smallest weft service: two routes, one of them
// waiting on a timer without blocking its loop, served until Ctrl-C.
//
//	go run ./examples/hello
//	curl localhost:8080/hello/world
//	curl localhost:8080/slow
package main

import (
	"context"
	"log"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/weftgo/weft"
)

func main() {
	app := weft.New()
	app.GET("/hello/:name", func(c *weft.Ctx) weft.Result {
		return c.Text(200, "Hello, "+c.Param("name")+"!\n")
	})
	app.GET("/slow", func(c *weft.Ctx) weft.Result {
		// The loop serves other requests during the 100 ms.
		return weft.Then(c, weft.After(c, 100*time.Millisecond), func(struct{}) weft.Result {
			return c.Text(200, "done waiting\n")
		})
	})

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	log.Printf("hello: listening on %s", addr())
	if err := app.Run(ctx, addr()); err != nil {
		log.Fatal(err)
	}
}

func addr() string {
	if p := os.Getenv("PORT"); p != "" {
		return ":" + p
	}
	return ":8080"
}
