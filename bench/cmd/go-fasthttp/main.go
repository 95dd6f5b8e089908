// Command go-fasthttp is the fasthttp peer with its own routing: a switch
// on the path plus a "/users/" prefix. fasthttp runs each connection on a
// worker goroutine, so /cpu computes in the handler.
package main

import (
	"encoding/json"
	"log"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/valyala/fasthttp"

	"github.com/weftgo/weft/bench/internal/common"
)

var job common.Job

func writeJSON(ctx *fasthttp.RequestCtx, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		ctx.Error(err.Error(), fasthttp.StatusInternalServerError)
		return
	}
	ctx.SetContentType("application/json")
	ctx.SetBody(b)
}

func handler(ctx *fasthttp.RequestCtx) {
	path := string(ctx.Path())
	switch {
	case ctx.IsGet() && path == "/plaintext":
		ctx.SetContentType("text/plain")
		ctx.SetBodyString(common.HelloWorld)
	case ctx.IsGet() && path == "/json":
		writeJSON(ctx, &common.Message{Message: common.HelloWorld})
	case ctx.IsGet() && strings.HasPrefix(path, "/users/") && len(path) > len("/users/") &&
		!strings.Contains(path[len("/users/"):], "/"):
		writeJSON(ctx, &common.User{ID: path[len("/users/"):]})
	case ctx.IsGet() && path == "/cpu":
		ctx.SetContentType("text/plain")
		ctx.SetBodyString(job.Run())
	case ctx.IsPost() && path == "/echo":
		ct := ctx.Request.Header.ContentType()
		if len(ct) == 0 {
			ctx.SetContentType("application/octet-stream")
		} else {
			ctx.Response.Header.SetContentTypeBytes(ct)
		}
		ctx.SetBody(ctx.PostBody())
	default:
		ctx.Error("not found", fasthttp.StatusNotFound)
	}
}

func main() {
	job = common.JobFromEnv()
	srv := &fasthttp.Server{Handler: handler, Name: "fasthttp"}
	go func() {
		if err := srv.ListenAndServe(common.Addr()); err != nil {
			log.Fatal(err)
		}
	}()
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGINT, syscall.SIGTERM)
	<-stop
	srv.Shutdown()
}
