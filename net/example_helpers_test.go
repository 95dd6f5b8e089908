package net_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/weftgo/weft/net"
	"github.com/weftgo/weft/net/webtest"
)

// exampleDo sends req to h in memory and prints the status and body.
func exampleDo(h net.Handler, req *http.Request) {
	srv := webtest.NewServer(h)
	defer srv.Close()
	resp, err := srv.Do(req)
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Println(resp.StatusCode, string(body))
}

// BindJSON refuses what encoding/json alone lets through, with a 4xx the
// client can read.
func ExampleCtx_BindJSON() {
	createTodo := func(c *net.Ctx) net.Result {
		var t struct {
			Title string `json:"title"`
		}
		if err := c.BindJSON(&t); err != nil {
			return net.Fail(err) // its status and message reach the client
		}
		return c.JSON(201, t)
	}
	for _, body := range []string{`{"title":"milk"}`, `{"title":"milk"} garbage`} {
		req := httptest.NewRequest("POST", "/todos", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		exampleDo(createTodo, req)
	}
	// Output:
	// 201 {"title":"milk"}
	// 400 request body: unexpected data after the JSON value at offset 17
}

// Typed getters give the default for an absent parameter and a 400 naming
// the parameter for a bad one.
func ExampleCtx_QueryInt() {
	list := func(c *net.Ctx) net.Result {
		limit, err := c.QueryInt("limit", 20)
		if err != nil {
			return net.Fail(err)
		}
		return c.Text(200, fmt.Sprintf("limit %d", limit))
	}
	exampleDo(list, httptest.NewRequest("GET", "/todos", nil))
	exampleDo(list, httptest.NewRequest("GET", "/todos?limit=5", nil))
	exampleDo(list, httptest.NewRequest("GET", "/todos?limit=ten", nil))
	// Output:
	// 200 limit 20
	// 200 limit 5
	// 400 query parameter "limit": "ten" is not an integer
}

// Cookies are read without allocating and set with net/http's Cookie.
func ExampleCtx_Cookie() {
	h := func(c *net.Ctx) net.Result {
		theme, ok := c.Cookie("theme")
		if !ok {
			theme = "light"
		}
		if err := c.SetCookie(&http.Cookie{Name: "seen", Value: "1", Path: "/", HttpOnly: true,
			SameSite: http.SameSiteLaxMode}); err != nil {
			return net.Fail(err)
		}
		return c.Text(200, theme+"; Set-Cookie: "+c.ResponseHeader("Set-Cookie"))
	}
	req := httptest.NewRequest("GET", "/", nil)
	req.Header.Set("Cookie", `lang=en; theme="dark"`)
	exampleDo(h, req)
	// Output: 200 dark; Set-Cookie: seen=1; Path=/; HttpOnly; SameSite=Lax
}

// HeaderValues yields every field of a repeated header.
func ExampleCtx_HeaderValues() {
	h := func(c *net.Ctx) net.Result {
		var via []string
		for v := range c.HeaderValues("Via") {
			via = append(via, v)
		}
		return c.Text(200, strings.Join(via, " | "))
	}
	req := httptest.NewRequest("GET", "/", nil)
	req.Header["Via"] = []string{"1.1 a", "1.1 b, 1.1 c"}
	exampleDo(h, req)
	// Output: 200 1.1 a | 1.1 b, 1.1 c
}

// FormValue reads an urlencoded body.
func ExampleCtx_FormValue() {
	login := func(c *net.Ctx) net.Result {
		return c.Text(200, "hello "+c.FormValue("user"))
	}
	req := httptest.NewRequest("POST", "/login", strings.NewReader("user=ada+lovelace&remember=1"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	exampleDo(login, req)
	// Output: 200 hello ada lovelace
}

// Errorf's message is the body of the answer.
func ExampleErrorf() {
	h := func(c *net.Ctx) net.Result {
		return net.Fail(net.Errorf(422, "title: at most %d characters", 80))
	}
	exampleDo(h, httptest.NewRequest("POST", "/todos", nil))
	// Output: 422 title: at most 80 characters
}
