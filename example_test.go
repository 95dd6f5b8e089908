package weft_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"os/signal"
	"strings"

	"github.com/weftgo/weft"
)

// A service: one synchronous route, one that queries off the loop and
// answers back on it, served until Ctrl-C.
func Example() {
	app := weft.New()
	app.GET("/hello/:name", func(c *weft.Ctx) weft.Result {
		return c.Text(200, "Hello, "+c.Param("name"))
	})
	app.GET("/users", func(c *weft.Ctx) weft.Result {
		users := weft.Blocking(c, func(ctx context.Context) ([]string, error) {
			return []string{"ada", "grace"}, nil // database/sql here, off the loop
		})
		return weft.Then(c, users, func(u []string) weft.Result {
			return c.JSON(200, u) // back on c's loop
		})
	})
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := app.Run(ctx, ":8080"); err != nil {
		log.Fatal(err)
	}
}

// Off the loops, futures take a Detached scope and may be waited for.
func ExampleThen() {
	s := weft.Detached(context.Background())
	names := weft.Blocking(s, func(context.Context) ([]string, error) {
		return []string{"ada", "grace"}, nil
	})
	joined := weft.Map(s, names, func(n []string) (string, error) {
		return strings.Join(n, ", "), nil
	})
	fmt.Println(joined.Wait(context.Background()))
	// Output: ada, grace <nil>
}
