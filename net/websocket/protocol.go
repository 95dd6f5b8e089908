package websocket

// This file wires sessions to net's upgrade hook: net.Protocol,
// *net.Upgraded, (*net.Ctx).Upgrade.

import (
	"github.com/weftgo/weft/net"
)

// protocol is a session as net sees it: a net.Protocol.
type protocol Conn

var _ net.Protocol = (*protocol)(nil)

// Traffic consumes the session's inbound bytes. net calls it once right
// after the 101 is written (with no bytes, usually): the session starts
// then, and OnOpen may send first.
func (p *protocol) Traffic(u *net.Upgraded, in []byte) int {
	c := (*Conn)(p)
	c.openOnLoop(u)
	return c.trafficOnLoop(in)
}

// Closed ends the session: the connection is gone.
func (p *protocol) Closed(u *net.Upgraded, err error) {
	c := (*Conn)(p)
	if c.t == nil {
		c.t = u // gone before it started: no OnOpen, no OnClose
	}
	c.closedOnLoop(err)
}

// Shutdown is the server draining: close with 1001 and wait for the
// client's close up to CloseTimeout.
func (p *protocol) Shutdown() { (*Conn)(p).shutdownOnLoop() }

// Upgrade answers c's request as a WebSocket opening handshake (RFC 6455
// §4.2): it checks the request (GET, HTTP/1.1, Upgrade: websocket,
// Connection: upgrade, Sec-WebSocket-Version: 13, a valid
// Sec-WebSocket-Key) and the origin policy, negotiates the subprotocol and
// permessage-deflate, answers 101 with the headers the handler set on c
// beside the handshake's, and hands the connection to a session whose
// events go to h. A request that is not an acceptable handshake gets a
// clean 4xx (400, 403, 405 or 426) and no session. The middleware around
// the handler (auth, request id, logging) ran before, as for any request.
// Loop-only: call it from a handler, and return its Result.
func (u *Upgrader) Upgrade(c *net.Ctx, h Handler) net.Result {
	cfg, err := u.configure()
	if err != nil {
		return net.Fail(err)
	}
	hs, ref := u.negotiateOnLoop(c)
	if ref != nil {
		if ref.header[0] != "" {
			c.SetHeader(ref.header[0], ref.header[1])
		}
		return c.Text(ref.status, ref.message)
	}
	res := c.Upgrade((*protocol)(newConn(cfg, h, hs.subprotocol, hs.deflate)))
	if _, err := res.Get(); err != nil {
		// Not upgraded (the request closes its connection): the error
		// answer must not carry the handshake's headers.
		return res
	}
	// The 101 is written after the handler returns, with the headers set
	// by then.
	c.SetHeader("Upgrade", "websocket")
	c.SetHeader("Sec-WebSocket-Accept", hs.accept)
	if hs.subprotocol != "" {
		c.SetHeader("Sec-WebSocket-Protocol", hs.subprotocol)
	}
	if hs.extensions != "" {
		c.SetHeader("Sec-WebSocket-Extensions", hs.extensions)
	}
	return res
}
