package websocket

import (
	"crypto/sha1"
	"encoding/base64"
	"net/url"
	"strings"

	"github.com/weftgo/weft/net"
)

// acceptGUID is the GUID of RFC 6455 §1.3, appended to the client's key.
const acceptGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

// AcceptKey returns the Sec-WebSocket-Accept value for a Sec-WebSocket-Key
// (RFC 6455 §4.2.2): base64(SHA-1(key + GUID)). Safe for concurrent use.
func AcceptKey(key string) string {
	h := sha1.New()
	h.Write([]byte(key))
	h.Write([]byte(acceptGUID))
	var sum [sha1.Size]byte
	return base64.StdEncoding.EncodeToString(h.Sum(sum[:0]))
}

// handshake is what negotiation decided for an accepted upgrade.
type handshake struct {
	accept      string
	subprotocol string
	deflate     deflateParams
	extensions  string // the Sec-WebSocket-Extensions response value, or ""
}

// refusal is a handshake the server answers with an HTTP error.
type refusal struct {
	status  int
	message string
	header  [2]string // one extra response header (name, value), or empty
}

func refuse(status int, message string) *refusal {
	return &refusal{status: status, message: message}
}

// negotiateOnLoop checks c's request as an opening handshake (RFC 6455
// §4.2.1) and decides the response. Loop-only.
func (u *Upgrader) negotiateOnLoop(c *net.Ctx) (handshake, *refusal) {
	var hs handshake
	// §4.2.1 (1): an HTTP/1.1 or higher GET request.
	if c.Method() != "GET" {
		r := refuse(net.StatusMethodNotAllowed, "websocket: the opening handshake must be a GET request")
		r.header = [2]string{"Allow", "GET"}
		return hs, r
	}
	if c.Proto() != "HTTP/1.1" {
		return hs, refuse(net.StatusBadRequest, "websocket: the opening handshake needs HTTP/1.1")
	}
	// §4.2.1 (3): an Upgrade field containing "websocket". A plain request
	// to a WebSocket route is told what it should have asked for (RFC 9110
	// §15.5.22: 426 with Upgrade).
	if !headerHasToken(c, "Upgrade", "websocket") {
		r := refuse(net.StatusUpgradeRequired, "websocket: this resource needs a WebSocket upgrade")
		r.header = [2]string{"Upgrade", "websocket"}
		return hs, r
	}
	// §4.2.1 (4): a Connection field containing "Upgrade".
	if !headerHasToken(c, "Connection", "upgrade") {
		return hs, refuse(net.StatusBadRequest, "websocket: the Connection header must contain the upgrade token")
	}
	// §4.2.1 (6), §4.4: version 13, else 426 naming the versions we speak.
	if v, n := headerValue(c, "Sec-WebSocket-Version"); n != 1 || strings.TrimSpace(v) != "13" {
		r := refuse(net.StatusUpgradeRequired, "websocket: unsupported Sec-WebSocket-Version")
		r.header = [2]string{"Sec-WebSocket-Version", "13"}
		return hs, r
	}
	// §4.2.1 (5): one key, base64 of 16 bytes.
	key, n := headerValue(c, "Sec-WebSocket-Key")
	key = strings.TrimSpace(key)
	if n != 1 || !validKey(key) {
		return hs, refuse(net.StatusBadRequest, "websocket: missing or invalid Sec-WebSocket-Key")
	}
	// §4.2.2 (1), §10.2: the server decides which origins it serves.
	if !u.checkOrigin(c) {
		return hs, refuse(net.StatusForbidden, "websocket: origin not allowed")
	}
	hs.accept = AcceptKey(key)
	hs.subprotocol = u.pickSubprotocol(c)
	if u.cfg.compression {
		hs.deflate, hs.extensions = negotiateDeflate(c, u.ContextTakeover)
	}
	return hs, nil
}

// validKey reports whether key is base64 of 16 bytes (§4.1: 24 characters).
func validKey(key string) bool {
	if len(key) != 24 {
		return false
	}
	var b [18]byte
	n, err := base64.StdEncoding.Decode(b[:], []byte(key))
	return err == nil && n == 16
}

// checkOrigin applies the Upgrader's origin policy: CheckOrigin if set,
// otherwise same-origin (a request without Origin, from a non-browser
// client, passes).
func (u *Upgrader) checkOrigin(c *net.Ctx) bool {
	if u.CheckOrigin != nil {
		return u.CheckOrigin(c)
	}
	return SameOrigin(c)
}

// SameOrigin is the default origin policy, as gorilla/websocket's: it
// accepts a request without an Origin header, and one whose Origin's host
// (and port) equals the request's Host, ignoring ASCII case. Loop-only.
func SameOrigin(c *net.Ctx) bool {
	origin, n := headerValue(c, "Origin")
	if n == 0 {
		return true
	}
	if n > 1 {
		return false
	}
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return false
	}
	return strings.EqualFold(u.Host, c.Host())
}

// pickSubprotocol returns the first of the client's subprotocols, in the
// client's order, that Subprotocols lists; "" if none.
func (u *Upgrader) pickSubprotocol(c *net.Ctx) string {
	if len(u.Subprotocols) == 0 {
		return ""
	}
	for name, value := range c.Headers() {
		if !strings.EqualFold(name, "Sec-WebSocket-Protocol") {
			continue
		}
		for p := range strings.SplitSeq(value, ",") {
			p = strings.TrimSpace(p)
			for _, s := range u.Subprotocols {
				if p == s {
					return s
				}
			}
		}
	}
	return ""
}

// headerValue returns the first value of header name and how many field
// lines carry it.
func headerValue(c *net.Ctx, name string) (string, int) {
	var first string
	n := 0
	for k, v := range c.Headers() {
		if strings.EqualFold(k, name) {
			if n == 0 {
				first = v
			}
			n++
		}
	}
	return first, n
}

// headerHasToken reports whether any field line of header name holds token
// in its comma-separated list (ASCII case-insensitive).
func headerHasToken(c *net.Ctx, name, token string) bool {
	for k, v := range c.Headers() {
		if !strings.EqualFold(k, name) {
			continue
		}
		for t := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}
