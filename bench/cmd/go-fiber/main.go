// Command go-fiber is the Fiber v2 peer (Express-like API on fasthttp).
// /cpu computes in the handler.
package main

import (
	"log"
	"os"
	"os/signal"
	"syscall"

	"github.com/gofiber/fiber/v2"

	"github.com/weftgo/weft/bench/internal/common"
)

func main() {
	job := common.JobFromEnv()
	app := fiber.New(fiber.Config{DisableStartupMessage: true})
	app.Get("/plaintext", func(c *fiber.Ctx) error {
		c.Set(fiber.HeaderContentType, fiber.MIMETextPlain)
		return c.SendString(common.HelloWorld)
	})
	app.Get("/json", func(c *fiber.Ctx) error {
		return c.JSON(&common.Message{Message: common.HelloWorld})
	})
	app.Get("/users/:id", func(c *fiber.Ctx) error {
		return c.JSON(&common.User{ID: c.Params("id")})
	})
	app.Get("/cpu", func(c *fiber.Ctx) error {
		c.Set(fiber.HeaderContentType, fiber.MIMETextPlain)
		return c.SendString(job.Run())
	})
	app.Post("/echo", func(c *fiber.Ctx) error {
		ct := c.Get(fiber.HeaderContentType, fiber.MIMEOctetStream)
		c.Set(fiber.HeaderContentType, ct)
		return c.Send(c.Body())
	})
	go func() {
		if err := app.Listen(common.Addr()); err != nil {
			log.Fatal(err)
		}
	}()
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGINT, syscall.SIGTERM)
	<-stop
	app.Shutdown()
}
