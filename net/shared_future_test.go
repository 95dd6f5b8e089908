package net_test

import (
	"net/http"
	"sync"
	"testing"

	"github.com/weftgo/weft/net"
	"github.com/weftgo/weft/runtime"
)

// TestSharedFutureContinuesOnEachRequestsLoop shares one in-flight future (a
// cache fill) between requests on every loop: each request's continuation
// must run on that request's loop, where it may touch its Ctx without locks.
func TestSharedFutureContinuesOnEachRequestsLoop(t *testing.T) {
	const loops, requests = 4, 16
	var (
		mu      sync.Mutex
		fill    runtime.Promise[string]
		started bool
		seen    = map[runtime.Loop]bool{}
		arrived = make(chan struct{}, requests)
	)
	srv := &net.Server{Loops: loops, Handler: func(c *net.Ctx) net.Result {
		mu.Lock()
		if !started {
			started = true
			fill = runtime.NewPromise[string](c.Loop())
		}
		shared := fill.Future()
		seen[c.Loop()] = true
		mu.Unlock()
		arrived <- struct{}{}
		return runtime.Then(c, shared, func(v string) net.Result {
			if !c.Loop().Running() {
				return c.Text(500, "continuation ran on another loop")
			}
			return c.Text(200, v)
		})
	}}
	addr := startServer(t, srv)
	type answer struct {
		status int
		body   string
	}
	answers := make(chan answer, requests)
	for range requests {
		go func() {
			tr := &http.Transport{DisableKeepAlives: true}
			defer tr.CloseIdleConnections()
			resp, err := (&http.Client{Transport: tr}).Get("http://" + addr + "/")
			if err != nil {
				answers <- answer{0, err.Error()}
				return
			}
			defer resp.Body.Close()
			buf := make([]byte, 64)
			n, _ := resp.Body.Read(buf)
			answers <- answer{resp.StatusCode, string(buf[:n])}
		}()
	}
	for range requests {
		<-arrived
	}
	mu.Lock()
	nloops := len(seen)
	mu.Unlock()
	if nloops < 2 {
		t.Fatalf("%d requests on %d loops reached only %d loop(s): the test shares nothing across loops", requests, loops, nloops)
	}
	go fill.Resolve("filled")
	for range requests {
		a := <-answers
		if a.status != 200 || a.body != "filled" {
			t.Errorf("answer %d %q, want 200 \"filled\"", a.status, a.body)
		}
	}
}
