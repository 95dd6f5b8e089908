// Command go-nbio serves the standard library ServeMux (the same one as
// go-nethttp) on nbio's nbhttp engine: an epoll event loop reads and parses
// requests, then handlers run on nbio's goroutine pool (its default
// executor), so /cpu computes in the handler.
package main

import (
	"context"
	"log"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/lesismal/nbio/nbhttp"

	"github.com/weftgo/weft/bench/internal/common"
)

func main() {
	engine := nbhttp.NewEngine(nbhttp.Config{
		Network: "tcp",
		Addrs:   []string{common.Addr()},
		Handler: common.NewServeMux(common.JobFromEnv()),
		// nbio refuses connections past MaxLoad (10k by default); the
		// idle-connection scenario holds 10k plus a fresh one.
		MaxLoad: 1 << 20,
	})
	if err := engine.Start(); err != nil {
		log.Fatal(err)
	}
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGINT, syscall.SIGTERM)
	<-stop
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	engine.Shutdown(ctx)
}
