package net_test

import (
	"testing"
	"time"

	"github.com/weftgo/weft/net"
	"github.com/weftgo/weft/runtime"
)

// TestResultStatusOfAClientThatLeft: a request whose client closed the
// connection before the answer is reported 499 to metrics and access logs,
// not as the 500 its cancelled context would otherwise make it.
func TestResultStatusOfAClientThatLeft(t *testing.T) {
	got := make(chan int, 1)
	arrived := make(chan struct{})
	srv := &net.Server{Handler: func(c *net.Ctx) net.Result {
		close(arrived)
		return runtime.After(c, time.Hour).Finally(c, func(_ struct{}, err error) {
			got <- net.ResultStatus(c, err)
		})
	}}
	addr := startServer(t, srv)
	rc := dial(t, addr)
	rc.send("GET /wait HTTP/1.1\r\nHost: x\r\n\r\n")
	<-arrived
	rc.c.Close()
	if s := <-got; s != net.StatusClientClosedRequest {
		t.Fatalf("ResultStatus after the client left = %d, want %d", s, net.StatusClientClosedRequest)
	}
}
