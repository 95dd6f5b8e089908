package net_test

import (
	"errors"
	"io"
	"net/http/httptest"
	"strings"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/weftgo/weft/net"
	"github.com/weftgo/weft/runtime"
)

// A 5xx's internal cause must not reach the client: Errorf with a 5xx
// status is the server's own failure, whose text is logged, not sent.
// A 4xx's message is the client's to read.
func TestErrorfServerErrorsDoNotLeakTheirCause(t *testing.T) {
	secret := errors.New("dial tcp 10.0.0.7:5432: password=hunter2")
	cases := []struct {
		name   string
		err    *net.Error
		status int
		body   string
	}{
		{"4xx message is sent", net.Errorf(400, "title: at most %d characters", 80), 400, "title: at most 80 characters"},
		{"500 with %v", net.Errorf(500, "db: %v", secret), 500, "Internal Server Error"},
		{"503 with %w", net.Errorf(503, "db: %w", secret), 503, "Service Unavailable"},
		{"502 plain", net.Errorf(502, "upstream %s said no", "10.0.0.9"), 502, "Bad Gateway"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			core, logs := observer.New(zapcore.WarnLevel)
			srv := serve(t, &net.Server{Logger: zap.New(core), Handler: func(c *net.Ctx) net.Result {
				return net.Fail(tc.err)
			}})
			resp, body := do(t, srv, httptest.NewRequest("GET", "/", nil))
			if resp.StatusCode != tc.status || body != tc.body {
				t.Fatalf("got %d %q, want %d %q", resp.StatusCode, body, tc.status, tc.body)
			}
			if tc.status >= 500 {
				// The cause is logged for the operator.
				if logs.Len() != 1 || !strings.Contains(logs.All()[0].ContextMap()["error"].(string), "10.0.0.") {
					t.Fatalf("the cause was not logged: %v", logs.All())
				}
			}
		})
	}
	// %w still reaches errors.Is for a 5xx.
	if err := net.Errorf(503, "db: %w", secret); !errors.Is(err, secret) {
		t.Fatalf("errors.Is(%v, secret) = false", err)
	}
}

// A handler that attaches a continuation to a future it did not start
// (a shared promise: a cache fill, a singleflight) and returns net.Done()
// must not have its Ctx recycled under the continuation: the late call
// would write into whatever request got the Ctx next. The late call is
// dropped and logged, like one after a Blocking.
func TestLateContinuationOnSharedFutureDoesNotTouchTheNextRequest(t *testing.T) {
	core, logs := observer.New(zapcore.WarnLevel)
	shared := runtime.NewPromise[string](nil) // no loop: shared by every request
	gate := runtime.NewPromise[struct{}](nil)
	lateRan := make(chan struct{})
	nextStarted := make(chan struct{})
	srv := serve(t, &net.Server{Loops: 1, Logger: zap.New(core), Handler: func(c *net.Ctx) net.Result {
		switch c.Path() {
		case "/late":
			net.SetRoute(c, "/late")
			runtime.Then(c, shared.Future(), func(s string) net.Result {
				defer close(lateRan)
				return c.Text(200, s) // too late: the response is final
			})
			return net.Done() // the bug
		default:
			net.SetRoute(c, "/next")
			close(nextStarted)
			return runtime.Map(c, gate.Future(), func(struct{}) (struct{}, error) { return struct{}{}, nil })
		}
	}})
	if resp, body := do(t, srv, httptest.NewRequest("GET", "/late", nil)); resp.StatusCode != 200 || body != "" {
		t.Fatalf("/late: got %d %q", resp.StatusCode, body)
	}
	type answer struct {
		status int
		body   string
	}
	next := make(chan answer, 1)
	go func() {
		resp, err := srv.Do(httptest.NewRequest("GET", "/next", nil))
		if err != nil {
			next <- answer{0, err.Error()}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			next <- answer{0, err.Error()}
			return
		}
		next <- answer{resp.StatusCode, string(b)}
	}()
	<-nextStarted
	shared.Resolve("late answer of /late")
	<-lateRan
	gate.Resolve(struct{}{})
	if a := <-next; a.status != 200 || a.body != "" {
		t.Fatalf("/next: got %d %q, want its own empty 200: /late's continuation wrote into it", a.status, a.body)
	}
	entries := logs.FilterMessageSnippet("after the response was final").All()
	if len(entries) != 1 || entries[0].ContextMap()["route"] != "/late" {
		t.Fatalf("late write warnings: %v, want one for /late", logs.All())
	}
}

// A number that does not fit an integer field gets a message that says
// what would: not "want a number, got number 1.5".
func TestBindJSONIntegerMessages(t *testing.T) {
	srv := serve(t, &net.Server{Handler: func(c *net.Ctx) net.Result {
		var v struct {
			Count int   `json:"count"`
			N     uint8 `json:"n"`
			Small int8  `json:"small"`
		}
		if err := c.BindJSON(&v); err != nil {
			return net.Fail(err)
		}
		return c.Text(200, "ok")
	}})
	cases := []struct{ body, want string }{
		{`{"count":1.5}`, `request body: field "count": want an integer, got number 1.5`},
		{`{"count":99999999999999999999}`, `request body: field "count": want an integer from -9223372036854775808 to 9223372036854775807, got number 99999999999999999999`},
		{`{"n":300}`, `request body: field "n": want an integer from 0 to 255, got number 300`},
		{`{"n":-1}`, `request body: field "n": want an integer from 0 to 255, got number -1`},
		{`{"small":-129}`, `request body: field "small": want an integer from -128 to 127, got number -129`},
		{`{"count":"1"}`, `request body: field "count": want an integer, got string`},
	}
	for _, tc := range cases {
		t.Run(tc.body, func(t *testing.T) {
			req := httptest.NewRequest("POST", "/", strings.NewReader(tc.body))
			req.Header.Set("Content-Type", "application/json")
			resp, body := do(t, srv, req)
			if resp.StatusCode != 400 || body != tc.want {
				t.Fatalf("got %d %q, want 400 %q", resp.StatusCode, body, tc.want)
			}
		})
	}
}
