package websocket_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	stdnet "net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/weftgo/weft/net"
	ws "github.com/weftgo/weft/net/websocket"
	"github.com/weftgo/weft/net/webtest"
)

// startServer serves h on 127.0.0.1 (net/webtest) and returns its
// address; the server is shut down when the test ends.
func startServer(t *testing.T, h net.Handler) string {
	t.Helper()
	lg := zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel))
	ts, err := webtest.StartTCP(&net.Server{Handler: h, Loops: 2, Logger: lg})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := ts.Close(); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	return ts.Addr
}

// echoServer serves an echo session on /ws, and anything else with h.
func echoServer(t *testing.T, up *ws.Upgrader, other net.Handler) string {
	return startServer(t, func(c *net.Ctx) net.Result {
		if c.Path() == "/ws" {
			return up.Upgrade(c, ws.Handler{
				OnMessage: func(s *ws.Conn, typ ws.MessageType, data []byte) { s.Send(typ, data) },
			})
		}
		if other != nil {
			return other(c)
		}
		return c.Text(404, "not found")
	})
}

// inCI reports whether missing tools must fail the test instead of
// skipping it.
func inCI() bool { return os.Getenv("CI") == "true" }

func need(t *testing.T, tool string) string {
	t.Helper()
	p, err := exec.LookPath(tool)
	if err != nil {
		if inCI() {
			t.Fatalf("%s not found, and CI=true: .ci/run must install it", tool)
		}
		t.Skipf("%s not found", tool)
	}
	return p
}

// TestGoClient exchanges messages with coder/websocket, a Go client that
// shares no code with weft.
func TestGoClient(t *testing.T) {
	tests := []struct {
		name     string
		up       *ws.Upgrader
		compress websocket.CompressionMode
		size     int
	}{
		{"64 B", &ws.Upgrader{}, websocket.CompressionDisabled, 64},
		{"1 MiB, fragmented by the client's writer", &ws.Upgrader{MaxMessageBytes: 2 << 20}, websocket.CompressionDisabled, 1 << 20},
		{"deflate, 16 KiB", &ws.Upgrader{EnableCompression: true}, websocket.CompressionNoContextTakeover, 16 << 10},
		{"deflate, 1 MiB off the loop", &ws.Upgrader{EnableCompression: true, MaxMessageBytes: 2 << 20}, websocket.CompressionNoContextTakeover, 1 << 20},
		{"deflate with context takeover, 16 KiB", &ws.Upgrader{EnableCompression: true, ContextTakeover: true}, websocket.CompressionContextTakeover, 16 << 10},
		{"deflate with context takeover, 1 MiB off the loop", &ws.Upgrader{EnableCompression: true, ContextTakeover: true, MaxMessageBytes: 2 << 20}, websocket.CompressionContextTakeover, 1 << 20},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			addr := echoServer(t, tc.up, nil)
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			defer cancel()
			c, resp, err := websocket.Dial(ctx, "ws://"+addr+"/ws", &websocket.DialOptions{CompressionMode: tc.compress})
			if err != nil {
				t.Fatal(err)
			}
			defer c.CloseNow()
			c.SetReadLimit(4 << 20)
			if tc.compress != websocket.CompressionDisabled && !strings.Contains(resp.Header.Get("Sec-WebSocket-Extensions"), "permessage-deflate") {
				t.Fatalf("deflate not negotiated: %v", resp.Header)
			}
			if ext := resp.Header.Get("Sec-WebSocket-Extensions"); tc.compress != websocket.CompressionDisabled && tc.up.ContextTakeover == strings.Contains(ext, "no_context_takeover") {
				t.Fatalf("context takeover %v, but the server answered %q", tc.up.ContextTakeover, ext)
			}
			msg := bytes.Repeat([]byte("weft! "), tc.size/6+1)[:tc.size]
			for _, typ := range []websocket.MessageType{websocket.MessageText, websocket.MessageBinary} {
				for range 3 {
					if err := c.Write(ctx, typ, msg); err != nil {
						t.Fatal(err)
					}
					gt, got, err := c.Read(ctx)
					if err != nil {
						t.Fatal(err)
					}
					if gt != typ || !bytes.Equal(got, msg) {
						t.Fatalf("echo: type %v, %d bytes", gt, len(got))
					}
				}
			}
			if err := c.Close(websocket.StatusNormalClosure, "bye"); err != nil {
				t.Fatalf("close handshake: %v", err)
			}
		})
	}
}

// TestGoClientLimits checks 1009 past MaxMessageBytes, over a socket.
func TestGoClientLimits(t *testing.T) {
	addr := echoServer(t, &ws.Upgrader{MaxMessageBytes: 1000}, nil)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws://"+addr+"/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	_ = c.Write(ctx, websocket.MessageBinary, make([]byte, 1001))
	_, _, err = c.Read(ctx)
	if got := websocket.CloseStatus(err); got != websocket.StatusMessageTooBig {
		t.Fatalf("close status %v (%v), want 1009", got, err)
	}
}

// TestHandshakeOverSocket checks refusals and the 101 over a socket.
func TestHandshakeOverSocket(t *testing.T) {
	addr := echoServer(t, &ws.Upgrader{Subprotocols: []string{"chat.v1"}}, nil)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	// Plain GET: 426.
	resp, err := http.Get("http://" + addr + "/ws")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 426 || resp.Header.Get("Upgrade") != "websocket" {
		t.Fatalf("plain GET: %d %v", resp.StatusCode, resp.Header)
	}
	// Cross-origin: 403.
	_, resp, err = websocket.Dial(ctx, "ws://"+addr+"/ws", &websocket.DialOptions{HTTPHeader: http.Header{"Origin": {"https://evil.example"}}})
	if err == nil || resp == nil || resp.StatusCode != 403 {
		t.Fatalf("cross-origin: %v %v", err, resp)
	}
	// Subprotocol.
	c, _, err := websocket.Dial(ctx, "ws://"+addr+"/ws", &websocket.DialOptions{Subprotocols: []string{"x", "chat.v1"}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	if c.Subprotocol() != "chat.v1" {
		t.Fatalf("subprotocol %q", c.Subprotocol())
	}
}

// rawUpgrade opens a TCP connection and completes the handshake by hand.
func rawUpgrade(t *testing.T, addr string) (stdnet.Conn, *bufio.Reader) {
	t.Helper()
	rc, err := webtest.DialTCP(addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rc.Close() })
	rc.SetDeadline(time.Now().Add(10 * time.Second))
	rc.Send("GET /ws HTTP/1.1\r\nHost: " + addr + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
	resp, err := http.ReadResponse(rc.R, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 101 || resp.Header.Get("Sec-WebSocket-Accept") != "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" ||
		!strings.EqualFold(resp.Header.Get("Upgrade"), "websocket") || !strings.EqualFold(resp.Header.Get("Connection"), "upgrade") {
		t.Fatalf("101 expected: %d %v", resp.StatusCode, resp.Header)
	}
	return rc.Conn, rc.R
}

// TestRawProtocolErrorsOverSocket checks that the rules hold on a real
// connection: an unmasked frame gets a close 1002 and the server closes.
func TestRawProtocolErrorsOverSocket(t *testing.T) {
	addr := echoServer(t, &ws.Upgrader{}, nil)
	conn, br := rawUpgrade(t, addr)
	conn.Write([]byte{0x81, 0x02, 'h', 'i'}) // unmasked text
	hdr := make([]byte, 2)
	if _, err := io.ReadFull(br, hdr); err != nil {
		t.Fatal(err)
	}
	if hdr[0] != 0x88 || hdr[1] < 2 {
		t.Fatalf("want a close frame, got % x", hdr)
	}
	p := make([]byte, hdr[1])
	io.ReadFull(br, p)
	if code := binary.BigEndian.Uint16(p); code != 1002 {
		t.Fatalf("close code %d, want 1002", code)
	}
	if _, err := br.ReadByte(); !errors.Is(err, io.EOF) {
		t.Fatalf("connection not closed by the server: %v", err)
	}
}

// repoRoot returns the module root (two levels up from this package).
func repoRoot(t *testing.T) string {
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Join(wd, "..", "..")
}

// TestNodeWS exchanges messages with Node's ws package, installed by
// .ci/run into .ci/npm/node_modules (npm install --prefix .ci/npm ws).
func TestNodeWS(t *testing.T) {
	node := need(t, "node")
	mods := filepath.Join(repoRoot(t), ".ci", "npm", "node_modules")
	if _, err := os.Stat(filepath.Join(mods, "ws")); err != nil {
		if inCI() {
			t.Fatalf("Node's ws not installed in %s, and CI=true", mods)
		}
		t.Skipf("Node's ws not installed in %s (npm install --prefix .ci/npm ws)", mods)
	}
	tests := []struct {
		name    string
		up      *ws.Upgrader
		deflate bool
	}{
		{"no compression", &ws.Upgrader{EnableCompression: true}, false},
		{"deflate, no context takeover", &ws.Upgrader{EnableCompression: true}, true},
		{"deflate, context takeover", &ws.Upgrader{EnableCompression: true, ContextTakeover: true}, true},
	}
	for _, tc := range tests {
		deflate := tc.deflate
		t.Run(tc.name, func(t *testing.T) {
			addr := echoServer(t, tc.up, nil)
			script := filepath.Join(t.TempDir(), "client.js")
			os.WriteFile(script, []byte(nodeClient), 0o644)
			ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, node, script, "ws://"+addr+"/ws", fmt.Sprint(deflate), fmt.Sprint(tc.up.ContextTakeover))
			cmd.Env = append(os.Environ(), "NODE_PATH="+mods)
			out, err := cmd.CombinedOutput()
			if err != nil || !strings.Contains(string(out), "OK") {
				t.Fatalf("node client: %v\n%s", err, out)
			}
		})
	}
}

// nodeClient sends text and binary messages of several sizes, checks each
// echo, then closes with 1000 and checks the server's close code.
const nodeClient = `
const WebSocket = require('ws');
const [url, deflate, takeover] = process.argv.slice(2);
const ws = new WebSocket(url, { perMessageDeflate: deflate === 'true' });
const sizes = [0, 1, 125, 126, 65535, 65536, 300000];
const sent = [];
let ext = '';
ws.on('upgrade', (res) => { ext = res.headers['sec-websocket-extensions'] || ''; });
ws.on('open', () => {
  if ((deflate === 'true') !== (ext.indexOf('permessage-deflate') >= 0) ||
      (deflate === 'true' && (takeover === 'true') === (ext.indexOf('no_context_takeover') >= 0))) {
    console.log('extensions: ' + ext); process.exit(2);
  }
  for (const n of sizes) {
    const text = 'é'.repeat(Math.floor(n / 2));
    sent.push(['text', text]); ws.send(text);
    const bin = Buffer.alloc(n, 7);
    sent.push(['binary', bin]); ws.send(bin);
  }
});
ws.on('message', (data, isBinary) => {
  const [kind, want] = sent.shift();
  const ok = kind === 'binary' ? (isBinary && Buffer.compare(data, want) === 0)
                               : (!isBinary && data.toString() === want);
  if (!ok) { console.log('mismatch ' + kind); process.exit(3); }
  if (sent.length === 0) ws.close(1000, 'done');
});
ws.on('close', (code) => {
  if (code !== 1000 || sent.length !== 0) { console.log('close ' + code); process.exit(4); }
  console.log('OK');
});
ws.on('error', (e) => { console.log('error ' + e); process.exit(5); });
`

// TestChromium has headless Chromium open a page served by the test server,
// exchange messages over a WebSocket (permessage-deflate offered, as
// browsers do), and report the result with a POST. Chromium keeps running
// (a remote-debugging port keeps it from exiting after load) until the
// report arrives; then the test kills its process group.
func TestChromium(t *testing.T) {
	chromium := need(t, "chromium")
	report := make(chan string, 1)
	up := &ws.Upgrader{EnableCompression: true}
	addr := echoServer(t, up, func(c *net.Ctx) net.Result {
		switch c.Path() {
		case "/":
			return c.HTML(200, chromiumPage)
		case "/report":
			select {
			case report <- string(c.Body()):
			default:
			}
			return c.Text(200, "thanks")
		}
		return c.Text(404, "not found")
	})
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
		"--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir="+t.TempDir(), "--remote-debugging-port=0", "http://"+addr+"/")
	// Chromium starts helper processes: kill the whole group at the end.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cancel()
		cmd.Wait()
	}()
	select {
	case r := <-report:
		if r != "OK" {
			t.Fatalf("page reported %q", r)
		}
	case <-ctx.Done():
		t.Fatalf("no report from Chromium:\n%s", out.String())
	}
	if s := up.Stats(); s.Opened != 1 || s.MessagesIn < 4 {
		t.Fatalf("stats %+v", s)
	}
}

const chromiumPage = `<!doctype html><title>weft ws</title><script>
const report = (s) => fetch('/report', {method: 'POST', body: s});
const ws = new WebSocket('ws://' + location.host + '/ws');
ws.binaryType = 'arraybuffer';
const sent = ['hello', 'é€𝄞', 'x'.repeat(70000)];
const bin = new Uint8Array(1000).map((_, i) => i % 251);
let got = 0;
ws.onopen = () => { sent.forEach((m) => ws.send(m)); ws.send(bin); };
ws.onmessage = (e) => {
  if (got < sent.length) {
    if (e.data !== sent[got]) { report('text mismatch ' + got); return; }
  } else {
    const b = new Uint8Array(e.data);
    if (b.length !== bin.length || b.some((v, i) => v !== bin[i])) { report('binary mismatch'); return; }
    ws.close(1000);
  }
  got++;
};
ws.onclose = (e) => report(got === 4 && e.code === 1000 ? 'OK' : 'close ' + e.code + ' after ' + got);
ws.onerror = () => report('error');
</script>`

// TestMiddlewareBeforeUpgrade checks that the HTTP middleware around the
// handler runs before the upgrade: it can refuse it (401, no session) and
// its response headers go out with the 101.
func TestMiddlewareBeforeUpgrade(t *testing.T) {
	up := &ws.Upgrader{}
	auth := func(next net.Handler) net.Handler {
		return func(c *net.Ctx) net.Result {
			if c.Query("token") != "secret" {
				return c.Text(401, "no token")
			}
			c.SetHeader("X-Request-Id", "req-42")
			return next(c)
		}
	}
	addr := startServer(t, net.Chain(func(c *net.Ctx) net.Result {
		return up.Upgrade(c, ws.Handler{OnMessage: func(s *ws.Conn, typ ws.MessageType, data []byte) { s.Send(typ, data) }})
	}, auth))
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	_, resp, err := websocket.Dial(ctx, "ws://"+addr+"/ws", nil)
	if err == nil || resp == nil || resp.StatusCode != 401 {
		t.Fatalf("without a token: %v %v", err, resp)
	}
	c, resp, err := websocket.Dial(ctx, "ws://"+addr+"/ws?token=secret", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	if resp.Header.Get("X-Request-Id") != "req-42" {
		t.Fatalf("101 headers %v", resp.Header)
	}
	if err := c.Write(ctx, websocket.MessageText, []byte("ping")); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.Read(ctx); err != nil {
		t.Fatal(err)
	}
	if s := up.Stats(); s.Opened != 1 {
		t.Fatalf("sessions opened %d, want 1 (the refused request opened none)", s.Opened)
	}
}
