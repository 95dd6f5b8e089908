package net_test

import (
	"bufio"
	"context"
	"io"
	stdnet "net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/weftgo/weft/net"
	"github.com/weftgo/weft/offload"
	"github.com/weftgo/weft/runtime"
)

// Regression tests from the review of 2026-11-26.

func TestJobKeepsItsRequestBytes(t *testing.T) {
	// The handler stops waiting for its job (WithTimeout) and answers; the
	// job still reads the request's body afterwards. The next request must
	// not get that Ctx (and its bytes) while the job runs.
	pool, err := offload.New(offload.Config{Workers: 1, Nice: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close(context.Background())
	var mu sync.Mutex
	seen := make(chan string, 2)
	tc := newTestConn(t, &net.Server{Handler: func(c *net.Ctx) net.Result {
		body := c.Body()
		f := offload.Run(c, pool, func(ctx context.Context) (string, error) {
			time.Sleep(50 * time.Millisecond)
			mu.Lock()
			defer mu.Unlock()
			seen <- string(body)
			return string(body), nil
		})
		return runtime.Then(c, runtime.WithTimeout(c, f, 5*time.Millisecond), func(s string) net.Result {
			return c.Text(200, s)
		}).Catch(c, func(error) net.Result { return c.Text(200, "gave up") })
	}})
	tc.Serve([]byte("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nAAAA"), time.Second)
	tc.Serve([]byte("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nBBBB"), time.Second)
	if s := <-seen; s != "AAAA" {
		t.Fatalf("the first request's job read %q: its request was recycled under it", s)
	}
}

func TestResultFromNoLoopIsBroughtToTheLoop(t *testing.T) {
	// A handler returning a future with no loop (or another loop's): the
	// server must finish the request on its own loop (-race checks).
	tc := newTestConn(t, &net.Server{Handler: func(c *net.Ctx) net.Result {
		c.Text(200, "ok")
		return runtime.Blocking(runtime.Detached(context.Background()), func(context.Context) (struct{}, error) {
			time.Sleep(5 * time.Millisecond)
			return struct{}{}, nil
		})
	}})
	for range 3 {
		out, err := tc.Serve([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), time.Second)
		if err != nil || !strings.HasSuffix(string(out), "ok") {
			t.Fatalf("%q, %v", out, err)
		}
	}
}

func TestContextAfterTheResponseIsCancelled(t *testing.T) {
	got := make(chan context.Context, 1)
	promised := make(chan runtime.Promise[struct{}], 1)
	addr := startServer(t, &net.Server{HandlerTimeout: 50 * time.Millisecond, Handler: func(c *net.Ctx) net.Result {
		// HandlerTimeout answers 503 at a sweep after 50 ms; the
		// continuation runs only once the client has read it. (runtime.After
		// would be cancelled with the request: a promise of our own is not.)
		p := runtime.NewPromise[struct{}](c.Loop())
		promised <- p
		return runtime.Then(c, p.Future(), func(struct{}) net.Result {
			got <- c.Context() // asked for after the 503 was final
			return c.Text(200, "late")
		})
	}})
	rc := dial(t, addr)
	rc.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	if resp, _ := rc.read("GET"); resp.StatusCode != 503 {
		t.Fatalf("status %d, want 503", resp.StatusCode)
	}
	(<-promised).Resolve(struct{}{})
	if ctx := <-got; ctx.Err() == nil {
		t.Fatal("a request context asked for after the response was final is live")
	}
}

func TestShutdownDuringStart(t *testing.T) {
	for range 3 {
		srv := &net.Server{Addr: "127.0.0.1:0", Loops: 1, Handler: func(c *net.Ctx) net.Result { return c.Text(200, "x") }}
		started := make(chan error, 1)
		go func() { started <- srv.Start() }()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		srv.Shutdown(ctx)
		cancel()
		<-started
		srv.Shutdown(context.Background())
		if a := srv.ListenAddr(); a != nil {
			if c, err := stdnet.DialTimeout("tcp", a.String(), 200*time.Millisecond); err == nil {
				c.Close()
				t.Fatalf("after Shutdown, %s still accepts", a)
			}
		}
	}
}

func TestShutdownLetsLargeResponsesFinish(t *testing.T) {
	big := make([]byte, 32<<20)
	srv := &net.Server{Addr: "127.0.0.1:0", Loops: 1, MaxOutboundBytes: 64 << 20,
		Handler: func(c *net.Ctx) net.Result { return c.Send(200, "application/octet-stream", big) }}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	c, err := stdnet.Dial("tcp", srv.ListenAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.(*stdnet.TCPConn).SetReadBuffer(16 << 10)
	c.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"))
	br := bufio.NewReader(c)
	cl := 0
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		if v, ok := strings.CutPrefix(line, "Content-Length: "); ok {
			cl, _ = strconv.Atoi(strings.TrimSpace(v))
		}
		if line == "\r\n" {
			break
		}
	}
	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		done <- srv.Shutdown(ctx)
	}()
	time.Sleep(300 * time.Millisecond) // the client is still reading
	n, _ := io.Copy(io.Discard, br)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if int(n) != cl {
		t.Fatalf("a graceful shutdown cut the response: %d of %d body bytes", n, cl)
	}
}

func TestBlockedLoopGetsNoNewConnections(t *testing.T) {
	release := make(chan struct{})
	srv := &net.Server{Loops: 2, Handler: func(c *net.Ctx) net.Result {
		if c.Path() == "/block" {
			<-release // a bug blocks one loop, until the test ends
		}
		return c.Text(200, "x")
	}}
	addr := startServer(t, srv)
	var once sync.Once
	unblock := func() { once.Do(func() { close(release) }) }
	t.Cleanup(unblock) // before the server's shutdown, registered earlier
	b := dial(t, addr)
	b.send("GET /block HTTP/1.1\r\nHost: x\r\n\r\n")
	// Wait until the blocked loop's lag shows (the acceptor's signal).
	var st net.ServerStats
	for lagging := false; !lagging; {
		srv.Stats(&st)
		for _, l := range st.Loops {
			lagging = lagging || l.LagNow > 100*time.Millisecond
		}
		time.Sleep(10 * time.Millisecond)
	}
	// Every new connection is answered while the loop is still blocked:
	// one placed on it would wait until its read deadline and fail.
	for range 6 {
		rc := dial(t, addr)
		rc.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
		rc.read("GET")
	}
	unblock()
	b.read("GET")
}

func TestBodyLimitPanicIsA500(t *testing.T) {
	tc := newTestConn(t, &net.Server{
		Handler: func(c *net.Ctx) net.Result { return c.Text(200, "ok") },
		BodyLimit: func(c *net.Ctx) int64 {
			if c.Path() == "/boom" {
				panic("bug in BodyLimit")
			}
			return 0
		},
	})
	out, err := tc.Serve([]byte("POST /boom HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\nb"), time.Second)
	if err != nil || !strings.HasPrefix(string(out), "HTTP/1.1 500") {
		t.Fatalf("%q, %v; want a 500", out, err)
	}
}
