package net_test

import (
	"context"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/weftgo/weft/net"
	"github.com/weftgo/weft/runtime"
)

func TestSmoke(t *testing.T) {
	srv := &net.Server{Addr: "127.0.0.1:0", Handler: func(c *net.Ctx) net.Result {
		if c.Path() == "/async" {
			f := runtime.Blocking(c, func(ctx context.Context) (string, error) { time.Sleep(10 * time.Millisecond); return "slow", nil })
			return runtime.Then(f, func(s string) net.Result { return c.Text(200, s) })
		}
		return c.Text(200, "Hello, World!")
	}}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown(context.Background())
	for _, p := range []string{"/", "/async", "/"} {
		resp, err := http.Get("http://" + srv.ListenAddr().String() + p)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		t.Logf("%s %d %q %v", p, resp.StatusCode, b, resp.Header)
	}
}
