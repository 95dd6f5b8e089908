// Command dashboard is a live dashboard over Server-Sent Events: the page
// at / opens an EventSource on /events, and the server pushes the
// process's memory and goroutine figures every second to each open page,
// with a comment every 15 s as a keep-alive through proxies. A page that
// closes ends its stream: the server sees the connection go, and the
// handler's chain ends on the failed Send.
//
//	go run ./examples/dashboard
//	open http://localhost:8080/
//	curl -N localhost:8080/events
package main

import (
	"context"
	"encoding/json"
	"log"
	"os"
	"os/signal"
	goruntime "runtime"
	"strconv"
	"syscall"
	"time"

	"github.com/weftgo/weft"
	"github.com/weftgo/weft/net"
)

const page = `<!doctype html>
<meta charset="utf-8"><title>weft dashboard</title>
<style>body{font:16px system-ui;margin:2em} td{padding:.2em 1em}</style>
<h1>weft dashboard</h1>
<table><tr><td>heap</td><td id="heap">…</td></tr>
<tr><td>goroutines</td><td id="goroutines">…</td></tr>
<tr><td>updated</td><td id="at">…</td></tr></table>
<script>
const es = new EventSource("/events");
es.addEventListener("stats", e => {
  const s = JSON.parse(e.data);
  heap.textContent = (s.heap / 1048576).toFixed(1) + " MiB";
  goroutines.textContent = s.goroutines;
  at.textContent = new Date(s.at).toLocaleTimeString();
});
</script>`

type stats struct {
	Heap       uint64 `json:"heap"`
	Goroutines int    `json:"goroutines"`
	At         int64  `json:"at"` // Unix ms
}

func main() {
	app := weft.New()
	app.GET("/", func(c *weft.Ctx) weft.Result {
		return c.HTML(200, page)
	})
	app.GET("/events", events)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	log.Printf("dashboard: listening on %s", addr())
	if err := app.Run(ctx, addr()); err != nil {
		log.Fatal(err)
	}
}

// events streams a "stats" event every second until the client leaves.
func events(c *weft.Ctx) weft.Result {
	sse := c.SSE()
	tick := 0
	var next func(struct{}) weft.Result
	next = func(struct{}) weft.Result {
		if tick%15 == 14 {
			sse.Comment("keep-alive")
		}
		// ReadMemStats is quick enough for a demo; a busy service would
		// sample once for all its pages.
		var m goruntime.MemStats
		goruntime.ReadMemStats(&m)
		data, _ := json.Marshal(stats{Heap: m.HeapAlloc, Goroutines: goruntime.NumGoroutine(), At: time.Now().UnixMilli()})
		f := sse.Send(net.Event{ID: strconv.Itoa(tick), Event: "stats", Data: string(data)})
		tick++
		// Wait for the client to take it (back-pressure) and a second;
		// once the client has gone, Send fails and so does the chain.
		return weft.Then(c, weft.All(c, f, weft.After(c, time.Second)), func([]struct{}) weft.Result {
			return next(struct{}{})
		})
	}
	return next(struct{}{})
}

func addr() string {
	if p := os.Getenv("PORT"); p != "" {
		return ":" + p
	}
	return ":8080"
}
