// Command go-nethttp is the standard library peer: net/http with a Go 1.22+
// ServeMux (method and {id} wildcard patterns). Handlers run on the
// goroutine of their connection, so /cpu simply computes in the handler.
// Beside the common endpoints it serves the streaming routes (GET
// /bytes/{n}, POST /sha256, GET /sse) and GET /ws, gorilla/websocket's echo
// (permessage-deflate accepted with WS_COMPRESS=1).
package main

import (
	"context"
	"log"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/weftgo/weft/bench/internal/common"
)

func main() {
	mux := common.NewServeMux(common.JobFromEnv())
	mux.HandleFunc("GET /ws", common.WSEcho(common.WSCompress()))
	srv := &http.Server{
		Addr:    common.Addr(),
		Handler: mux,
	}
	go func() {
		if err := srv.ListenAndServe(); err != nil && err != http.ErrServerClosed {
			log.Fatal(err)
		}
	}()
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGINT, syscall.SIGTERM)
	<-stop
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	srv.Shutdown(ctx)
}
