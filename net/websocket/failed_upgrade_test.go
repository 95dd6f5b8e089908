package websocket

import (
	"bufio"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/weftgo/weft/net"
)

// TestFailedUpgradeAnswerHasNoHandshakeHeaders: a handshake that passes
// the WebSocket checks but cannot upgrade its connection (it asks to close
// it: Connection: close, upgrade) is answered with an error, and that
// answer must not carry the 101's headers (Upgrade, Sec-WebSocket-Accept):
// an Upgrade field without "Connection: upgrade" breaks RFC 9110 §7.8, and
// an accept key on a refusal invites a client to take it for a handshake.
func TestFailedUpgradeAnswerHasNoHandshakeHeaders(t *testing.T) {
	u := &Upgrader{}
	srv := &net.Server{Handler: func(c *net.Ctx) net.Result {
		return u.Upgrade(c, Handler{})
	}}
	tc, err := net.NewTestConn(srv)
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Close()
	out, err := tc.Serve([]byte(upgradeRequest("Connection: close, Upgrade")), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	res, err := http.ReadResponse(bufio.NewReader(strings.NewReader(string(out))), nil)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	res.Body.Close()
	if res.StatusCode == 101 {
		t.Fatalf("upgraded a connection the client asked to close:\n%s", out)
	}
	for _, h := range []string{"Upgrade", "Sec-WebSocket-Accept"} {
		if v := res.Header.Get(h); v != "" {
			t.Errorf("the %d refusal carries %s: %s\n%s", res.StatusCode, h, v, out)
		}
	}
}
