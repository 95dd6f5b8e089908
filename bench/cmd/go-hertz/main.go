// Command go-hertz is the CloudWeGo Hertz peer with its defaults: the
// netpoll transport (an epoll event loop) on linux/amd64 and sonic for
// c.JSON. Handlers run on goroutines, so /cpu computes in the handler.
// server.New (not Default) so no recovery middleware, like the other peers.
package main

import (
	"context"
	"time"

	"github.com/cloudwego/hertz/pkg/app"
	"github.com/cloudwego/hertz/pkg/app/server"
	"github.com/cloudwego/hertz/pkg/protocol/consts"

	"github.com/weftgo/weft/bench/internal/common"
)

func main() {
	job := common.JobFromEnv()
	h := server.New(
		server.WithHostPorts(common.Addr()),
		server.WithExitWaitTime(time.Second),
		server.WithDisablePrintRoute(true),
	)
	h.GET("/plaintext", func(_ context.Context, c *app.RequestContext) {
		c.Data(consts.StatusOK, "text/plain", []byte(common.HelloWorld))
	})
	h.GET("/json", func(_ context.Context, c *app.RequestContext) {
		c.JSON(consts.StatusOK, &common.Message{Message: common.HelloWorld})
	})
	h.GET("/users/:id", func(_ context.Context, c *app.RequestContext) {
		c.JSON(consts.StatusOK, &common.User{ID: c.Param("id")})
	})
	h.GET("/cpu", func(_ context.Context, c *app.RequestContext) {
		c.Data(consts.StatusOK, "text/plain", []byte(job.Run()))
	})
	h.POST("/echo", func(_ context.Context, c *app.RequestContext) {
		ct := string(c.ContentType())
		if ct == "" {
			ct = "application/octet-stream"
		}
		body, err := c.Body()
		if err != nil {
			c.String(consts.StatusBadRequest, "%s", err.Error())
			return
		}
		c.Data(consts.StatusOK, ct, append([]byte(nil), body...))
	})
	h.Spin()
}
