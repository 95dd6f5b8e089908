package websocket

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/weftgo/weft/net"
)

// negotiateOver runs negotiateOnLoop for a raw request through net's real
// parser (net.TestConn), and returns the HTTP response: the refusal, or 200
// with the decided values in headers.
func negotiateOver(t *testing.T, u *Upgrader, req string) *http.Response {
	t.Helper()
	if _, err := u.configure(); err != nil {
		t.Fatal(err)
	}
	srv := &net.Server{Handler: func(c *net.Ctx) net.Result {
		hs, ref := u.negotiateOnLoop(c)
		if ref != nil {
			if ref.header[0] != "" {
				c.SetHeader(ref.header[0], ref.header[1])
			}
			return c.Text(ref.status, ref.message)
		}
		c.SetHeader("X-Accept", hs.accept)
		c.SetHeader("X-Protocol", hs.subprotocol)
		c.SetHeader("X-Extensions", hs.extensions)
		return c.Text(200, "ok")
	}}
	tc, err := net.NewTestConn(srv)
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Close()
	out, err := tc.Serve([]byte(req), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(bytes.Clone(out))), nil)
	if err != nil {
		t.Fatalf("%v in %q", err, out)
	}
	io.Copy(io.Discard, resp.Body)
	return resp
}

func upgradeRequest(extra ...string) string {
	h := map[string]string{
		"Host":                  "example.com",
		"Upgrade":               "websocket",
		"Connection":            "Upgrade",
		"Sec-WebSocket-Key":     "dGhlIHNhbXBsZSBub25jZQ==",
		"Sec-WebSocket-Version": "13",
	}
	var drop []string
	var add []string
	for _, e := range extra {
		name, value, _ := strings.Cut(e, ": ")
		if value == "" {
			drop = append(drop, name)
			continue
		}
		if _, ok := h[name]; ok {
			h[name] = value
		} else {
			add = append(add, e)
		}
	}
	for _, d := range drop {
		delete(h, d)
	}
	var b strings.Builder
	b.WriteString("GET /ws HTTP/1.1\r\n")
	for _, k := range []string{"Host", "Upgrade", "Connection", "Sec-WebSocket-Key", "Sec-WebSocket-Version"} {
		if v, ok := h[k]; ok {
			b.WriteString(k + ": " + v + "\r\n")
		}
	}
	for _, a := range add {
		b.WriteString(a + "\r\n")
	}
	b.WriteString("\r\n")
	return b.String()
}

// TestHandshake checks the opening handshake's rules (RFC 6455 §4.2.1,
// §4.2.2, §4.4) and that each refusal is a clean 4xx.
func TestHandshake(t *testing.T) {
	tests := []struct {
		name   string
		u      *Upgrader
		req    string
		status int
		header [2]string // a header the response must carry
	}{
		{"§4.2.2 RFC example key", &Upgrader{}, upgradeRequest(), 200, [2]string{"X-Accept", "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="}},
		{"§4.2.1 tokens are case-insensitive and in lists", &Upgrader{}, upgradeRequest("Upgrade: WebSocket", "Connection: keep-alive, UPGRADE"), 200, [2]string{"X-Accept", "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="}},
		{"§4.2.1 (1) not GET: 405", &Upgrader{}, strings.Replace(upgradeRequest(), "GET", "POST", 1), 405, [2]string{"Allow", "GET"}},
		{"§4.2.1 (1) HTTP/1.0: 400", &Upgrader{}, strings.Replace(upgradeRequest(), "HTTP/1.1", "HTTP/1.0", 1), 400, [2]string{}},
		{"§4.2.1 (3) no Upgrade: 426", &Upgrader{}, upgradeRequest("Upgrade"), 426, [2]string{"Upgrade", "websocket"}},
		{"§4.2.1 (3) Upgrade: h2c: 426", &Upgrader{}, upgradeRequest("Upgrade: h2c"), 426, [2]string{"Upgrade", "websocket"}},
		{"§4.2.1 (4) Connection without upgrade: 400", &Upgrader{}, upgradeRequest("Connection: keep-alive"), 400, [2]string{}},
		{"§4.2.1 (5) no key: 400", &Upgrader{}, upgradeRequest("Sec-WebSocket-Key"), 400, [2]string{}},
		{"§4.2.1 (5) key not 16 bytes: 400", &Upgrader{}, upgradeRequest("Sec-WebSocket-Key: c2hvcnQ="), 400, [2]string{}},
		{"§4.2.1 (5) key not base64: 400", &Upgrader{}, upgradeRequest("Sec-WebSocket-Key: !!!!!!!!!!!!!!!!!!!!!!=="), 400, [2]string{}},
		{"§4.4 version 8: 426 naming 13", &Upgrader{}, upgradeRequest("Sec-WebSocket-Version: 8"), 426, [2]string{"Sec-WebSocket-Version", "13"}},
		{"§4.2.1 (6) no version: 426", &Upgrader{}, upgradeRequest("Sec-WebSocket-Version"), 426, [2]string{"Sec-WebSocket-Version", "13"}},
		{"§10.2 same origin", &Upgrader{}, upgradeRequest("Origin: https://EXAMPLE.com"), 200, [2]string{}},
		{"§10.2 cross origin: 403", &Upgrader{}, upgradeRequest("Origin: https://evil.example"), 403, [2]string{}},
		{"§10.2 cross origin, policy allows", &Upgrader{CheckOrigin: func(*net.Ctx) bool { return true }}, upgradeRequest("Origin: https://evil.example"), 200, [2]string{}},
		{"§10.2 no origin (not a browser)", &Upgrader{}, upgradeRequest(), 200, [2]string{}},
		{"§4.2.2 subprotocol: client order", &Upgrader{Subprotocols: []string{"b", "a"}}, upgradeRequest("Sec-WebSocket-Protocol: x, a", "Sec-WebSocket-Protocol: b"), 200, [2]string{"X-Protocol", "a"}},
		{"§4.2.2 subprotocol: none in common", &Upgrader{Subprotocols: []string{"b"}}, upgradeRequest("Sec-WebSocket-Protocol: x"), 200, [2]string{"X-Protocol", ""}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp := negotiateOver(t, tc.u, tc.req)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.status)
			}
			if tc.header[0] != "" && resp.Header.Get(tc.header[0]) != tc.header[1] {
				t.Fatalf("%s: %q, want %q", tc.header[0], resp.Header.Get(tc.header[0]), tc.header[1])
			}
		})
	}
}

func TestDuplicateKeyRefused(t *testing.T) {
	req := strings.Replace(upgradeRequest(), "\r\n\r\n", "\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n", 1)
	if resp := negotiateOver(t, &Upgrader{}, req); resp.StatusCode != 400 {
		t.Fatalf("status %d, want 400", resp.StatusCode)
	}
}

// TestDeflateNegotiation checks RFC 7692 §7.1: weft accepts the first
// acceptable permessage-deflate offer, always with no context takeover,
// honours server_max_window_bits, and declines offers with unknown,
// duplicate or invalid parameters.
func TestDeflateNegotiation(t *testing.T) {
	const both = "permessage-deflate; server_no_context_takeover; client_no_context_takeover"
	tests := []struct {
		name     string
		enable   bool
		takeover bool
		offer    string
		want     string
	}{
		{"compression off", false, false, "permessage-deflate", ""},
		{"no offer", true, false, "", ""},
		{"plain offer", true, false, "permessage-deflate", both},
		{"browser offer", true, false, "permessage-deflate; client_max_window_bits", both},
		{"§7.1.2.1 server_max_window_bits", true, false, "permessage-deflate; server_max_window_bits=10", both + "; server_max_window_bits=10"},
		{"§7.1.2.1 quoted value", true, false, `permessage-deflate; server_max_window_bits="12"`, both + "; server_max_window_bits=12"},
		{"§7.1.2.1 window bits out of range", true, false, "permessage-deflate; server_max_window_bits=16", ""},
		{"§7.1.2.1 window bits without a value", true, false, "permessage-deflate; server_max_window_bits", ""},
		{"§7.1.2.2 client bits out of range", true, false, "permessage-deflate; client_max_window_bits=7", ""},
		{"§7.1.1.1 value on a flag", true, false, "permessage-deflate; server_no_context_takeover=1", ""},
		{"§7 unknown parameter", true, false, "permessage-deflate; foo", ""},
		{"§7 duplicate parameter", true, false, "permessage-deflate; client_no_context_takeover; client_no_context_takeover", ""},
		{"§5.1 fallback to the second offer", true, false, "permessage-deflate; foo, permessage-deflate; server_max_window_bits=9", both + "; server_max_window_bits=9"},
		{"other extension only", true, false, "x-webkit-deflate-frame", ""},
		{"§7.1.1 takeover both ways", true, true, "permessage-deflate; client_max_window_bits", "permessage-deflate"},
		{"§7.1.1.1 client declines server takeover", true, true, "permessage-deflate; server_no_context_takeover", "permessage-deflate; server_no_context_takeover"},
		{"§7.1.1.2 client declines its own takeover", true, true, "permessage-deflate; client_no_context_takeover", "permessage-deflate; client_no_context_takeover"},
		{"§7.1.2.1 narrow server window: no server takeover", true, true, "permessage-deflate; server_max_window_bits=10", "permessage-deflate; server_no_context_takeover; server_max_window_bits=10"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var extra []string
			if tc.offer != "" {
				extra = append(extra, "Sec-WebSocket-Extensions: "+tc.offer)
			}
			resp := negotiateOver(t, &Upgrader{EnableCompression: tc.enable, ContextTakeover: tc.takeover}, upgradeRequest(extra...))
			if got := resp.Header.Get("X-Extensions"); got != tc.want {
				t.Fatalf("extensions %q, want %q", got, tc.want)
			}
		})
	}
}

// TestDeflateWindowBits checks that a compressor limited to the window the
// client asked for produces what a standard inflater reads back.
func TestDeflateWindowBits(t *testing.T) {
	var cd codec
	cd.level = 1
	msg := bytes.Repeat([]byte("0123456789abcdef window "), 5000)
	for bits := 8; bits <= 15; bits++ {
		z := cd.compress(nil, msg, bits, nil)
		if got := inflate(t, z); !bytes.Equal(got, msg) {
			t.Fatalf("bits %d: round trip differs", bits)
		}
	}
}

func TestAcceptKey(t *testing.T) {
	// RFC 6455 §1.3's example.
	if got := AcceptKey("dGhlIHNhbXBsZSBub25jZQ=="); got != "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" {
		t.Fatalf("AcceptKey = %q", got)
	}
}

func TestConfigErrorsNameTheField(t *testing.T) {
	tests := []struct {
		u    *Upgrader
		want string
	}{
		{&Upgrader{CompressionLevel: 10}, "CompressionLevel"},
		{&Upgrader{MaxMessageBytes: -1}, "MaxMessageBytes"},
		{&Upgrader{MaxBufferedBytes: -1}, "MaxBufferedBytes"},
	}
	for _, tc := range tests {
		if _, err := tc.u.configure(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v", tc.want, err)
		}
	}
}
