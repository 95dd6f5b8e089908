package webtest_test

import (
	"context"
	"fmt"
	"io"
	"net/http/httptest"

	"github.com/weftgo/weft/net"
	"github.com/weftgo/weft/net/webtest"
	"github.com/weftgo/weft/runtime"
)

// A test sends an *http.Request and reads the *http.Response; the handler
// runs on a real event loop, its Blocking call on a goroutine of its own.
func Example() {
	handler := func(c *net.Ctx) net.Result {
		user := runtime.Blocking(c, func(ctx context.Context) (string, error) {
			return "ada", nil // a database query, say
		})
		return runtime.Then(c, user, func(name string) net.Result {
			return c.JSON(200, map[string]string{"id": c.Query("id"), "name": name})
		})
	}
	srv := webtest.NewServer(handler)
	defer srv.Close()

	resp, err := srv.Do(httptest.NewRequest("GET", "/users?id=42", nil))
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Println(resp.StatusCode, resp.Header.Get("Content-Type"), string(body))
	// Output: 200 application/json {"id":"42","name":"ada"}
}
