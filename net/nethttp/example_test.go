package nethttp_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"

	"github.com/weftgo/weft/net"
	"github.com/weftgo/weft/net/nethttp"
	"github.com/weftgo/weft/net/webtest"
	"github.com/weftgo/weft/router"
)

// A net/http handler mounted on a weft route runs off the loop with a real
// *http.Request.
func ExampleHandler() {
	hello := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "hello %s from net/http (%s)", r.URL.Query().Get("name"), r.URL.Path)
	})
	r := router.New()
	r.GET("/legacy/*rest", nethttp.Handler(hello))
	// In a program, mount pprof the same way:
	// r.GET("/debug/pprof/*rest", nethttp.Handler(http.DefaultServeMux))

	srv := webtest.NewServer(r.Serve)
	defer srv.Close()
	resp, _ := srv.Do(httptest.NewRequest("GET", "/legacy/x?name=ada", nil))
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Println(string(body))
	// Output: hello ada from net/http (/legacy/x)
}

// A weft router serves the /api/ routes of a net/http program; the others
// stay where they are.
func ExampleToHTTP() {
	r := router.New()
	r.GET("/api/users/:id", func(c *net.Ctx) net.Result {
		return c.JSON(200, map[string]string{"id": c.Param("id")})
	})
	api, err := nethttp.ToHTTP(&net.Server{Handler: r.Serve})
	if err != nil {
		panic(err)
	}
	defer api.Close()
	mux := http.NewServeMux()
	mux.Handle("/api/", api)

	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest("GET", "/api/users/42", nil))
	fmt.Println(rec.Code, rec.Body.String())
	// Output: 200 {"id":"42"}
}
