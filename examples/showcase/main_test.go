package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	stdnet "net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"
	"go.uber.org/zap"
)

func TestMain(m *testing.M) {
	if os.Getenv("SHOWCASE_RUN_MAIN") == "1" {
		// TestSIGTERM runs the test binary again as the real program.
		main()
		os.Exit(0)
	}
	goleak.VerifyTestMain(m,
		// gnet's shared worker pool (ants) keeps idle workers for a while
		// after the engines that used it stop.
		goleak.IgnoreAnyFunction("github.com/panjf2000/ants/v2.(*goWorker).run.func1"),
		goleak.IgnoreTopFunction("github.com/panjf2000/ants/v2.(*poolCommon).purgeStaleWorkers"),
		goleak.IgnoreTopFunction("github.com/panjf2000/ants/v2.(*poolCommon).ticktock"),
	)
}

// start runs the service on a free port until the test ends and returns
// its base URL.
func start(t *testing.T) string {
	t.Helper()
	srv, db, err := newServer(context.Background(), "127.0.0.1:0", zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		db.Close()
	})
	return "http://" + srv.ListenAddr().String()
}

func client(t *testing.T) *http.Client {
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{
		Transport:     tr,
		Timeout:       10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

func do(t *testing.T, c *http.Client, method, url, body string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

func TestUsers(t *testing.T) {
	base, c := start(t), client(t)
	resp, body := do(t, c, "GET", base+"/users", "")
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("%d %s: %s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	var users []User
	if err := json.Unmarshal([]byte(body), &users); err != nil {
		t.Fatal(err)
	}
	if len(users) != len(seedUsers) {
		t.Fatalf("%d users, want the %d seeded", len(users), len(seedUsers))
	}
	for i, u := range users {
		if u.ID != int64(i+1) || u.Name != seedUsers[i].Name || u.Email != seedUsers[i].Email || u.Created.IsZero() {
			t.Errorf("user %d: %+v, want %+v", i, u, seedUsers[i])
		}
	}
	if resp.Header.Get("X-Request-ID") == "" || resp.Header.Get("RateLimit-Limit") == "" {
		t.Errorf("middleware headers missing: %v", resp.Header)
	}
}

func TestUserByID(t *testing.T) {
	base, c := start(t), client(t)
	tests := []struct {
		path   string
		status int
		want   string
	}{
		{"/users/3", 200, `"name":"Grace Hopper"`},
		{"/users/99", 404, "no such user"},
		{"/users/abc", 400, "id must be a positive integer"},
		{"/users/0", 400, "id must be a positive integer"},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			resp, body := do(t, c, "GET", base+tt.path, "")
			if resp.StatusCode != tt.status || !strings.Contains(body, tt.want) {
				t.Fatalf("%d %q, want %d with %q", resp.StatusCode, body, tt.status, tt.want)
			}
		})
	}
}

func TestCreateUser(t *testing.T) {
	base, c := start(t), client(t)
	tests := []struct {
		name, body string
		status     int
		want       string
	}{
		{"created", `{"name":"Eve","email":"eve@example.com"}`, 201, `"id":6`},
		{"duplicate email", `{"name":"Eve 2","email":"eve@example.com"}`, 409, "a user with this email exists"},
		{"not JSON", `name=eve`, 400, "body must be a JSON user"},
		{"missing email", `{"name":"Mallory"}`, 422, "name and email are required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := do(t, c, "POST", base+"/users", tt.body)
			if resp.StatusCode != tt.status || !strings.Contains(body, tt.want) {
				t.Fatalf("%d %q, want %d with %q", resp.StatusCode, body, tt.status, tt.want)
			}
		})
	}
	resp, body := do(t, c, "GET", base+"/users/6", "")
	if resp.StatusCode != 200 || !strings.Contains(body, `"email":"eve@example.com"`) {
		t.Fatalf("the new user: %d %s", resp.StatusCode, body)
	}

	// A body over the API's 64 KiB limit is refused from its head, before
	// it is sent (a client still sending would see the connection close).
	conn, err := stdnet.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /users HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", 70<<10)
	resp, err = http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil || resp.StatusCode != 413 {
		t.Fatalf("oversized body: %v %v", resp, err)
	}
}

func TestHashOffload(t *testing.T) {
	base, c := start(t), client(t)
	want, err := hashChain(context.Background(), "abc", 1000)
	if err != nil {
		t.Fatal(err)
	}
	resp, body := do(t, c, "GET", base+"/hash?n=1000&seed=abc", "")
	if resp.StatusCode != 200 || !strings.Contains(body, `"sha256":"`+want+`"`) {
		t.Fatalf("%d %s, want sha256 %s", resp.StatusCode, body, want)
	}
	// The page shows this header under the result (static/app.js).
	if st := resp.Header.Get("Server-Timing"); !strings.Contains(st, "loop;dur=") || !strings.Contains(st, "offload;dur=") {
		t.Errorf("Server-Timing = %q, want the loop and offload split", st)
	}
	for _, q := range []string{"n=0", "n=abc", fmt.Sprintf("n=%d", maxHashRounds+1)} {
		if resp, body := do(t, c, "GET", base+"/hash?"+q, ""); resp.StatusCode != 400 {
			t.Errorf("%s: %d %s", q, resp.StatusCode, body)
		}
	}
}

func TestStaticFiles(t *testing.T) {
	base, c := start(t), client(t)
	if resp, _ := do(t, c, "GET", base+"/", ""); resp.StatusCode != 302 || resp.Header.Get("Location") != "/static/" {
		t.Fatalf("/: %d Location %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, body := do(t, c, "GET", base+"/static/", "")
	if resp.StatusCode != 200 || !strings.Contains(body, "<h1>weft showcase</h1>") ||
		!strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") || resp.Header.Get("ETag") == "" {
		t.Fatalf("/static/: %d %v", resp.StatusCode, resp.Header)
	}
	// net/http's client asked for gzip and decoded it.
	resp, body = do(t, c, "GET", base+"/static/app.js", "")
	if resp.StatusCode != 200 || !resp.Uncompressed || !strings.Contains(body, "loadUsers") {
		t.Fatalf("/static/app.js: %d, uncompressed %v", resp.StatusCode, resp.Uncompressed)
	}
	if resp, _ := do(t, c, "GET", base+"/static/missing.js", ""); resp.StatusCode != 404 {
		t.Fatalf("/static/missing.js: %d", resp.StatusCode)
	}
}

func TestNotFoundAndHealth(t *testing.T) {
	base, c := start(t), client(t)
	if resp, _ := do(t, c, "GET", base+"/nope", ""); resp.StatusCode != 404 {
		t.Fatalf("/nope: %d", resp.StatusCode)
	}
	if resp, body := do(t, c, "GET", base+"/health", ""); resp.StatusCode != 200 || body != "ok" || resp.Header.Get("RateLimit-Limit") != "" {
		t.Fatalf("/health: %d %q %v", resp.StatusCode, body, resp.Header)
	}
}

// TestSIGTERM runs the program itself (this test binary, as main), serves a
// request, sends SIGTERM and expects a clean exit.
func TestSIGTERM(t *testing.T) {
	ln, err := stdnet.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := fmt.Sprint(ln.Addr().(*stdnet.TCPAddr).Port)
	ln.Close()

	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "SHOWCASE_RUN_MAIN=1", "PORT="+port)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill() })

	logs := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			logs <- sc.Text()
		}
		close(logs)
	}()
	waitFor := func(what string) {
		t.Helper()
		timeout := time.After(20 * time.Second)
		for {
			select {
			case line, ok := <-logs:
				if !ok {
					t.Fatalf("the program ended before logging %q", what)
				}
				if strings.Contains(line, what) {
					return
				}
			case <-timeout:
				t.Fatalf("no %q in the logs", what)
			}
		}
	}
	waitFor("showcase listening")

	c := client(t)
	if resp, body := do(t, c, "GET", "http://127.0.0.1:"+port+"/users", ""); resp.StatusCode != 200 || !strings.Contains(body, "Ada Lovelace") {
		t.Fatalf("/users: %d %s", resp.StatusCode, body)
	}
	c.CloseIdleConnections()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	waitFor("shutting down")
	for range logs { // drain until the pipe closes
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("exit after SIGTERM: %v", err)
	}
}
