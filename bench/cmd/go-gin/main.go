// Command go-gin is the Gin peer (release mode, gin.New() so no logger or
// recovery middleware, like the other peers). Gin runs on net/http, so /cpu
// computes in the handler.
package main

import (
	"context"
	"io"
	"log"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/weftgo/weft/bench/internal/common"
)

func main() {
	job := common.JobFromEnv()
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.GET("/plaintext", func(c *gin.Context) {
		c.String(http.StatusOK, common.HelloWorld)
	})
	r.GET("/json", func(c *gin.Context) {
		c.JSON(http.StatusOK, &common.Message{Message: common.HelloWorld})
	})
	r.GET("/users/:id", func(c *gin.Context) {
		c.JSON(http.StatusOK, &common.User{ID: c.Param("id")})
	})
	r.GET("/cpu", func(c *gin.Context) {
		c.String(http.StatusOK, job.Run())
	})
	r.POST("/echo", func(c *gin.Context) {
		body, err := io.ReadAll(c.Request.Body)
		if err != nil {
			c.String(http.StatusBadRequest, err.Error())
			return
		}
		ct := c.ContentType()
		if ct == "" {
			ct = "application/octet-stream"
		}
		c.Data(http.StatusOK, ct, body)
	})
	srv := &http.Server{Addr: common.Addr(), Handler: r}
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
